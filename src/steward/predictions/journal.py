"""The compaction journal: what makes moving segments into Parquet happen exactly once.

A compaction writes its Parquet files under temporary names, then commits a journal
naming them and the segments they replace, then renames the files into place and deletes
the segments and the journal. A crash before the commit leaves temporary files that the
next compaction deletes (the segments are still there); a crash after it is finished by
the next compaction, from the journal. Either way no row is lost or written twice.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson

from steward.predictions.layout import fsync_dir, journal_dir, parquet_dir, wal_dir

__all__ = ["TMP_SUFFIX", "commit", "finish", "finish_pending", "remove_orphans"]

TMP_SUFFIX = ".tmp"


def commit(directory: Path, segments: Sequence[Path], files: Sequence[Path]) -> Path:
    """Durably record that `files` (each written at `<file>.tmp`) replace `segments`."""
    folder = journal_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "segments": [path.name for path in segments],
        "files": [str(path.relative_to(directory)) for path in files],
    }
    path = folder / f"{uuid.uuid4().hex}.json"
    staging = path.with_name(path.name + TMP_SUFFIX)
    with staging.open("wb") as handle:
        handle.write(orjson.dumps(body))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)
    fsync_dir(folder)
    return path


def finish(directory: Path, journal: Path) -> None:
    """Publish the journal's files, delete its segments, then the journal. Safe to repeat."""
    body = orjson.loads(journal.read_bytes())
    folders: set[Path] = set()
    for relative in body["files"]:
        final = directory / relative
        staging = final.with_name(final.name + TMP_SUFFIX)
        if staging.exists():
            os.replace(staging, final)
        folders.update((final.parent, final.parent.parent, final.parent.parent.parent))
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(folder)  # the files' names, and new partition folders, are durable
    wal = wal_dir(directory)
    for name in body["segments"]:
        (wal / name).unlink(missing_ok=True)
    fsync_dir(wal)
    journal.unlink()
    fsync_dir(journal.parent)


def finish_pending(directory: Path) -> int:
    """Finish the journals a crashed compaction left; returns how many."""
    folder = journal_dir(directory)
    if not folder.is_dir():
        return 0
    for staging in folder.glob(f"*.json{TMP_SUFFIX}"):
        staging.unlink()  # never committed
    journals = sorted(folder.glob("*.json"))
    for journal in journals:
        finish(directory, journal)
    return len(journals)


def remove_orphans(directory: Path) -> int:
    """Delete temporary Parquet files no journal names (call after `finish_pending`)."""
    root = parquet_dir(directory)
    orphans = list(root.glob(f"*/*/*{TMP_SUFFIX}")) if root.is_dir() else []
    for orphan in orphans:
        orphan.unlink()
    return len(orphans)
