"""Two-sample Kolmogorov-Smirnov test from the reference sketch and the window's counts.

The statistic is the largest CDF gap over the points where both CDFs are exact (each
edge and just left of it), a lower bound of the true KS statistic; `ks_bounds` also gives
the upper bound, and the two meet when the reference has at most sketch_size + 1
distinct values. The p-value is Smirnov's asymptotic one, as
`scipy.stats.ks_2samp(..., method="asymp")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from steward.stats.cdf import sketch_cdf
from steward.stats.numeric import NumericSummary
from steward.stats.results import DriftTestConfig, Measurement, Rule

__all__ = ["Ks", "calculate_ks", "ks_bounds"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ks(DriftTestConfig):
    """Drift when the p-value is below `threshold` (alpha)."""

    name: ClassVar[str] = "ks"
    rule: ClassVar[Rule] = Rule.P_VALUE_BELOW

    threshold: float = 0.05


def ks_bounds(reference: NumericSummary, current: NumericSummary) -> tuple[float, float]:
    """Lower and upper bounds of the exact two-sample KS statistic."""
    ref, cur = sketch_cdf(reference.sketch), sketch_cdf(current.sketch)
    gaps = np.concatenate(
        (np.abs(ref.at_edge - cur.at_edge), np.abs(ref.left_of_edge - cur.left_of_edge), [0.0])
    )
    low = float(gaps.max())
    inside = np.concatenate((ref.bin_end_left - cur.bin_start, cur.bin_end_left - ref.bin_start))
    return low, max(low, float(inside.max()))


def calculate_ks(config: Ks, reference: NumericSummary, current: NumericSummary) -> Measurement:
    """KS statistic (the lower bound, exact for a fine enough sketch) and its p-value."""
    from scipy import stats  # imported on use: scipy.stats costs ~50 MB of resident memory

    statistic, _ = ks_bounds(reference, current)
    n, m = sorted((float(reference.count), float(current.count)), reverse=True)
    effective = max(np.round(n * m / (n + m)), 1.0)  # scipy's rounding; 1 + 1 values gives 0
    return Measurement(statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0, 1)))
