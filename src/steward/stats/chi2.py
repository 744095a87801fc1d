"""Chi-square test of homogeneity on the 2 x bins contingency table (no Yates correction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from steward.stats.binned import ColumnSummary, counts
from steward.stats.results import DriftTestConfig, Measurement, Rule

__all__ = ["Chi2", "calculate_chi2"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Chi2(DriftTestConfig):
    """Drift when the p-value is below `threshold` (alpha).

    Same statistic and p-value as `scipy.stats.chi2_contingency(table, correction=False)`;
    bins empty on both sides are dropped first, as they carry no information.
    """

    name: ClassVar[str] = "chi2"
    rule: ClassVar[Rule] = Rule.P_VALUE_BELOW

    threshold: float = 0.05


def calculate_chi2(config: Chi2, reference: ColumnSummary, current: ColumnSummary) -> Measurement:
    """Chi-square statistic and p-value of reference vs current counts."""
    table = np.vstack([counts(reference), counts(current)]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return Measurement(0.0, 1.0)  # one bin in use on both sides: nothing can differ
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return Measurement(statistic, float(special.chdtrc(table.shape[1] - 1, statistic)))
