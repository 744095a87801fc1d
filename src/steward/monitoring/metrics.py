"""What one window's evaluation gives back: a flat list of metric values plus its profile.

Metric names are stable (alert rules and stored time series key on them); the full list
with meanings is in docs/monitoring.md#what-a-monitor-computes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from steward.stats import Profile

__all__ = [
    "CONTRACT_VIOLATION_RATE",
    "LABELLED_SHARE",
    "MISSING_RATE",
    "MISSING_RATE_CHANGE",
    "MULTIVARIATE_DRIFT",
    "ROWS",
    "UNSEEN_CATEGORY_RATE",
    "UNSEEN_CATEGORY_RATE_CHANGE",
    "Collector",
    "MetricValue",
    "WindowResult",
]

ROWS: Final = "rows"
LABELLED_SHARE: Final = "labelled_share"
MISSING_RATE: Final = "missing_rate"
MISSING_RATE_CHANGE: Final = "missing_rate_change"
UNSEEN_CATEGORY_RATE: Final = "unseen_category_rate"
UNSEEN_CATEGORY_RATE_CHANGE: Final = "unseen_category_rate_change"
CONTRACT_VIOLATION_RATE: Final = "contract_violation_rate"
MULTIVARIATE_DRIFT: Final = "drift.multivariate"


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One number of one window, for the whole window (`segment` None) or one segment.

    Attributes:
        metric: a stable name, e.g. `drift.psi`, `perf.roc_auc`, `kpi.conversion`.
        value: always finite; a metric that cannot be computed is absent instead.
        sample_size: how many rows (or values) the number was computed from.
        feature: the input feature it is about, if any.
        segment: `key=value`, e.g. `region=EU`; None for the whole window.
        drifted: the drift test's verdict at its threshold; None for other metrics.
    """

    metric: str
    value: float
    sample_size: int
    feature: str | None = None
    segment: str | None = None
    drifted: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "metric": self.metric,
            "value": self.value,
            "sample_size": self.sample_size,
            "feature": self.feature,
            "segment": self.segment,
            "drifted": self.drifted,
        }


@dataclass(frozen=True, slots=True)
class WindowResult:
    """Every metric of one window, and the window's profile.

    `profile` holds the inputs (counted against the baseline's edges and categories, so
    profiles of windows against one baseline merge exactly) plus `prediction` and `score`;
    store it to serve as a later seasonal baseline or prediction baseline.
    """

    rows: int
    metrics: tuple[MetricValue, ...]
    profile: Profile

    def get(
        self, metric: str, *, feature: str | None = None, segment: str | None = None
    ) -> MetricValue | None:
        """The one value of `metric` for this feature and segment, or None when absent."""
        for value in self.metrics:
            if value.metric == metric and value.feature == feature and value.segment == segment:
                return value
        return None

    @property
    def segments(self) -> tuple[str, ...]:
        """The segments that have metrics, in result order."""
        return tuple(dict.fromkeys(m.segment for m in self.metrics if m.segment is not None))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, the profile in its stored form."""
        return {
            "rows": self.rows,
            "metrics": [m.to_dict() for m in self.metrics],
            "profile": self.profile.to_dict(),
        }


class Collector:
    """Gathers metric values per output group; groups below the row minimum get only `rows`.

    Args:
        labels: per group, its segment label (None for the whole window).
        rows: per group, its row count.
        min_rows: groups with fewer rows report `rows` and nothing else.
    """

    def __init__(self, labels: Sequence[str | None], rows: Sequence[int], min_rows: int) -> None:
        self.labels = tuple(labels)
        self.rows = tuple(int(r) for r in rows)
        self.eligible = tuple(r >= min_rows for r in self.rows)
        self._values: list[list[MetricValue]] = [[] for _ in self.labels]
        for group, count in enumerate(self.rows):
            self._values[group].append(MetricValue(ROWS, float(count), count, None, labels[group]))

    def add(
        self,
        group: int,
        metric: str,
        value: float,
        sample_size: int,
        *,
        feature: str | None = None,
        drifted: bool | None = None,
    ) -> None:
        """Record a value; ignored for a group below the minimum or a non-finite value."""
        if not self.eligible[group] or not math.isfinite(value):
            return
        self._values[group].append(
            MetricValue(
                metric, float(value), int(sample_size), feature, self.labels[group], drifted
            )
        )

    def metrics(self) -> tuple[MetricValue, ...]:
        """Every value: the whole window's first, then each segment's."""
        return tuple(value for group in self._values for value in group)
