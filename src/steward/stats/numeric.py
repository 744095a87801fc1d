"""The profile of one numeric column: moments, PSI bins and the quantile sketch.

One sort per column gives everything: the finite values come out contiguous (NaN sorts
last, infinities at the ends), quantile edges are positions in it, and counting against
fixed edges is a binary search per edge rather than per value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from steward.stats.frames import ColumnKind
from steward.stats.moments import Moments
from steward.stats.sketch import QuantileSketch, bin_counts, quantile_edges

__all__ = ["NumericSummary", "summarise_numeric"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NumericSummary:
    """A numeric column's profile.

    `bin_edges` are the interior cut points of the PSI bins (the reference's quantiles
    k/bins), so `bin_counts` has one more entry: (-inf, c1], (c1, c2], ..., (c_last, inf).
    Non-finite values (NaN, None, ±inf) count as missing.
    """

    kind: ClassVar[ColumnKind] = ColumnKind.NUMERIC

    missing: int
    moments: Moments
    bin_edges: tuple[float, ...]
    bin_counts: tuple[int, ...]
    sketch: QuantileSketch

    @property
    def count(self) -> int:
        """Non-missing values."""
        return self.moments.count

    def merge(self, other: NumericSummary) -> NumericSummary:
        """Both windows together; the caller has checked that the edges are equal."""
        return NumericSummary(
            self.missing + other.missing,
            self.moments.merge(other.moments),
            self.bin_edges,
            tuple(a + b for a, b in zip(self.bin_counts, other.bin_counts, strict=True)),
            self.sketch.merge(other.sketch),
        )

    def same_edges(self, other: object) -> bool:
        """Whether both were counted against the same PSI and sketch edges."""
        return (
            isinstance(other, NumericSummary)
            and self.bin_edges == other.bin_edges
            and self.sketch.edges == other.sketch.edges
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "kind": self.kind.value,
            "missing": self.missing,
            "moments": self.moments.to_dict(),
            "bin_edges": list(self.bin_edges),
            "bin_counts": list(self.bin_counts),
            "sketch": self.sketch.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericSummary:
        """Inverse of `to_dict`; KeyError/TypeError/ValueError on malformed input."""
        summary = cls(
            int(data["missing"]),
            Moments.from_dict(data["moments"]),
            tuple(float(v) for v in data["bin_edges"]),
            tuple(int(v) for v in data["bin_counts"]),
            QuantileSketch.from_dict(data["sketch"]),
        )
        if len(summary.bin_counts) != len(summary.bin_edges) + 1:
            raise ValueError("bin_counts needs one more entry than bin_edges")
        return summary


def summarise_numeric(
    values: FloatArray,
    *,
    bins: int,
    sketch_size: int,
    reference: NumericSummary | None = None,
) -> NumericSummary:
    """Profile one column's values; against `reference`'s edges when it is given."""
    ordered = np.sort(values)
    first = int(np.searchsorted(ordered, -np.inf, side="right"))
    last = int(np.searchsorted(ordered, np.inf, side="left"))
    finite = ordered[first:last]
    if reference is None:
        cut_points = quantile_edges(finite, np.arange(1, bins, dtype=np.float64) / bins)
        sketch = QuantileSketch.build(finite, sketch_size)
    else:
        cut_points = np.asarray(reference.bin_edges, dtype=np.float64)
        sketch = QuantileSketch.count(finite, np.asarray(reference.sketch.edges))
    return NumericSummary(
        missing=int(values.shape[0] - finite.shape[0]),
        moments=Moments.of_sorted(finite, total=float(np.sum(sketch.sums))),
        bin_edges=tuple(cut_points.tolist()),
        bin_counts=tuple(bin_counts(finite, cut_points).tolist()),
        sketch=sketch,
    )
