"""The control plane's scheduler: a thread that runs due monitor windows every tick.

Missed windows (the server was down) are caught up on the next tick, oldest first; a
window computed twice gives the same stored result, so two control planes ticking at once
cost work, never corrupt data.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    """Calls `tick(is_stopping)` every `interval_s` seconds in a daemon thread until `stop`;
    a long tick asks `is_stopping()` between steps to end early.

    A failing tick is logged and retried at the next one: the scheduler never dies of a
    monitor's error.
    """

    def __init__(
        self, tick: Callable[[Callable[[], bool]], object], *, interval_s: float, name: str
    ) -> None:
        self._tick = tick
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the tick under way, if any."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick(self._stopping.is_set)
            except Exception:  # any monitor's failure: keep the scheduler alive
                log.exception("scheduler tick failed; retrying at the next tick")
            self._stopping.wait(self._interval_s)
