"""The shapes everything downstream reads: a drift test's stored config and its result.

A test is a small frozen config (name, threshold, minimum sample) whose calculation lives
in its own module and is registered by name in `steward.stats.registry`. Every test
returns a `Measurement`; `judge` turns it into the one `DriftResult` shape.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from steward.errors import InvalidInput

__all__ = ["DriftResult", "DriftStatus", "DriftTestConfig", "Measurement", "Rule"]


class DriftStatus(enum.StrEnum):
    """Outcome of one test on one column."""

    OK = "ok"
    DRIFTED = "drifted"
    NOT_ENOUGH_DATA = "not_enough_data"


class Rule(enum.StrEnum):
    """How a statistic is compared with the threshold."""

    P_VALUE_BELOW = "p_value_below"  # significance tests: drift when p < threshold (alpha)
    STATISTIC_AT_LEAST = "statistic_at_least"  # distances: drift when statistic >= threshold


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftTestConfig:
    """Base of every drift test's config; subclasses set `name` and `rule`.

    `min_count` is the fewest non-missing values each side needs; below it the result
    is `not_enough_data` rather than a statistic nobody should act on.

    Raises:
        InvalidInput: `threshold` is not a finite number or `min_count` is below 1.
    """

    name: ClassVar[str] = ""
    rule: ClassVar[Rule] = Rule.STATISTIC_AT_LEAST

    threshold: float
    min_count: int = 30

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float):
            raise InvalidInput(
                f"drift test {self.name!r} threshold must be a number, got {self.threshold!r}"
            )
        if not math.isfinite(self.threshold):
            raise InvalidInput(
                f"drift test {self.name!r} threshold must be finite, got {self.threshold!r}"
            )
        if not isinstance(self.min_count, int) or self.min_count < 1:
            raise InvalidInput(
                f"drift test {self.name!r} min_count must be an integer of at least 1, "
                f"got {self.min_count!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The stored form: the test's name plus its fields."""
        return {"test": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a calculation returns: the statistic and, for significance tests, a p-value."""

    statistic: float
    p_value: float | None = None


@dataclass(frozen=True, slots=True)
class DriftResult:
    """One test on one column; `statistic` is None when there was not enough data."""

    test: str
    column: str
    statistic: float | None
    p_value: float | None
    threshold: float
    is_drifted: bool
    status: DriftStatus

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "test": self.test,
            "column": self.column,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "is_drifted": self.is_drifted,
            "status": self.status.value,
        }


def judge(config: DriftTestConfig, column: str, measurement: Measurement | None) -> DriftResult:
    """The result of `measurement` under `config`'s rule; None means not enough data."""
    if measurement is None:
        return DriftResult(
            config.name, column, None, None, config.threshold, False, DriftStatus.NOT_ENOUGH_DATA
        )
    if config.rule is Rule.P_VALUE_BELOW:
        drifted = measurement.p_value is not None and measurement.p_value < config.threshold
    else:
        drifted = measurement.statistic >= config.threshold
    status = DriftStatus.DRIFTED if drifted else DriftStatus.OK
    return DriftResult(
        config.name,
        column,
        measurement.statistic,
        measurement.p_value,
        config.threshold,
        drifted,
        status,
    )
