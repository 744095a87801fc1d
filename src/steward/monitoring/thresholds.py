"""Recommended alert thresholds for the engine's metrics, and why they sit where they do.

Set for windows (or segments) of at least 1,000 rows compared with a large training
baseline. Measured on stationary streams of 1,000-5,000-row windows, 25 features of five
shapes (normal, lognormal, exponential, uniform, Poisson; categoricals of 3-30 values),
the largest value seen over 50 windows was: normalised Wasserstein 0.10, PSI 0.04 (0.02
numeric), Jensen-Shannon 0.07, multivariate |change| 0.04. A 0.5-standard-deviation mean
shift in one feature gives Wasserstein 0.4-0.6 and PSI 0.2-0.3 on a normal feature (more
on skewed ones) at 1,000 rows. Each threshold sits between the two with room on both
sides; `tests/monitoring/test_engine_alerting.py` holds them to it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from steward.monitoring.metrics import (
    CONTRACT_VIOLATION_RATE,
    MISSING_RATE_CHANGE,
    MULTIVARIATE_DRIFT,
    UNSEEN_CATEGORY_RATE_CHANGE,
    MetricValue,
)

__all__ = ["MIN_SAMPLES", "AlertThreshold", "Comparator", "default_alert_thresholds"]

Comparator = Literal["gt", "ge", "lt", "le"]
MIN_SAMPLES: Final = 1_000  # below this, sampling noise in the distances nears the thresholds
_COMPARE: Final[dict[str, Callable[[float, float], bool]]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


@dataclass(frozen=True, slots=True)
class AlertThreshold:
    """A recommended condition on one metric: `value <comparator> threshold`, judged only
    when the value's `sample_size` is at least `min_samples`.

    Applies to every feature and segment the metric is reported for.
    """

    metric: str
    comparator: Comparator
    threshold: float
    min_samples: int
    reason: str

    def is_breached(self, value: MetricValue) -> bool:
        """Whether `value` (of this metric) breaches, with enough samples to say so."""
        if value.metric != self.metric or value.sample_size < self.min_samples:
            return False
        return _COMPARE[self.comparator](value.value, self.threshold)


def default_alert_thresholds() -> tuple[AlertThreshold, ...]:
    """The recommended metric/threshold pairs (docs/monitoring.md#recommended-alert-thresholds).

    Performance metrics are left out: a useful floor depends on the model (set it from
    the version's evaluation metrics).
    """
    return (
        AlertThreshold(
            "drift.wasserstein",
            "ge",
            0.2,
            MIN_SAMPLES,
            "a numeric feature's distribution moved by 0.2 of its training standard deviation",
        ),
        AlertThreshold(
            "drift.psi", "ge", 0.1, MIN_SAMPLES, "PSI's usual line for a moderate shift"
        ),
        AlertThreshold(
            "drift.jensen_shannon",
            "ge",
            0.1,
            MIN_SAMPLES,
            "a categorical feature's shares moved (distance in [0, 0.83])",
        ),
        AlertThreshold(
            MULTIVARIATE_DRIFT,
            "ge",
            0.1,
            MIN_SAMPLES,
            "rows are 10% harder to reconstruct from the training data's principal components",
        ),
        AlertThreshold(
            "prediction_drift.psi", "ge", 0.1, MIN_SAMPLES, "the predictions' distribution moved"
        ),
        AlertThreshold(
            "score_drift.wasserstein",
            "ge",
            0.2,
            MIN_SAMPLES,
            "the model's confidence moved by 0.2 of its reference standard deviation",
        ),
        AlertThreshold(
            MISSING_RATE_CHANGE,
            "ge",
            0.05,
            MIN_SAMPLES,
            "5 points more missing values than in training (5 standard errors at a 10% rate)",
        ),
        AlertThreshold(
            UNSEEN_CATEGORY_RATE_CHANGE,
            "ge",
            0.05,
            MIN_SAMPLES,
            "5 points more values outside the categories training kept",
        ),
        AlertThreshold(
            CONTRACT_VIOLATION_RATE,
            "ge",
            0.01,
            MIN_SAMPLES,
            "1% of rows break the data contract",
        ),
    )
