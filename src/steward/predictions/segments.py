"""Write-ahead segments on disk: create one, append and sync, seal it, and find the sealed ones.

A segment is created under a hidden name, locked, then renamed to `<name>.open`, so any
`.open` file someone can lock belongs to a dead writer. Sealing renames it to `<name>.wal`;
only sealed segments are compacted.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from steward.predictions.frames import MAGIC
from steward.predictions.layout import OPEN_SUFFIX, SEALED_SUFFIX, fsync_dir, try_lock

__all__ = ["Segment", "create_segment", "seal_abandoned", "sealed_segments"]

log = logging.getLogger(__name__)

# A staging file older than this belongs to a writer that died creating it; a live writer's
# is locked and published within microseconds, and must not be dropped from under it.
STAGING_GRACE_S = 60.0

# fdatasync is enough for appends (it flushes the size change) and skips timestamps.
_sync = getattr(os, "fdatasync", os.fsync)


class Segment:
    """A segment this process appends to; it holds the segment's flock until sealed.

    Args:
        path: the `.open` file.
        fd: its descriptor, opened for appending and locked.
        created_ms: when it was created, by the writer's clock.
    """

    def __init__(self, path: Path, fd: int, created_ms: int) -> None:
        self.path = path
        self.created_ms = created_ms
        self.size = len(MAGIC)
        self._fd = fd

    def append(self, data: bytes | bytearray) -> None:
        """Write `data` at the end (no sync); on failure the segment is cut back to its size.

        Raises:
            OSError: the write failed (disk full, I/O error).
        """
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self._truncate()
            raise
        self.size += len(data)

    def sync(self) -> None:
        """Make everything appended so far durable.

        Raises:
            OSError: the sync failed; the page cache can no longer be trusted for this file.
        """
        _sync(self._fd)

    def seal(self) -> Path:
        """Sync, rename to `.wal` and release the lock; returns the sealed path.

        Raises:
            OSError: the sync or the rename failed; the lock is released all the same, so
                the next start-up seals it as abandoned.
        """
        try:
            self.sync()
            sealed = self.path.with_suffix(SEALED_SUFFIX)
            os.replace(self.path, sealed)
            fsync_dir(self.path.parent)
        finally:
            self.close()
        return sealed

    def close(self) -> None:
        """Release the descriptor and the lock without renaming."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _truncate(self) -> None:
        try:  # so the frames after a failed write are not hidden behind a torn one
            os.ftruncate(self._fd, self.size)
        except OSError as exc:
            log.warning("prediction segment truncate failed path=%s error=%s", self.path, exc)


def create_segment(wal: Path, name: str, created_ms: int) -> Segment:
    """Create, lock and publish the segment `wal/<name>.open`.

    Raises:
        OSError: the folder or file cannot be created.
    """
    wal.mkdir(parents=True, exist_ok=True)
    staging = wal / f".{name}.new"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
    fd = os.open(staging, flags, 0o644)
    try:
        try_lock(fd)  # a file nobody else has seen yet: the lock is always free
        os.write(fd, MAGIC)
        path = wal / f"{name}{OPEN_SUFFIX}"
        os.replace(staging, path)
        fsync_dir(wal)
    except BaseException:
        os.close(fd)
        staging.unlink(missing_ok=True)
        raise
    return Segment(path, fd, created_ms)


def sealed_segments(wal: Path) -> list[Path]:
    """Sealed segments, oldest writer first."""
    return sorted(wal.glob(f"*{SEALED_SUFFIX}")) if wal.is_dir() else []


def seal_abandoned(wal: Path) -> list[Path]:
    """Seal the `.open` segments of dead writers (and drop their empty staging files).

    Returns:
        The segments sealed.
    """
    if not wal.is_dir():
        return []
    sealed = [path for path in sorted(wal.glob(f"*{OPEN_SUFFIX}")) if _seal_if_unlocked(path)]
    for staging in wal.glob(".*.new"):
        if _is_stale(staging):  # a live writer's lasts microseconds, before it is locked
            _seal_if_unlocked(staging)
    if sealed:
        fsync_dir(wal)
        log.info("prediction segments recovered from dead writers count=%d", len(sealed))
    return [path.with_suffix(SEALED_SUFFIX) for path in sealed]


def _is_stale(staging: Path) -> bool:
    try:
        return time.time() - staging.stat().st_mtime > STAGING_GRACE_S
    except FileNotFoundError:  # published or dropped meanwhile
        return False


def _seal_if_unlocked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # its writer sealed it meanwhile
        return False
    try:
        if not try_lock(fd):
            return False
        if path.suffix == OPEN_SUFFIX:
            os.replace(path, path.with_suffix(SEALED_SUFFIX))
        else:
            path.unlink()
    except FileNotFoundError:  # sealed or recovered by someone else between open and lock
        return False
    finally:
        os.close(fd)
    return path.suffix == OPEN_SUFFIX
