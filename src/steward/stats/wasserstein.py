"""Wasserstein-1 distance from the sketches, normalised by the reference's std.

W1 is the area between the two CDFs. Per bin (a, b], the integral of a CDF is exact from
the bin's count and sum: F(a) (b - a) + (count b - sum) / n. The area between the CDFs
is therefore exact in every bin where their difference keeps one sign, and where it may
cross zero the error is bounded by the bin's width times the CDF gap's range there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from steward.stats.cdf import SketchCdf, sketch_cdf
from steward.stats.numeric import NumericSummary
from steward.stats.results import DriftTestConfig, Measurement, Rule

__all__ = ["Wasserstein", "calculate_wasserstein", "normaliser", "wasserstein_bounds"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Wasserstein(DriftTestConfig):
    """W1 / std(reference) (population std; 1 for a constant reference).

    In units of reference standard deviations, so one threshold fits every column: a
    mean shift of d std moves it by d, and 0.1 is Evidently's line.
    """

    name: ClassVar[str] = "wasserstein"
    rule: ClassVar[Rule] = Rule.STATISTIC_AT_LEAST

    threshold: float = 0.1


def wasserstein_bounds(reference: NumericSummary, current: NumericSummary) -> tuple[float, float]:
    """The W1 estimate (unnormalised) and its maximum error."""
    ref, cur = sketch_cdf(reference.sketch), sketch_cdf(current.sketch)
    ends = _ends(reference, current)
    grid = np.concatenate(([ends[0]], np.asarray(reference.sketch.edges), [ends[1]]))
    widths = np.diff(grid)
    gap = _area(ref, grid, widths) - _area(cur, grid, widths)
    low = ref.bin_start - cur.bin_end_left  # range of F_ref - F_cur inside each bin
    high = ref.bin_end_left - cur.bin_start
    crossing = (low < 0) & (high > 0)
    spread = np.minimum(2 * np.minimum(high, -low), np.maximum(high, -low))
    return float(np.abs(gap).sum()), float(np.sum(np.where(crossing, widths * spread, 0.0)))


def normaliser(reference: NumericSummary) -> float:
    """The reference's population std, or 1.0 for a constant column."""
    std = reference.moments.std
    return std if std > 0 else 1.0


def calculate_wasserstein(
    config: Wasserstein, reference: NumericSummary, current: NumericSummary
) -> Measurement:
    """Normalised W1 between reference and current."""
    distance, _ = wasserstein_bounds(reference, current)
    return Measurement(distance / normaliser(reference))


def _ends(reference: NumericSummary, current: NumericSummary) -> tuple[float, float]:
    lows = [v for v in (reference.moments.minimum, current.moments.minimum) if v is not None]
    highs = [v for v in (reference.moments.maximum, current.moments.maximum) if v is not None]
    edges = reference.sketch.edges
    lowest = min([*lows, *edges[:1]])
    highest = max([*highs, *edges[-1:]])
    return lowest, highest


def _area(side: SketchCdf, grid: FloatArray, widths: FloatArray) -> FloatArray:
    """Integral of the side's CDF over each bin of the grid."""
    area: FloatArray = side.bin_start * widths + (side.counts * grid[1:] - side.sums) / side.total
    return area
