"""Where labels live on disk, and the file steps that make a batch appear whole or not at all.

    <directory>/labels/endpoint=<name>/
      labels.lock                                   held while a batch or a merge is written
      batch-<sequence>-<batch id>.parquet           one ingest batch
      merged-<first>-<last>.parquet                 batches first..last merged into one file
      .<file>.tmp                                   a file being written (deleted if orphaned)

Sequences count up per endpoint under the lock, so they order batches even within one
millisecond. A merged file replaces the files whose sequences it covers: readers skip
those as soon as it exists, so a crash between writing it and deleting them changes nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from steward.predictions.layout import exclusive_lock, fsync_dir

__all__ = [
    "LabelFile",
    "batch_path",
    "covered_files",
    "endpoint_labels_dir",
    "label_files",
    "locked",
    "merge_files",
    "next_sequence",
    "write_atomically",
]

_BATCH: Final = re.compile(r"batch-(\d+)-([0-9a-f]+)\.parquet")
_MERGED: Final = re.compile(r"merged-(\d+)-(\d+)\.parquet")
_DIGITS: Final = 12
_TMP_SUFFIX: Final = ".tmp"
LOCK_NAME: Final = "labels.lock"


@dataclass(frozen=True, slots=True)
class LabelFile:
    """A published label file and the batch sequences it holds (`first..last`)."""

    path: Path
    first: int
    last: int


def endpoint_labels_dir(directory: Path, endpoint: str) -> Path:
    """The endpoint's label folder; the name is percent-encoded like its predictions'."""
    return directory / "labels" / f"endpoint={quote(endpoint, safe='')}"


def batch_path(folder: Path, sequence: int, batch_id: str) -> Path:
    return folder / f"batch-{sequence:0{_DIGITS}d}-{batch_id}.parquet"


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock; files a crashed writer left half written are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / LOCK_NAME):
        for orphan in folder.glob(f".*{_TMP_SUFFIX}"):
            orphan.unlink()
        yield


def label_files(folder: Path) -> list[LabelFile]:
    """The files readers use, in sequence order: those a merged file covers are left out."""
    found = [f for f in map(_parse, folder.glob("*.parquet")) if f is not None]
    merged = [f for f in found if f.path.name.startswith("merged-")]
    return sorted(
        (f for f in found if not any(_covers(m, f) for m in merged)),
        key=lambda f: (f.first, f.last),
    )


def covered_files(folder: Path) -> list[Path]:
    """Files a merged file replaced, left by a merge that stopped before deleting them."""
    visible = {f.path for f in label_files(folder)}
    return [path for path in folder.glob("*.parquet") if path not in visible]


def next_sequence(files: list[LabelFile]) -> int:
    return max((f.last for f in files), default=0) + 1


def write_atomically(table: pa.Table, final: Path) -> None:
    """Write `table` to `final` so it appears whole or not at all, and durably."""
    staging = final.with_name(f".{final.name}{_TMP_SUFFIX}")
    try:
        pq.write_table(table, staging, compression="zstd")
        _fsync_file(staging)
        os.replace(staging, final)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def merge_files(folder: Path, files: list[LabelFile]) -> Path:
    """Write the rows of `files` into one merged file, in order; returns its path.

    The old files stay until the caller deletes them; readers already skip them. DuckDB
    streams the rows (sorting spills to disk), so memory does not follow the label count.
    """
    final = folder / f"merged-{files[0].first:0{_DIGITS}d}-{files[-1].last:0{_DIGITS}d}.parquet"
    staging = final.with_name(f".{final.name}{_TMP_SUFFIX}")
    target = str(staging).replace("'", "''")
    try:
        with duckdb.connect() as conn:
            conn.execute(
                f"COPY (SELECT * FROM read_parquet($files, hive_partitioning = false, "
                f"union_by_name = true) ORDER BY batch_seq, batch_row) "
                f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)",
                {"files": [str(f.path) for f in files]},
            )
        _fsync_file(staging)
        os.replace(staging, final)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return final


def _parse(path: Path) -> LabelFile | None:
    if match := _BATCH.fullmatch(path.name):
        sequence = int(match[1])
        return LabelFile(path, sequence, sequence)
    if match := _MERGED.fullmatch(path.name):
        return LabelFile(path, int(match[1]), int(match[2]))
    return None


def _covers(merged: LabelFile, other: LabelFile) -> bool:
    """A merged file replaces every file whose sequences lie inside its own (not itself)."""
    inside = merged.first <= other.first and other.last <= merged.last
    return inside and (merged.first, merged.last) != (other.first, other.last)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
