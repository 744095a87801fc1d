"""Monitor windows: durations as people write them, and which windows are due to be computed.

Time windows are aligned on the epoch (an hourly window starts on the hour, UTC), so every
process, re-run or catch-up cuts the stream at the same instants and a re-computed window has
the same bounds as the first time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from steward.errors import InvalidInput

__all__ = ["Window", "due_windows", "format_duration", "parse_duration", "window_at"]

_UNITS: Final = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
MAX_CATCH_UP_WINDOWS: Final = 10_000  # windows one catch-up computes at most


@dataclass(frozen=True, slots=True)
class Window:
    """`[start_ms, end_ms)`, epoch milliseconds UTC."""

    start_ms: int
    end_ms: int

    def shifted(self, by_ms: int) -> Window:
        return Window(self.start_ms - by_ms, self.end_ms - by_ms)

    def __str__(self) -> str:
        return f"[{_iso(self.start_ms)}, {_iso(self.end_ms)})"


def parse_duration(text: str | int | float, *, field: str = "duration") -> int:
    """`"15m"`, `"1h"`, `"7d"`, `"90s"` or a number of seconds, in milliseconds.

    Raises:
        InvalidInput: not a positive duration in one of ms, s, m, h, d, w.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if match is None:
            raise InvalidInput(
                f"{field} must be a duration like 15m, 1h, 1d or 7d (units ms, s, m, h, d, w), "
                f"got {text!r}",
                field=field,
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not seconds > 0:
        raise InvalidInput(f"{field} must be positive, got {text!r}", field=field)
    return round(seconds * 1000)


def format_duration(ms: int) -> str:
    """The shortest exact form: 3_600_000 -> "1h", 90_000 -> "90s"."""
    for unit in ("w", "d", "h", "m", "s"):
        size = round(_UNITS[unit] * 1000)
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def window_at(at_ms: int, size_ms: int) -> Window:
    """The window of `size_ms` that holds the instant `at_ms`."""
    start = at_ms - at_ms % size_ms
    return Window(start, start + size_ms)


def due_windows(*, size_ms: int, after_ms: int, now_ms: int, delay_ms: int) -> Iterator[Window]:
    """Windows that start at or after `after_ms` and ended at least `delay_ms` before
    `now_ms`, oldest first (the catch-up after a pause), at most `MAX_CATCH_UP_WINDOWS`.

    `delay_ms` leaves time for the last predictions of a window to reach the log.
    """
    window = window_at(after_ms, size_ms)
    if window.start_ms < after_ms:
        window = Window(window.end_ms, window.end_ms + size_ms)
    for _ in range(MAX_CATCH_UP_WINDOWS):
        if window.end_ms + delay_ms > now_ms:
            return
        yield window
        window = Window(window.end_ms, window.end_ms + size_ms)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")
