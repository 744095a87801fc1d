"""A deterministic, mergeable quantile sketch: counts against edges fixed by the reference.

The reference column's values at the quantiles j/size (j = 0..size, inverted-CDF rule, so
every edge is a real value) become the edges. Every window is then counted against those
edges: per bin `(e[j-1], e[j]]` the count and the sum of its values, and per edge the count
of values equal to it. Counts are exact, so merging two windows is adding their counts, and
both empirical CDFs are known exactly at every edge and just left of it. KS and Wasserstein
read these; docs/statistics.md derives their error bounds. A column with at most size + 1
distinct values keeps every distinct value as an edge, and the sketch is then exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["QuantileSketch", "bin_counts", "quantile_edges"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def quantile_edges(sorted_values: FloatArray, quantiles: FloatArray) -> FloatArray:
    """Distinct values at the given quantiles (inverted-CDF rule) of sorted finite values."""
    count = sorted_values.shape[0]
    if count == 0:
        return np.empty(0, dtype=np.float64)
    positions = np.ceil(quantiles * count).astype(np.int64) - 1
    picked = sorted_values[np.clip(positions, 0, count - 1)]
    keep = np.concatenate(([True], picked[1:] != picked[:-1]))
    return np.ascontiguousarray(picked[keep])


def bin_counts(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts in the bins (-inf, e0], (e0, e1], ..., (e_last, inf) of sorted values."""
    at_most = np.searchsorted(sorted_values, edges, side="right")
    bounds = np.concatenate(([0], at_most, [sorted_values.shape[0]]))
    return np.diff(bounds).astype(np.int64)


@dataclass(frozen=True, slots=True)
class QuantileSketch:
    """Counts, sums and edge atoms of one window against the reference's edges."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]  # len(edges) + 1 bins: (-inf, e0], (e0, e1], ..., (e_last, inf)
    atoms: tuple[int, ...]  # per edge: values equal to it (they sit at their bin's right end)
    sums: tuple[float, ...]  # per bin: sum of its values

    @classmethod
    def build(cls, sorted_values: FloatArray, size: int) -> QuantileSketch:
        """A reference sketch: edges at the quantiles j/size of the values themselves."""
        quantiles = np.arange(size + 1, dtype=np.float64) / size
        return cls.count(sorted_values, quantile_edges(sorted_values, quantiles))

    @classmethod
    def count(cls, sorted_values: FloatArray, edges: FloatArray) -> QuantileSketch:
        """Count sorted finite values against fixed edges."""
        at_most = np.searchsorted(sorted_values, edges, side="right")
        below = np.searchsorted(sorted_values, edges, side="left")
        bounds = np.concatenate(([0], at_most, [sorted_values.shape[0]])).astype(np.int64)
        counts = np.diff(bounds)
        sums = np.zeros(counts.shape[0], dtype=np.float64)
        filled = counts > 0
        if filled.any():
            # Per-bin sums rather than differences of one running sum: no cancellation.
            sums[filled] = np.add.reduceat(sorted_values, bounds[:-1][filled])
        return cls(
            tuple(edges.tolist()),
            tuple(counts.tolist()),
            tuple((at_most - below).tolist()),
            tuple(sums.tolist()),
        )

    @property
    def total(self) -> int:
        """Number of values counted."""
        return sum(self.counts)

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """Both windows' counts added; the caller has checked that the edges are equal."""
        return QuantileSketch(
            self.edges,
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            tuple(a + b for a, b in zip(self.atoms, other.atoms, strict=True)),
            tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)),
        )

    def arrays(self) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
        """Edges, counts, atoms and sums as NumPy arrays for the calculations."""
        return (
            np.asarray(self.edges, dtype=np.float64),
            np.asarray(self.counts, dtype=np.int64),
            np.asarray(self.atoms, dtype=np.int64),
            np.asarray(self.sums, dtype=np.float64),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready lists."""
        return {
            "edges": list(self.edges),
            "counts": list(self.counts),
            "atoms": list(self.atoms),
            "sums": list(self.sums),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        """Inverse of `to_dict`; KeyError/TypeError/ValueError on malformed input."""
        sketch = cls(
            tuple(float(v) for v in data["edges"]),
            tuple(int(v) for v in data["counts"]),
            tuple(int(v) for v in data["atoms"]),
            tuple(float(v) for v in data["sums"]),
        )
        edges = len(sketch.edges)
        if len(sketch.counts) != edges + 1 or len(sketch.sums) != edges + 1:
            raise ValueError(f"a sketch with {edges} edges needs {edges + 1} counts and sums")
        if len(sketch.atoms) != edges:
            raise ValueError(f"a sketch with {edges} edges needs {edges} atoms")
        return sketch
