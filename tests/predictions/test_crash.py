"""A real process appending under load, killed (SIGKILL) or stopped (SIGTERM): what the log kept.

The child is tests/predictions/appender.py. Its stdout says, after each `append` returned,
how many records it had appended and when (monotonic clock, shared by all processes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from steward.predictions import PredictionStore, compact

# Each child imports the whole `steward` package first: a few seconds per test.
pytestmark = pytest.mark.slow

APPENDER = Path(__file__).with_name("appender.py")
READY_TIMEOUT_S = 60.0
FLUSH_INTERVAL_S = 0.2
# Scheduling slack on a loaded 2-core machine, on top of the flush interval.
MARGIN_S = 1.0


@dataclass
class Child:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def acks(self) -> list[tuple[int, float]]:
        """(records appended, when) for every `ack` line."""
        found = []
        for line in list(self.lines):
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ack":
                found.append((int(parts[1]), float(parts[2])))
        return found

    def wait_for_acks(self, count: int) -> None:
        """Bounded polling until the child has acknowledged `count` records."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not any(n >= count for n, _ in self.acks()):
            assert self.process.poll() is None, f"appender exited early: {self.lines[-5:]}"
            assert time.monotonic() < deadline, "appender did not start in time"
            time.sleep(0.01)

    def finish(self) -> None:
        self.process.wait(timeout=READY_TIMEOUT_S)
        assert self.reader is not None
        self.reader.join(timeout=READY_TIMEOUT_S)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(*args: str) -> Child:
        command = [sys.executable, str(APPENDER), str(tmp_path / "log"), *args]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1)
        child = Child(process)
        assert process.stdout is not None
        stream = process.stdout
        child.reader = threading.Thread(target=lambda: child.lines.extend(stream), daemon=True)
        child.reader.start()
        children.append(child)
        return child

    yield start
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait()


def stored_ids(directory: Path) -> set[str]:
    compact(directory)  # seals the dead writer's segment, as a restarted server does
    table = PredictionStore(directory).read("churn", columns=["prediction_id"])
    ids = table.column("prediction_id").to_pylist()
    assert len(ids) == len(set(ids)), "a record was stored twice"
    return set(ids)


def expected_ids(count: int) -> set[str]:
    return {f"p{i:08d}" for i in range(count)}


def test_durable_mode_keeps_every_acknowledged_record_after_sigkill(
    spawn: Callable[..., Child], tmp_path: Path
) -> None:
    child = spawn("durable", str(FLUSH_INTERVAL_S))
    child.wait_for_acks(200)
    os.kill(child.process.pid, signal.SIGKILL)
    child.finish()
    acknowledged = max(n for n, _ in child.acks())

    stored = stored_ids(tmp_path / "log")

    assert expected_ids(acknowledged) <= stored
    # Beyond the acknowledged ones, at most the batch in flight at the kill.
    assert len(stored) <= acknowledged + 10


def test_default_mode_loses_at_most_the_last_flush_interval_after_sigkill(
    spawn: Callable[..., Child], tmp_path: Path
) -> None:
    child = spawn("default", str(FLUSH_INTERVAL_S))
    child.wait_for_acks(500)
    # Let the appender run past several flush intervals, then kill it mid-load.
    first_ack = child.acks()[0][1]
    while time.monotonic() < first_ack + 3 * FLUSH_INTERVAL_S + MARGIN_S:
        time.sleep(0.01)
    killed_at = time.monotonic()
    os.kill(child.process.pid, signal.SIGKILL)
    child.finish()

    stored = stored_ids(tmp_path / "log")

    old_enough = [n for n, at in child.acks() if at <= killed_at - FLUSH_INTERVAL_S - MARGIN_S]
    assert old_enough, "the appender acknowledged nothing early enough to check"
    assert expected_ids(max(old_enough)) <= stored
    assert stored <= expected_ids(max(n for n, _ in child.acks()) + 10)


@pytest.mark.parametrize("mode", ["default", "durable"])
def test_sigterm_closes_the_log_and_loses_nothing(
    spawn: Callable[..., Child], tmp_path: Path, mode: str
) -> None:
    # A long interval: only close() can have written the tail.
    child = spawn(mode, "30", "term")
    child.wait_for_acks(500)
    os.kill(child.process.pid, signal.SIGTERM)
    child.finish()
    assert child.process.returncode == 0
    closed = [int(line.split()[1]) for line in child.lines if line.startswith("closed")]

    assert stored_ids(tmp_path / "log") == expected_ids(closed[0])
