"""Compaction moves each record exactly once, whatever crashes or tears on the way."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from steward.errors import IntegrityError
from steward.predictions import PredictionLog, PredictionStore, compact, journal
from steward.predictions.frames import encode_records, read_segment
from steward.predictions.segments import STAGING_GRACE_S, create_segment
from tests.predictions.records import make_record


class Crash(BaseException):
    """Stands for the process dying at that point."""


def write(directory: Path, count: int, *, start: int = 0) -> None:
    log = PredictionLog(directory, compact_on_start=False)
    log.append([make_record(i) for i in range(start, start + count)])
    log.close()


def stored(directory: Path) -> list[str]:
    table = PredictionStore(directory).read("churn", columns=["prediction_id"])
    ids: list[str] = table.column("prediction_id").to_pylist()
    return ids


def sealed(directory: Path) -> list[Path]:
    return sorted((directory / "wal").glob("*.wal"))


def test_compacting_twice_never_duplicates(tmp_path: Path) -> None:
    write(tmp_path, 30)

    first = compact(tmp_path)
    second = compact(tmp_path)
    write(tmp_path, 5, start=30)
    third = compact(tmp_path)

    assert (first.records, second.records, third.records) == (30, 0, 5)
    assert second.files == ()
    assert stored(tmp_path) == [f"p{i:08d}" for i in range(35)]


def test_a_crash_before_the_commit_leaves_the_segments_to_compact_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, 20)

    def crash(*_: object) -> Path:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(journal, "commit", crash)
        with pytest.raises(Crash):
            compact(tmp_path)
    assert list((tmp_path / "parquet").rglob("*.tmp")) != []
    assert stored(tmp_path) == []

    result = compact(tmp_path)

    assert result.records == 20
    assert list((tmp_path / "parquet").rglob("*.tmp")) == []
    assert stored(tmp_path) == [f"p{i:08d}" for i in range(20)]


def test_a_crash_after_the_commit_is_finished_by_the_next_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, 20)

    def crash(*_: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(journal, "finish", crash)
        with pytest.raises(Crash):
            compact(tmp_path)
    assert stored(tmp_path) == []  # committed, not yet published

    result = compact(tmp_path)

    assert result.records == 0  # the journal finished the first compaction's work
    assert sealed(tmp_path) == []
    assert stored(tmp_path) == [f"p{i:08d}" for i in range(20)]


def test_a_crash_after_publishing_does_not_publish_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, 20)

    def crash(*_: object) -> Path:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(journal, "wal_dir", crash)  # files renamed, segments not yet deleted
        with pytest.raises(Crash):
            compact(tmp_path)
    assert len(stored(tmp_path)) == 20
    assert len(sealed(tmp_path)) == 1

    compact(tmp_path)

    assert sealed(tmp_path) == []
    assert stored(tmp_path) == [f"p{i:08d}" for i in range(20)]


def test_a_torn_last_record_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, 10)
    [segment] = sealed(tmp_path)
    size = segment.stat().st_size
    with segment.open("r+b") as handle:
        handle.truncate(size - 3)

    result = compact(tmp_path)

    assert result.records == 9
    assert result.skipped_bytes > 0
    assert stored(tmp_path) == [f"p{i:08d}" for i in range(9)]


@pytest.mark.parametrize("damage", ["zero-filled tail", "flipped byte"])
def test_a_damaged_tail_is_detected(tmp_path: Path, damage: str) -> None:
    write(tmp_path, 10)
    [segment] = sealed(tmp_path)
    data = bytearray(segment.read_bytes())
    if damage == "zero-filled tail":  # what a power loss can leave past the last sync
        data += bytes(4096)
    else:
        data[-2] ^= 0xFF
    segment.write_bytes(bytes(data))

    contents = read_segment(segment)

    assert len(contents.records()) == (10 if damage == "zero-filled tail" else 9)
    assert contents.skipped_bytes > 0


def test_a_foreign_file_is_left_alone_and_the_rest_compacted(tmp_path: Path) -> None:
    write(tmp_path, 5)
    foreign = tmp_path / "wal" / "notes.wal"
    foreign.write_text("not a segment")

    result = compact(tmp_path)

    assert result.records == 5
    assert foreign.exists()
    with pytest.raises(IntegrityError, match=r"notes\.wal"):
        read_segment(foreign)


def test_a_dead_writers_open_segment_is_sealed_and_compacted(tmp_path: Path) -> None:
    segment = create_segment(tmp_path / "wal", "4242-1-abcdef-000000", 0)
    segment.append(encode_records([make_record(i) for i in range(7)]))
    segment.close()  # the lock goes with the process; the file stays `.open`

    result = compact(tmp_path)

    assert result.records == 7
    assert list((tmp_path / "wal").iterdir()) == []


def test_only_a_stale_staging_file_is_dropped(tmp_path: Path) -> None:
    """A writer creates its segment under a hidden name before it locks it: compaction must
    not drop that file from under a live writer, only one a dead writer left long ago."""
    wal = tmp_path / "wal"
    wal.mkdir()
    fresh, stale = wal / ".4242-1-abcdef-000000.new", wal / ".4242-1-abcdef-000001.new"
    fresh.write_bytes(b"")
    stale.write_bytes(b"")
    old = time.time() - STAGING_GRACE_S - 1
    os.utime(stale, (old, old))

    compact(tmp_path)

    assert sorted(wal.iterdir()) == [fresh]


def test_a_live_writers_segment_waits_until_it_is_sealed(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, compact_on_start=False)
    log.append([make_record(i) for i in range(4)])
    log.flush()

    assert compact(tmp_path).records == 0

    log.flush(seal=True)
    assert compact(tmp_path).records == 4
    log.close()


def test_compaction_works_in_bounded_chunks(tmp_path: Path) -> None:
    for start in range(0, 40, 10):
        write(tmp_path, 10, start=start)

    result = compact(tmp_path, max_chunk_bytes=1)

    assert len(result.segments) == 4
    assert len(result.files) == 4  # one chunk per segment, one file per chunk
    assert stored(tmp_path) == [f"p{i:08d}" for i in range(40)]


def test_a_new_log_recovers_what_a_dead_process_left(tmp_path: Path) -> None:
    segment = create_segment(tmp_path / "wal", "4242-1-abcdef-000000", 0)
    segment.append(encode_records([make_record(i) for i in range(3)]))
    segment.close()

    log = PredictionLog(tmp_path)  # compacts in the background on start
    log.close()
    compact(tmp_path)  # waits for the start-up compaction, if it still runs

    assert stored(tmp_path) == ["p00000000", "p00000001", "p00000002"]
