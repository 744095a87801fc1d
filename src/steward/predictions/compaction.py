"""Compaction: sealed write-ahead segments become Parquet partitions `endpoint=/date=`.

One compaction runs at a time per directory (a file lock). It first finishes what a crashed
one left (see `journal`), seals the segments of dead writers, then takes sealed segments
in chunks of bounded size: decode, write one Parquet file per endpoint and UTC day,
commit, publish, delete the segments.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from steward.errors import IntegrityError
from steward.predictions import journal
from steward.predictions.entities import CompactionResult
from steward.predictions.frames import read_segment
from steward.predictions.layout import exclusive_lock, partition_dir, wal_dir
from steward.predictions.segments import seal_abandoned, sealed_segments
from steward.predictions.tables import TableBuilder, split_by_day

__all__ = ["compact"]

log = logging.getLogger(__name__)

LOCK_NAME = "compaction.lock"


def compact(directory: Path, *, max_chunk_bytes: int = 32 * 1024 * 1024) -> CompactionResult:
    """Move every sealed segment under `directory` into Parquet; safe to run at any time.

    Segments still open by a live writer are left alone; those of dead writers are sealed
    and compacted. Waits while another compaction of the same directory runs.

    Args:
        directory: the prediction log's root folder.
        max_chunk_bytes: segment bytes decoded at once (at least one segment), which bounds
            memory: roughly ten times this in Python objects.

    Raises:
        OSError: a file cannot be read or written; what was committed stays committed and
            the rest is retried by the next compaction.
    """
    directory = Path(directory)
    results: list[CompactionResult] = []
    with exclusive_lock(directory / LOCK_NAME):
        journal.finish_pending(directory)
        journal.remove_orphans(directory)
        wal = wal_dir(directory)
        seal_abandoned(wal)
        for chunk in _chunks(sealed_segments(wal), max_chunk_bytes):
            results.append(_compact_chunk(directory, chunk))
    result = CompactionResult(
        segments=tuple(name for r in results for name in r.segments),
        records=sum(r.records for r in results),
        files=tuple(path for r in results for path in r.files),
        skipped_bytes=sum(r.skipped_bytes for r in results),
    )
    if result.segments:
        log.info(
            "predictions compacted segments=%d records=%d files=%d",
            len(result.segments),
            result.records,
            len(result.files),
        )
    return result


def _chunks(segments: list[Path], max_bytes: int) -> Iterator[list[Path]]:
    chunk: list[Path] = []
    size = 0
    for path in segments:
        length = path.stat().st_size
        if chunk and size + length > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += length
    if chunk:
        yield chunk


def _compact_chunk(directory: Path, segments: list[Path]) -> CompactionResult:
    builders: dict[str, TableBuilder] = {}
    taken: list[Path] = []
    skipped = 0
    for path in segments:
        try:
            contents = read_segment(path)
        except IntegrityError as exc:  # not ours: leave it for a person, compact the rest
            log.error("prediction segment skipped error=%s", exc)
            continue
        if contents.skipped_bytes:
            log.warning(
                "prediction segment had a torn end segment=%s bytes=%d",
                path.name,
                contents.skipped_bytes,
            )
        skipped += contents.skipped_bytes + _add_records(builders, contents.payloads)
        taken.append(path)
    files = _write_partitions(directory, builders)
    journal.finish(directory, journal.commit(directory, taken, files))
    records = sum(builder.rows for builder in builders.values())
    return CompactionResult(tuple(p.name for p in taken), records, tuple(files), skipped)


def _add_records(builders: dict[str, TableBuilder], payloads: list[memoryview]) -> int:
    """Decode and route each record to its endpoint's builder; returns bytes not decodable."""
    undecodable = 0
    for payload in payloads:
        try:
            record = orjson.loads(payload)
        except orjson.JSONDecodeError:  # its CRC held, so the writer made it: never expected
            log.error("prediction record is not JSON bytes=%d", len(payload))
            undecodable += len(payload)
            continue
        endpoint = str(record.get("endpoint"))
        builder = builders.get(endpoint)
        if builder is None:
            builder = builders[endpoint] = TableBuilder()
        builder.add(record)
    return undecodable


def _write_partitions(directory: Path, builders: dict[str, TableBuilder]) -> list[Path]:
    """Write each endpoint's rows per UTC day to a temporary file; returns the final paths."""
    files: list[Path] = []
    for endpoint, builder in builders.items():
        for day, table in split_by_day(builder.table()):
            folder = partition_dir(directory, endpoint, day)
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / f"part-{uuid.uuid4().hex}.parquet"
            staging = final.with_name(final.name + journal.TMP_SUFFIX)
            pq.write_table(table, staging, compression="zstd")
            _fsync_file(staging)
            files.append(final)
    return files


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
