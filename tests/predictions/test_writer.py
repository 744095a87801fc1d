"""The writer: queueing off the caller's thread, durable mode and group commit, rotation,
back-pressure and failures."""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

import pytest

from steward.errors import Conflict, InvalidInput, Unavailable
from steward.predictions import PredictionLog, PredictionStore, compact, new_prediction_id
from steward.predictions.frames import read_segment
from steward.predictions.segments import Segment
from tests.predictions.records import make_record

WAIT_S = 30.0


def segments(directory: Path, suffix: str) -> list[Path]:
    return sorted((directory / "wal").glob(f"*{suffix}"))


def records_in(paths: list[Path]) -> list[str]:
    return [r["prediction_id"] for path in paths for r in read_segment(path).records()]


def test_default_mode_writes_nothing_in_the_callers_thread(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, flush_interval_s=60, compact_on_start=False)

    log.append([make_record(i) for i in range(3)])

    assert segments(tmp_path, ".open") == []
    assert log.pending == 3
    log.close()
    assert records_in(segments(tmp_path, ".wal")) == ["p00000000", "p00000001", "p00000002"]


def test_a_full_batch_is_written_before_the_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = threading.Event()
    original = Segment.sync

    def sync(self: Segment) -> None:
        original(self)
        written.set()

    monkeypatch.setattr(Segment, "sync", sync)
    log = PredictionLog(tmp_path, flush_interval_s=60, max_batch=5, compact_on_start=False)

    log.append([make_record(i) for i in range(5)])

    assert written.wait(WAIT_S)
    assert len(records_in(segments(tmp_path, ".open"))) == 5
    log.close()


def test_durable_append_returns_once_its_records_are_on_disk(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, durable=True, flush_interval_s=60, compact_on_start=False)

    log.append([make_record(0), make_record(1)])

    assert records_in(segments(tmp_path, ".open")) == ["p00000000", "p00000001"]
    log.close()


def test_concurrent_durable_callers_share_one_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    syncs: list[int] = []
    original = Segment.sync

    def sync(self: Segment) -> None:
        syncs.append(1)
        entered.set()
        release.wait(WAIT_S)  # the first sync is slow: the others queue up meanwhile
        original(self)

    monkeypatch.setattr(Segment, "sync", sync)
    log = PredictionLog(tmp_path, durable=True, compact_on_start=False)
    callers = [threading.Thread(target=log.append, args=([make_record(i)],)) for i in range(8)]
    callers[0].start()
    assert entered.wait(WAIT_S)
    for caller in callers[1:]:
        caller.start()
    deadline = time.monotonic() + WAIT_S
    while log.pending < 7 and time.monotonic() < deadline:
        time.sleep(0.001)  # bounded: the seven callers reach the queue
    release.set()
    for caller in callers:
        caller.join(WAIT_S)

    assert len(syncs) == 2
    assert len(records_in(segments(tmp_path, ".open"))) == 8
    log.close()


def test_segments_rotate_by_age_on_the_injected_clock(tmp_path: Path) -> None:
    now = [1_000_000]
    log = PredictionLog(
        tmp_path, segment_max_age_s=60, compact_on_start=False, clock=lambda: now[0]
    )
    log.append([make_record(0)])
    log.flush()
    assert len(segments(tmp_path, ".open")) == 1

    now[0] += 60_000
    log.append([make_record(1)])
    log.flush()

    assert segments(tmp_path, ".open") == []
    assert records_in(segments(tmp_path, ".wal")) == ["p00000000", "p00000001"]
    log.append([make_record(2)])
    log.flush()
    assert len(segments(tmp_path, ".open")) == 1
    log.close()


def test_segments_rotate_by_size(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, segment_max_bytes=1, compact_on_start=False)
    for i in range(3):
        log.append([make_record(i)])
        log.flush()

    assert len(segments(tmp_path, ".wal")) == 3
    log.close()


def test_a_clean_close_loses_nothing(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, flush_interval_s=60, compact_on_start=False)
    for i in range(0, 5_000, 50):
        log.append([make_record(j) for j in range(i, i + 50)])
    log.close()

    compact(tmp_path)

    assert PredictionStore(tmp_path).count("churn") == 5_000


def test_a_full_queue_drops_in_default_mode_and_refuses_in_durable_mode(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "a", flush_interval_s=60, max_pending=4, compact_on_start=False)
    log.append([make_record(i) for i in range(4)])
    log.append([make_record(4), make_record(5)])
    assert (log.pending, log.dropped) == (4, 2)
    log.close()

    durable = PredictionLog(tmp_path / "b", durable=True, max_pending=1, compact_on_start=False)
    with pytest.raises(Unavailable, match="max_pending=1"):
        durable.append([make_record(0), make_record(1)])
    durable.close()


def test_a_failed_write_is_reported_to_durable_callers_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Segment.append
    failures = [OSError(errno.ENOSPC, "No space left on device")]

    def append(self: Segment, data: bytes) -> None:
        if failures:
            raise failures.pop()
        original(self, data)

    monkeypatch.setattr(Segment, "append", append)
    log = PredictionLog(tmp_path, durable=True, flush_interval_s=0.05, compact_on_start=False)

    with pytest.raises(Unavailable, match="No space left"):
        log.append([make_record(0)])
    log.append([make_record(1)])
    log.close()
    compact(tmp_path)

    table = PredictionStore(tmp_path).read("churn", columns=["prediction_id"])
    assert table.column("prediction_id").to_pylist() == ["p00000000", "p00000001"]


def test_a_closed_log_refuses_appends_and_closes_again_quietly(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, compact_on_start=False)
    log.close()

    with pytest.raises(Conflict, match="is closed"):
        log.append([make_record(0)])
    log.close()


@pytest.mark.parametrize(
    ("setting", "value"),
    [("flush_interval_s", 0), ("max_batch", -1), ("segment_max_age_s", float("nan"))],
)
def test_settings_must_be_positive(tmp_path: Path, setting: str, value: float) -> None:
    with pytest.raises(InvalidInput, match=f"{setting} must be a positive number") as caught:
        PredictionLog(tmp_path, **{setting: value})  # type: ignore[arg-type]
    assert caught.value.field == setting


def test_prediction_ids_sort_by_time() -> None:
    ids = [new_prediction_id(at_ms) for at_ms in (1, 2, 1_700_000_000_000, 1_700_000_000_001)]

    assert ids == sorted(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len({new_prediction_id(5) for _ in range(1000)}) == 1000
