"""The binned view both column kinds share: PSI bins for numeric, categories + other.

Binned tests (PSI, chi-square, Jensen-Shannon, Hellinger, L-infinity) read a column as a
histogram over the same bins on both sides, which the profile guarantees: numeric windows
are counted against the reference's quantile edges, categorical ones against its
categories, with unseen categories in `other`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from steward.stats.categorical import CategoricalSummary
from steward.stats.numeric import NumericSummary

__all__ = ["counts", "shares"]

ColumnSummary = NumericSummary | CategoricalSummary
FloatArray = npt.NDArray[np.float64]


def counts(summary: ColumnSummary) -> npt.NDArray[np.int64]:
    """The column's histogram: PSI bin counts, or category counts followed by other."""
    if isinstance(summary, NumericSummary):
        return np.asarray(summary.bin_counts, dtype=np.int64)
    return np.asarray((*summary.counts, summary.other), dtype=np.int64)


def shares(reference: ColumnSummary, current: ColumnSummary) -> tuple[FloatArray, FloatArray]:
    """Both histograms as proportions (each sums to 1); callers ensure non-empty sides."""
    ref = counts(reference).astype(np.float64)
    cur = counts(current).astype(np.float64)
    return ref / ref.sum(), cur / cur.sum()
