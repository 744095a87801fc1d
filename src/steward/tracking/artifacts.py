"""Run artifacts: files a run produced, kept as content-addressed blobs and recorded by path.

Blobs are written before the record, so a reader never finds a record without its blob; a
blob whose record was refused (the run ended meanwhile) is unreferenced and harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from steward.errors import InvalidInput, NotFound
from steward.store import Store
from steward.tracking import db
from steward.tracking.entities import RunArtifact
from steward.tracking.hydrate import artifact_from_row
from steward.tracking.lifecycle import logging_to, require_run, require_running
from steward.tracking.validation import check_artifact_path

__all__ = [
    "get_artifact",
    "list_artifacts",
    "log_artifact",
    "log_artifact_bytes",
    "log_artifact_stream",
    "open_artifact",
    "read_artifact",
]


def log_artifact(
    store: Store, run_id: str, local_path: Path, artifact_path: str | None = None
) -> RunArtifact:
    """Log a file, or every file under a folder, to a running run.

    A file is stored as `artifact_path/<its name>` (just its name when None). A folder's
    files keep their relative paths under `artifact_path` (the folder's name when None), and
    the returned entry stands for the whole folder: its path, total size, and as digest the
    sha256 of its manifest (one "path digest size" line per file, sorted by path).

    Raises:
        InvalidInput: nothing at `local_path`, or a bad artifact path.
        NotFound: no such run.
        Conflict: the run has ended.
    """
    source = Path(local_path)
    if source.is_file():
        files = [(check_artifact_path(_join(artifact_path, source.name)), source)]
    elif source.is_dir():
        base = check_artifact_path(artifact_path or source.name)
        files = [
            (check_artifact_path(f"{base}/{path.relative_to(source).as_posix()}"), path)
            for path in sorted(source.rglob("*"))
            if path.is_file()
        ]
    else:
        raise InvalidInput(
            f"no file or folder at {str(source)!r} to log as an artifact", field="local_path"
        )
    _check_running(store, run_id)
    logged = [_entry(store, path, store.artifacts.put_file(file)) for path, file in files]
    _record(store, run_id, logged)
    return logged[0] if source.is_file() else _folder_entry(base, logged)


def log_artifact_bytes(store: Store, run_id: str, path: str, data: bytes) -> RunArtifact:
    """Log bytes as the artifact at `path` (e.g. `reports/summary.json`).

    Raises:
        InvalidInput: a bad path, or `data` that is not bytes.
        NotFound: no such run.
        Conflict: the run has ended.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInput(f"artifact data must be bytes, got {type(data).__name__}", field="data")
    return log_artifact_stream(store, run_id, path, [bytes(data)])


def log_artifact_stream(
    store: Store, run_id: str, path: str, chunks: Iterable[bytes]
) -> RunArtifact:
    """Log the concatenated chunks as the artifact at `path`; memory use is one chunk.

    Raises:
        InvalidInput: a bad path.
        NotFound: no such run.
        Conflict: the run has ended.
    """
    path = check_artifact_path(path)
    _check_running(store, run_id)
    logged = [_entry(store, path, store.artifacts.put_stream(chunks))]
    _record(store, run_id, logged)
    return logged[0]


def list_artifacts(store: Store, run_id: str) -> list[RunArtifact]:
    """A run's artifact files, by path.

    Raises:
        NotFound: no such run.
    """
    with store.db.read() as conn:
        require_run(conn, run_id)
        return [artifact_from_row(row) for row in db.select_artifacts(conn, [run_id])]


def get_artifact(store: Store, run_id: str, path: str) -> RunArtifact:
    """The record of one artifact file.

    Raises:
        NotFound: no such run, or no artifact at that path.
    """
    with store.db.read() as conn:
        require_run(conn, run_id)
        row = db.select_artifact(conn, run_id, path)
    if row is None:
        raise NotFound(
            f"run {run_id} has no artifact {path!r} (list them: steward runs show {run_id})",
            field="path",
        )
    return artifact_from_row(row)


def read_artifact(store: Store, run_id: str, path: str) -> bytes:
    """An artifact's bytes, verified against the recorded sha256.

    Raises:
        NotFound: no such run, artifact or blob.
        IntegrityError: the stored blob no longer matches its digest.
    """
    return store.artifacts.read_bytes(get_artifact(store, run_id, path).digest)


def open_artifact(store: Store, run_id: str, path: str) -> tuple[RunArtifact, Iterator[bytes]]:
    """An artifact's record and a stream of its bytes, for downloads.

    The record is looked up now; the stream hashes as it goes and raises `IntegrityError`
    before its last chunk when the blob was altered.

    Raises:
        NotFound: no such run, artifact or blob.
    """
    artifact = get_artifact(store, run_id, path)
    if not store.artifacts.exists(artifact.digest):
        raise NotFound(f"the blob {artifact.digest} of artifact {path!r} is missing")
    return artifact, store.artifacts.iter_chunks(artifact.digest)


def _check_running(store: Store, run_id: str) -> None:
    # Checked before the upload too, so a finished run costs no blob write.
    with store.db.read() as conn:
        require_running(conn, run_id)


def _record(store: Store, run_id: str, logged: Sequence[RunArtifact]) -> None:
    rows = [
        {"run_id": run_id, "path": a.path, "digest": a.digest, "size_bytes": a.size_bytes}
        for a in logged
    ]
    with logging_to(store, run_id) as conn:
        db.upsert_artifacts(conn, rows)


def _entry(store: Store, path: str, digest: str) -> RunArtifact:
    return RunArtifact(path=path, digest=digest, size_bytes=store.artifacts.size(digest))


def _folder_entry(base: str, logged: Sequence[RunArtifact]) -> RunArtifact:
    ordered = sorted(logged, key=lambda artifact: artifact.path)
    manifest = "".join(f"{a.path} {a.digest} {a.size_bytes}\n" for a in ordered)
    digest = hashlib.sha256(manifest.encode()).hexdigest()
    return RunArtifact(path=base, digest=digest, size_bytes=sum(a.size_bytes for a in logged))


def _join(prefix: str | None, name: str) -> str:
    return f"{prefix.rstrip('/')}/{name}" if prefix else name
