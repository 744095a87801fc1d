"""Jensen-Shannon distance (natural log) between the two histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from steward.stats.binned import ColumnSummary, shares
from steward.stats.results import DriftTestConfig, Measurement, Rule

__all__ = ["JensenShannon", "calculate_jensen_shannon"]


@dataclass(frozen=True, slots=True, kw_only=True)
class JensenShannon(DriftTestConfig):
    """The square root of the JS divergence, as `scipy.spatial.distance.jensenshannon`.

    Bounded by sqrt(ln 2) ~ 0.83; empty bins need no smoothing. 0.1 is Evidently's line.
    """

    name: ClassVar[str] = "jensen_shannon"
    rule: ClassVar[Rule] = Rule.STATISTIC_AT_LEAST

    threshold: float = 0.1


def calculate_jensen_shannon(
    config: JensenShannon, reference: ColumnSummary, current: ColumnSummary
) -> Measurement:
    """JS distance between the reference and current histograms."""
    p, q = shares(reference, current)
    m = (p + q) / 2
    divergence = (np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))) / 2
    return Measurement(float(np.sqrt(max(float(divergence), 0.0))))
