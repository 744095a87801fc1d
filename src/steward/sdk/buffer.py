"""Buffered metric logging, so a training loop never waits on the database or the network.

Metrics collect in memory and are written in batches: when the buffer reaches its size, on a
short interval from a background thread, at the end of the run, and at interpreter exit.
A failed background write keeps its metrics for the next flush, whose error the caller sees.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from steward.tracking import Metric

__all__ = ["MetricBuffer"]

log = logging.getLogger(__name__)

WriteBatch = Callable[[str, Sequence[Metric]], None]


class MetricBuffer:
    """Per-process metric buffer for one run.

    Args:
        run_id: the run the metrics belong to.
        write: writes one batch (in-process store or HTTP).
        max_size: buffered metrics that trigger a write from the caller's thread.
        interval_s: longest time a metric waits before the background thread writes it.
    """

    def __init__(self, run_id: str, write: WriteBatch, *, max_size: int, interval_s: float) -> None:
        self.run_id = run_id
        self._write = write
        self._max_size = max_size
        self._interval_s = interval_s
        self._pending: list[Metric] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="steward-metrics", daemon=True)
        self._thread.start()

    def add(self, metrics: Sequence[Metric]) -> None:
        with self._lock:
            self._pending.extend(metrics)
            is_full = len(self._pending) >= self._max_size
        if is_full:
            self.flush()

    def flush(self) -> None:
        """Write everything buffered so far.

        Raises:
            StewardError: the write failed; the metrics stay buffered for the next try.
        """
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                try:
                    self._write(self.run_id, batch)
                except BaseException:
                    with self._lock:  # keep the metrics: nothing accepted is dropped
                        self._pending[:0] = batch
                    raise

    def close(self) -> list[Metric]:
        """Stop the background thread; return what is left, for the caller's final write."""
        self._stopped.set()
        self._thread.join(timeout=self._interval_s + 5)
        with self._write_lock, self._lock:
            remaining, self._pending = self._pending, []
        return remaining

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self.flush()
            except Exception as exc:  # metrics stay buffered; the caller's flush retries
                log.warning("background metric write failed run=%s error=%s", self.run_id, exc)
