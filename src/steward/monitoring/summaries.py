"""Per-group column summaries of a window, counted against a reference profile's edges.

They are the same `NumericSummary`/`CategoricalSummary` that `steward.stats.profile(window,
reference=...)` gives (exact counts; sums and moments up to rounding), for the whole window
and every segment at once: each cell's rows are sorted and counted once, and a group's
summary is the sum of its cells'. The drift tests of `steward.stats` then read them as usual.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from steward.errors import InvalidInput
from steward.monitoring.grouping import Partition, Segmentation
from steward.stats import (
    CategoricalSummary,
    ColumnKind,
    ColumnSummary,
    Moments,
    NumericSummary,
    QuantileSketch,
)
from steward.stats.frames import Column, category_codes
from steward.stats.sketch import bin_counts

__all__ = ["column_kind", "group_summaries", "numeric_values"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def column_kind(column: pa.ChunkedArray) -> ColumnKind | None:
    """How `steward.stats` profiles a column of this type; None when it does not."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_boolean(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return ColumnKind.CATEGORICAL
    if pa.types.is_string_view(kind):
        return ColumnKind.CATEGORICAL
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return ColumnKind.NUMERIC
    return None


def numeric_values(column: pa.ChunkedArray) -> FloatArray:
    """The column as float64, NaN where missing (a view when Arrow allows it)."""
    floats = pc.cast(column, pa.float64())
    array = floats.combine_chunks() if floats.num_chunks != 1 else floats.chunk(0)
    values: FloatArray = array.to_numpy(zero_copy_only=False)
    return values


def group_summaries(
    name: str, column: pa.ChunkedArray, reference: ColumnSummary, segments: Segmentation
) -> list[ColumnSummary]:
    """Per group, the column's summary counted against `reference`.

    A column with no values at all (e.g. a feature absent from every log file, read as
    nulls) is all missing whatever its type.

    Raises:
        InvalidInput: the column's kind differs from the reference's.
    """
    kind = column_kind(column)
    if kind is not reference.kind and column.null_count < len(column):
        raise InvalidInput(
            f"column {name!r} has type {column.type}, read as "
            f"{kind.value if kind else 'unsupported'}, but the baseline profiled it as "
            f"{reference.kind.value}",
            field=name,
        )
    if isinstance(reference, NumericSummary):
        values = (
            numeric_values(column)
            if kind is ColumnKind.NUMERIC
            else np.full(len(column), np.nan, dtype=np.float64)
        )
        return list(_numeric(values, reference, segments))
    codes = (
        category_codes(_categorical(name, column), reference.categories, slice(None))
        if kind is ColumnKind.CATEGORICAL
        else np.full(len(column), -2, dtype=np.int64)
    )
    return list(_categorical_groups(codes, reference, segments))


def _categorical(name: str, column: pa.ChunkedArray) -> Column:
    return Column(name, ColumnKind.CATEGORICAL, None, str(column.type), column)


class _Cells:
    """A numeric column's statistics per cell, as arrays."""

    def __init__(self, cells: int, bins: int, psi_bins: int) -> None:
        self.missing = np.zeros(cells, dtype=np.int64)
        self.counts = np.zeros((cells, bins + 1), dtype=np.int64)
        self.atoms = np.zeros((cells, bins), dtype=np.int64)
        self.sums = np.zeros((cells, bins + 1), dtype=np.float64)
        self.psi = np.zeros((cells, psi_bins + 1), dtype=np.int64)
        self.moments: list[Moments] = []


def _numeric(
    values: FloatArray, reference: NumericSummary, segments: Segmentation
) -> Sequence[NumericSummary]:
    edges = np.asarray(reference.sketch.edges, dtype=np.float64)
    cut_points = np.asarray(reference.bin_edges, dtype=np.float64)
    out: list[NumericSummary | None] = [None] * len(segments.labels)
    for partition in segments.partitions:
        order = partition.order()
        data = values if order is None else values[order]
        bounds = partition.bounds
        cells = _Cells(partition.cells, len(edges), len(cut_points))
        for cell in range(partition.cells):
            finite = _count_cell(np.sort(data[bounds[cell] : bounds[cell + 1]]), cell, cells, edges)
            cells.psi[cell] = bin_counts(finite, cut_points)
        for position, group in enumerate(partition.groups):
            members = np.flatnonzero(partition.members[position])
            out[group] = _numeric_group(reference, cells, members)
    return [summary for summary in out if summary is not None]


def _count_cell(ordered: FloatArray, cell: int, cells: _Cells, edges: FloatArray) -> FloatArray:
    """One cell's sorted values against the sketch edges, as `QuantileSketch.count` counts
    a column; returns the finite values (NaN sorts last, infinities at the ends)."""
    first = int(np.searchsorted(ordered, -np.inf, side="right"))
    last = int(np.searchsorted(ordered, np.inf, side="left"))
    finite = ordered[first:last]
    cells.missing[cell] = ordered.shape[0] - finite.shape[0]
    at_most = np.searchsorted(finite, edges, side="right")
    below = np.searchsorted(finite, edges, side="left")
    bounds = np.concatenate(([0], at_most, [finite.shape[0]])).astype(np.int64)
    counts = np.diff(bounds)
    cells.counts[cell] = counts
    cells.atoms[cell] = at_most - below
    filled = counts > 0
    if filled.any():
        cells.sums[cell, filled] = np.add.reduceat(finite, bounds[:-1][filled])
    cells.moments.append(Moments.of_sorted(finite, total=float(cells.sums[cell].sum())))
    return finite


def _numeric_group(reference: NumericSummary, cells: _Cells, members: IntArray) -> NumericSummary:
    moments = functools.reduce(Moments.merge, [cells.moments[c] for c in members])
    sketch = QuantileSketch(
        reference.sketch.edges,
        tuple(cells.counts[members].sum(axis=0).tolist()),
        tuple(cells.atoms[members].sum(axis=0).tolist()),
        tuple(cells.sums[members].sum(axis=0).tolist()),
    )
    return NumericSummary(
        int(cells.missing[members].sum()),
        moments,
        reference.bin_edges,
        tuple(cells.psi[members].sum(axis=0).tolist()),
        sketch,
    )


def _categorical_groups(
    codes: IntArray, reference: CategoricalSummary, segments: Segmentation
) -> Sequence[CategoricalSummary]:
    """Codes are -2 missing, -1 other, else the category's position."""
    width = len(reference.categories) + 2
    slots = codes + 2

    def per_cell(partition: Partition) -> FloatArray:
        flat = partition.codes.astype(np.int64) * width + slots
        counted = np.bincount(flat, minlength=partition.cells * width)
        return counted.reshape(partition.cells, width).astype(np.float64)

    totals = segments.totals(per_cell).astype(np.int64)
    return [
        CategoricalSummary(int(row[0]), reference.categories, tuple(row[2:].tolist()), int(row[1]))
        for row in totals
    ]
