"""Content-addressed artifact storage: blobs named by their sha256.

A blob is written to a temporary file and renamed into place, so a reader never sees half
a blob; it is hashed again when read, so a blob altered on disk is refused, never served.
`ArtifactStore` is the seam an object-store backend implements later.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from steward.errors import IntegrityError, InvalidInput, NotFound

__all__ = ["ArtifactStore", "LocalArtifactStore", "sha256_file"]

CHUNK_BYTES = 1 << 20
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ArtifactStore(Protocol):
    """Where blobs live. Every method takes or returns a lowercase hex sha256 digest."""

    def put_bytes(self, data: bytes) -> str: ...

    def put_stream(self, chunks: Iterable[bytes]) -> str: ...

    def put_file(self, path: Path) -> str: ...

    def exists(self, digest: str) -> bool: ...

    def size(self, digest: str) -> int: ...

    def read_bytes(self, digest: str) -> bytes: ...

    def iter_chunks(self, digest: str) -> Iterator[bytes]: ...


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def check_digest(digest: str) -> str:
    """Return the digest if it is 64 lowercase hex characters.

    Raises:
        InvalidInput: anything else (it could otherwise name a path outside the store).
    """
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(
            f"artifact digest {digest!r} is not a sha256 hex digest (64 characters 0-9a-f)",
            field="digest",
        )
    return digest


class LocalArtifactStore:
    """Blobs under `root/sha256/<first two hex>/<digest>` on a local or shared file system."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_of(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / "sha256" / digest[:2] / digest

    def put_bytes(self, data: bytes) -> str:
        return self.put_stream([data])

    def put_file(self, path: Path) -> str:
        if not Path(path).is_file():
            raise NotFound(f"no file at {str(path)!r} to store as an artifact")
        with Path(path).open("rb") as handle:
            return self.put_stream(iter(lambda: handle.read(CHUNK_BYTES), b""))

    def put_stream(self, chunks: Iterable[bytes]) -> str:
        """Store the concatenated chunks; memory use is one chunk whatever the size."""
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            final = self.path_of(digest.hexdigest())
            final.parent.mkdir(parents=True, exist_ok=True)
            # Same bytes, same name: replacing an existing blob is harmless and atomic.
            os.replace(tmp_name, final)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def exists(self, digest: str) -> bool:
        return self.path_of(digest).is_file()

    def size(self, digest: str) -> int:
        return self._existing(digest).stat().st_size

    def read_bytes(self, digest: str) -> bytes:
        """The whole blob, verified against its digest.

        Raises:
            NotFound: no blob with that digest.
            IntegrityError: the stored bytes no longer hash to the digest.
        """
        return b"".join(self.iter_chunks(digest))

    def iter_chunks(self, digest: str) -> Iterator[bytes]:
        """Stream the blob; the last chunk is only yielded once the whole hash matched."""
        path = self._existing(digest)
        hasher = hashlib.sha256()
        pending: bytes | None = None
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                hasher.update(chunk)
                if pending is not None:
                    yield pending
                pending = chunk
        actual = hasher.hexdigest()
        if actual != digest:
            raise IntegrityError(
                f"artifact {digest} is corrupt: its bytes hash to {actual}; "
                "refusing to read it (restore the blob or re-register the model)"
            )
        if pending is not None:
            yield pending

    def open(self, digest: str) -> BinaryIO:
        """A raw file handle (unverified): for callers that verify the hash themselves."""
        return self._existing(digest).open("rb")

    def _existing(self, digest: str) -> Path:
        path = self.path_of(digest)
        if not path.is_file():
            raise NotFound(f"no artifact with digest {digest} in {self.root}")
        return path
