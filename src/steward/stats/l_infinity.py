"""L-infinity distance: the largest change in any bin's or category's share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from steward.stats.binned import ColumnSummary, shares
from steward.stats.results import DriftTestConfig, Measurement, Rule

__all__ = ["LInfinity", "calculate_l_infinity"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LInfinity(DriftTestConfig):
    """max |p_i - q_i|, in share points: 0.05 flags any category moving by 5 points."""

    name: ClassVar[str] = "l_infinity"
    rule: ClassVar[Rule] = Rule.STATISTIC_AT_LEAST

    threshold: float = 0.05


def calculate_l_infinity(
    config: LInfinity, reference: ColumnSummary, current: ColumnSummary
) -> Measurement:
    """Largest absolute difference between the two histograms' shares."""
    p, q = shares(reference, current)
    return Measurement(float(np.max(np.abs(p - q))))
