"""Both sides' empirical CDFs where the shared sketch knows them exactly.

For sketches counted against the same edges, F(e) and F(e-) (just left of e) are exact
at every edge, for both sides. Inside a bin (a, b) each CDF is only known to lie between
F(a) and F(b-); KS and Wasserstein turn that into their error bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from steward.stats.sketch import QuantileSketch

__all__ = ["SketchCdf", "sketch_cdf"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SketchCdf:
    """One side's CDF on the shared bins; bin j spans (e[j-1], e[j]], bin 0 from -inf."""

    total: int
    at_edge: FloatArray  # F(e_j)
    left_of_edge: FloatArray  # F(e_j-)
    bin_start: FloatArray  # F at each bin's left end (0 for the first bin)
    bin_end_left: FloatArray  # F just left of each bin's right end (1 for the last bin)
    counts: FloatArray
    sums: FloatArray


def sketch_cdf(sketch: QuantileSketch) -> SketchCdf:
    """The CDF values a sketch pins down; the caller ensures it counted at least one value."""
    _, counts, atoms, sums = sketch.arrays()
    total = int(counts.sum())
    at_edge = np.cumsum(counts)[:-1] / total
    left_of_edge = at_edge - atoms / total
    return SketchCdf(
        total=total,
        at_edge=at_edge,
        left_of_edge=left_of_edge,
        bin_start=np.concatenate(([0.0], at_edge)),
        bin_end_left=np.concatenate((left_of_edge, [1.0])),
        counts=counts.astype(np.float64),
        sums=sums,
    )
