"""Window bounds: durations, epoch alignment, and the catch-up of due windows."""

from __future__ import annotations

import pytest

from steward.errors import InvalidInput
from steward.monitoring.windows import (
    MAX_CATCH_UP_WINDOWS,
    Window,
    due_windows,
    format_duration,
    parse_duration,
    window_at,
)

H = 3_600_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1h", H),
        ("15m", 900_000),
        ("7d", 7 * 24 * H),
        ("90s", 90_000),
        ("1.5h", 5_400_000),
        (60, 60_000),
        ("250ms", 250),
    ],
)
def test_durations_parse(text: str | int, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "1y", "h", "-1h", "0m", "1 hour", True])
def test_bad_durations_name_the_field_and_the_units(text: object) -> None:
    with pytest.raises(InvalidInput, match=r"window .*(duration like|positive)") as caught:
        parse_duration(text, field="window")  # type: ignore[arg-type]
    assert caught.value.field == "window"


def test_format_is_the_inverse_for_round_units() -> None:
    assert [format_duration(parse_duration(t)) for t in ("1h", "90s", "2d", "1w", "250ms")] == [
        "1h",
        "90s",
        "2d",
        "1w",
        "250ms",
    ]


def test_windows_align_on_the_epoch() -> None:
    assert window_at(5 * H + 1234, H) == Window(5 * H, 6 * H)
    assert window_at(5 * H, H) == Window(5 * H, 6 * H)


def test_due_windows_catch_up_oldest_first_and_wait_for_the_delay() -> None:
    due = list(due_windows(size_ms=H, after_ms=2 * H, now_ms=5 * H + 60_000, delay_ms=120_000))
    # [4h, 5h) ended only 60 s ago: not due yet with a 2-minute delay.
    assert due == [Window(2 * H, 3 * H), Window(3 * H, 4 * H)]
    later = list(due_windows(size_ms=H, after_ms=2 * H, now_ms=5 * H + 120_000, delay_ms=120_000))
    assert later[-1] == Window(4 * H, 5 * H)


def test_a_partial_first_window_is_skipped() -> None:
    due = list(due_windows(size_ms=H, after_ms=2 * H + 1, now_ms=5 * H, delay_ms=0))
    assert due[0] == Window(3 * H, 4 * H)


def test_catch_up_is_bounded() -> None:
    due = list(due_windows(size_ms=1000, after_ms=0, now_ms=10**12, delay_ms=0))
    assert len(due) == MAX_CATCH_UP_WINDOWS
