"""Population stability index over the PSI bins (numeric) or categories (categorical)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from steward.stats.binned import ColumnSummary, shares
from steward.stats.results import DriftTestConfig, Measurement, Rule

__all__ = ["Psi", "calculate_psi"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Psi(DriftTestConfig):
    """PSI = sum((q - p) * ln(q / p)); 0.1 is the usual "moderate shift" line.

    `smoothing` replaces an empty bin's proportion on either side (Evidently's 1e-4),
    so a category new in the window gives a large but finite PSI instead of infinity.
    """

    name: ClassVar[str] = "psi"
    rule: ClassVar[Rule] = Rule.STATISTIC_AT_LEAST

    threshold: float = 0.1
    smoothing: float = 1e-4


def calculate_psi(config: Psi, reference: ColumnSummary, current: ColumnSummary) -> Measurement:
    """PSI of the current histogram against the reference's."""
    p, q = shares(reference, current)
    p = np.where(p == 0, config.smoothing, p)
    q = np.where(q == 0, config.smoothing, q)
    return Measurement(float(np.sum((q - p) * np.log(q / p))))
