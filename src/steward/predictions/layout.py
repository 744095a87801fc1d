"""Where the prediction log keeps its files, and the file-system steps that make them durable.

    <directory>/
      wal/<writer>-<seq>.open     the segment a live writer appends to; it holds a flock on it
      wal/<writer>-<seq>.wal      sealed segments, waiting for compaction
      wal/.<writer>-<seq>.new     a segment being created (still empty)
      parquet/endpoint=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet
      compaction/<id>.json        journal of a compaction between its commit and its clean-up
      compaction.lock             held by the compaction running, one at a time

Liveness is a `flock`, not a pid: the kernel drops it when the owner dies, whatever the
cause, and a recycled pid cannot fool it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote

__all__ = [
    "DAY_MS",
    "OPEN_SUFFIX",
    "SEALED_SUFFIX",
    "date_text",
    "endpoint_dir",
    "exclusive_lock",
    "fsync_dir",
    "journal_dir",
    "parquet_dir",
    "partition_dir",
    "try_lock",
    "wal_dir",
]

DAY_MS: Final = 86_400_000
OPEN_SUFFIX: Final = ".open"
SEALED_SUFFIX: Final = ".wal"


def wal_dir(directory: Path) -> Path:
    return directory / "wal"


def parquet_dir(directory: Path) -> Path:
    return directory / "parquet"


def journal_dir(directory: Path) -> Path:
    return directory / "compaction"


def endpoint_dir(directory: Path, endpoint: str) -> Path:
    """The endpoint's partition folder; the name is percent-encoded, as DuckDB decodes it."""
    return parquet_dir(directory) / f"endpoint={quote(endpoint, safe='')}"


def partition_dir(directory: Path, endpoint: str, day: int) -> Path:
    """The folder of one endpoint's predictions on one UTC day (days since the epoch)."""
    return endpoint_dir(directory, endpoint) / f"date={date_text(day)}"


def date_text(day: int) -> str:
    """`YYYY-MM-DD` of a UTC day given as days since the epoch."""
    return datetime.fromtimestamp(day * DAY_MS / 1000, tz=UTC).date().isoformat()


def fsync_dir(path: Path) -> None:
    """Make the creations, renames and deletions inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def try_lock(fd: int) -> bool:
    """Take an exclusive flock on `fd` without waiting; False when someone else holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if missing), waiting for it if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
