"""The local cache of the last known configuration: the resolved spec and the model blobs.

A replica writes it after every successful load from the registry and reads it only when
the metadata store is unreachable at start-up. Blobs are content-addressed and hashed again
when read, so a cached model is loaded only if its bytes still match the registry record.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

import orjson

from steward.errors import InvalidInput
from steward.serving.entities import ServingSpec
from steward.store import LocalArtifactStore

__all__ = ["ServingCache"]

log = logging.getLogger(__name__)


class ServingCache:
    """Specs under `directory/specs/<key>.json`, blobs under `directory/blobs/`.

    Args:
        directory: created when missing; may be shared by replicas on one machine.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._specs = self.directory / "specs"
        self._specs.mkdir(parents=True, exist_ok=True)
        self.blobs = LocalArtifactStore(self.directory / "blobs")

    def save(self, key: str, spec: ServingSpec) -> None:
        """Write the spec atomically: a reader sees the previous file or this one, whole."""
        target = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=self._specs, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(orjson.dumps(spec.to_dict()))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, key: str) -> ServingSpec | None:
        """The last spec saved under `key`, or None when there is none.

        Raises:
            InvalidInput: the file is not a spec this version of Steward can read.
        """
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"serving cache {path} is not JSON ({exc}); delete it") from exc
        return ServingSpec.from_dict(data)

    def put_blob(self, payload: bytes, digest: str) -> None:
        """Keep a model's bytes, unless a blob with that digest is already cached."""
        if not self.blobs.exists(digest):
            self.blobs.put_bytes(payload)

    def read_blob(self, digest: str) -> bytes:
        """Raises: NotFound: not cached. IntegrityError: the cached bytes changed."""
        return self.blobs.read_bytes(digest)

    def _path(self, key: str) -> Path:
        return self._specs / f"{quote(key, safe='')}.json"
