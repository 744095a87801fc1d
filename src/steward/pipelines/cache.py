"""Step caching: content fingerprints, cache keys, and the key -> stored output index.

Outputs live in the content-addressed artifact store (pickled). A small index folder maps a
cache key (step name, code hash, input fingerprints, params) to the stored output, one file
per key written atomically, so concurrent runs of a fleet can share it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import marshal
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from steward.errors import NotFound
from steward.pipelines.entities import StepOutcome
from steward.store import ArtifactStore
from steward.tracking import DatasetInfo, fingerprint_frame

__all__ = [
    "StepCache",
    "cache_key",
    "code_hash",
    "fingerprint_output",
    "fingerprint_value",
    "load_output",
    "store_output",
]

log = logging.getLogger(__name__)

PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL


def fingerprint_value(value: Any) -> str:  # Any: whatever a step or a param holds
    """A content hash: the frame fingerprint for pandas objects, else sha256 of the pickle."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return fingerprint_frame(value).digest
    return hashlib.sha256(pickle.dumps(value, protocol=PICKLE_PROTOCOL)).hexdigest()


def fingerprint_output(output: Any, payload_digest: str) -> tuple[str, DatasetInfo | None]:
    """A stored output's fingerprint (its blob digest unless a frame) and its frame info."""
    if isinstance(output, pd.DataFrame):
        info = fingerprint_frame(output)
        return info.digest, info
    if isinstance(output, pd.Series):
        return fingerprint_frame(output).digest, None
    return payload_digest, None


def code_hash(fn: Callable[..., Any]) -> str:
    """sha256 of a function's source (of its bytecode when the source cannot be read)."""
    try:
        source = inspect.getsource(fn).encode()
    except (OSError, TypeError):
        source = marshal.dumps(fn.__code__)
    return hashlib.sha256(source).hexdigest()


def cache_key(step: str, code: str, inputs: Mapping[str, str], params: Mapping[str, Any]) -> str:
    """The key of a step's output: same step, code, input fingerprints and params, same key."""
    document = {
        "step": step,
        "code": code,
        "inputs": dict(sorted(inputs.items())),
        "params": {k: fingerprint_value(v) for k, v in sorted(params.items())},
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class StepCache:
    """Cache keys -> step outputs stored in `artifacts`, indexed under `root`."""

    def __init__(self, root: Path, artifacts: ArtifactStore) -> None:
        self.root = Path(root)
        self.artifacts = artifacts

    def get(self, key: str) -> StepOutcome | None:
        """The stored outcome, or None when missing or its blob is gone."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not self.artifacts.exists(entry["output_digest"]):
            log.warning("pipeline cache entry without its blob key=%s", key)
            return None
        dataset = entry.get("dataset")
        return StepOutcome(
            output_digest=entry["output_digest"],
            fingerprint=entry["fingerprint"],
            dataset=None if dataset is None else DatasetInfo(**dataset),
        )

    def put(self, key: str, outcome: StepOutcome) -> None:
        entry = {
            "output_digest": outcome.output_digest,
            "fingerprint": outcome.fingerprint,
            "dataset": None if outcome.dataset is None else _dataset_json(outcome.dataset),
        }
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            json.dump(entry, handle)
        os.replace(tmp, path)

    def _path(self, key: str) -> Path:
        if len(key) != 64:
            raise NotFound(f"pipeline cache key {key!r} is not a sha256 hex digest")
        return self.root / key[:2] / key


def load_output(artifacts: ArtifactStore, digest: str) -> Any:  # Any: a step's output
    """Unpickle a stored step output (verified against its digest on read).

    Raises:
        NotFound: the blob is gone.
        IntegrityError: the blob no longer hashes to its digest.
    """
    return pickle.loads(artifacts.read_bytes(digest))  # noqa: S301 - blobs this package wrote


def store_output(artifacts: ArtifactStore, value: Any) -> str:
    """Pickle a step output into the artifact store; returns its digest."""
    return artifacts.put_bytes(pickle.dumps(value, protocol=PICKLE_PROTOCOL))


def _dataset_json(info: DatasetInfo) -> dict[str, Any]:
    return {
        "digest": info.digest,
        "num_rows": info.num_rows,
        "num_columns": info.num_columns,
        "schema": info.schema,
    }
