"""Rows into segments, so per-segment metrics cost about one pass over the window, not one
per segment.

Every row falls in one *cell*: its combination of segment values (e.g. region=EU and
device=mobile). Statistics are computed once per cell, then added up into the *groups*
reported: the whole window and each `key=value`. A group is a union of cells, so additive
statistics (counts, sums, histograms) need one pass whatever the number of segments. When
the keys have too many value combinations, each key gets its own pass instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from steward.errors import InvalidInput

__all__ = ["MISSING_VALUE", "OTHER_VALUES", "Partition", "Segmentation", "segment_rows"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
RowValues = npt.NDArray[np.float64] | npt.NDArray[np.bool_] | npt.NDArray[np.int64]
OTHER_VALUES: Final = "(other)"  # values beyond the most frequent ones kept per key
MISSING_VALUE: Final = "(missing)"  # rows without a value for the key
MAX_JOINT_CELLS: Final = 256  # more occupied combinations than this: one pass per key
_DIRECT_COLUMNS: Final = ("route", "model_version")


class Partition:
    """The rows split into `cells`; each group this partition reports is a union of cells.

    Args:
        codes: per row (window order), its cell.
        cells: number of cells.
        groups: the output groups (positions in `Segmentation.labels`) built here.
        members: `[len(groups), cells]`, 1 where the cell belongs to the group.
    """

    def __init__(
        self, codes: npt.NDArray[np.integer], cells: int, groups: Sequence[int], members: IntArray
    ) -> None:
        self.codes = codes
        self.cells = cells
        self.groups = tuple(groups)
        self.members = members
        sizes = np.bincount(codes, minlength=cells)
        self.bounds: IntArray = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self._order: IntArray | None = None

    def order(self) -> IntArray | None:
        """Row positions sorted by cell (stable); None when there is one cell. `bounds`
        says where each cell starts in it."""
        if self.cells == 1:
            return None
        if self._order is None:  # small integer codes: NumPy sorts them by radix, O(rows)
            self._order = np.argsort(self.codes, kind="stable").astype(np.int64)
        return self._order

    def per_cell(self, values: RowValues | None = None, rows: IntArray | None = None) -> FloatArray:
        """Per cell, the sum of `values` (booleans count) or the number of rows.

        `rows` (row positions) restricts it to those rows; `values` are then theirs, one
        per position.
        """
        codes = self.codes if rows is None else self.codes[rows]
        return np.bincount(codes, weights=values, minlength=self.cells).astype(np.float64)

    def totals(self, per_cell: FloatArray) -> FloatArray:
        """Per group, the sum over its cells of a per-cell statistic (any trailing shape).

        Counts are exact as floats (below 2**53)."""
        totals: FloatArray = np.tensordot(self.members.astype(np.float64), per_cell, axes=1)
        return totals


@dataclass(frozen=True, slots=True)
class Segmentation:
    """The groups of one window and the partitions that compute them.

    Attributes:
        labels: per group, None for the whole window (always group 0), else `key=value`.
        partitions: together they build every group exactly once.
        by_key: one partition per grouping (the whole window, then each key) whose cells
            are its groups, for statistics that do not add up over cells (ROC AUC).
        group_rows: rows per group.
    """

    labels: tuple[str | None, ...]
    partitions: tuple[Partition, ...]
    by_key: tuple[Partition, ...]
    group_rows: IntArray

    def totals(self, per_cell: Callable[[Partition], FloatArray]) -> FloatArray:
        """Per group, `per_cell(partition)` summed over the group's cells."""
        parts = [(p, p.totals(per_cell(p))) for p in self.partitions]
        first = parts[0][1]
        out = np.zeros((len(self.labels), *first.shape[1:]), dtype=first.dtype)
        for partition, values in parts:
            out[list(partition.groups)] = values
        return out

    def sums(self, values: RowValues | None = None, rows: IntArray | None = None) -> FloatArray:
        """Per group, the sum of `values` or the number of rows (see `Partition.per_cell`)."""
        return self.totals(lambda p: p.per_cell(values, rows))

    def tally(self, states: IntArray, size: int, rows: IntArray | None = None) -> IntArray:
        """Per group, how many rows are in each state 0..size-1: `[groups, size]`, in one
        pass however many states. With `rows`, `states` are those rows' (one per position).
        """

        def per_cell(partition: Partition) -> FloatArray:
            codes = partition.codes if rows is None else partition.codes[rows]
            flat = codes.astype(np.int64) * size + states
            counted = np.bincount(flat, minlength=partition.cells * size)
            return counted.reshape(partition.cells, size).astype(np.float64)

        return self.totals(per_cell).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Key:
    name: str
    codes: npt.NDArray[np.int16]
    values: tuple[str, ...]


def segment_rows(table: pa.Table, keys: Sequence[str], max_values: int) -> Segmentation:
    """Group the window's rows by each segment key (`seg_<key>`, `route`, `model_version`).

    Raises:
        InvalidInput: a key has no column in the window.
    """
    rows = table.num_rows
    columns = [_key_column(table, key) for key in keys]
    if rows == 0:  # an empty window has no segment values: the whole window only
        columns = []
    read = [_read_key(key, column, max_values) for key, column in zip(keys, columns, strict=False)]
    labels: list[str | None] = [None]
    by_key = [Partition(np.zeros(rows, dtype=np.int16), 1, [0], np.ones((1, 1), np.int64))]
    for key in read:
        groups = range(len(labels), len(labels) + len(key.values))
        labels.extend(f"{key.name}={value}" for value in key.values)
        cells = len(key.values)
        by_key.append(Partition(key.codes, cells, groups, np.eye(cells, dtype=np.int64)))
    joint = _joint(read, rows)
    partitions: tuple[Partition, ...]
    if joint is not None:
        partitions = (joint,)
    elif len(by_key) == 1:
        partitions = (by_key[0],)
    else:  # the first key's pass also builds the whole window: every row is in one cell
        first = by_key[1]
        members = np.vstack([np.ones((1, first.cells), np.int64), first.members])
        partitions = (
            Partition(first.codes, first.cells, (0, *first.groups), members),
            *by_key[2:],
        )
    return Segmentation(tuple(labels), partitions, tuple(by_key), _rows(partitions, len(labels)))


def _rows(partitions: Sequence[Partition], groups: int) -> IntArray:
    rows = np.zeros(groups, dtype=np.int64)
    for partition in partitions:
        sizes = np.diff(partition.bounds).astype(np.float64)
        rows[list(partition.groups)] = partition.totals(sizes).astype(np.int64)
    return rows


def _joint(keys: Sequence[_Key], rows: int) -> Partition | None:
    """One partition whose cells are the occupied value combinations, when few enough."""
    if not keys:
        return None
    combos = int(np.prod([len(k.values) for k in keys]))
    if combos > 64 * MAX_JOINT_CELLS:
        return None
    joint = np.zeros(rows, dtype=np.int64)
    for key in keys:
        joint = joint * len(key.values) + key.codes
    occupied = np.flatnonzero(np.bincount(joint, minlength=combos))
    if len(occupied) > MAX_JOINT_CELLS:
        return None
    dense = np.full(combos, -1, dtype=np.int16)
    dense[occupied] = np.arange(len(occupied), dtype=np.int16)
    groups = 1 + sum(len(k.values) for k in keys)
    members = np.zeros((groups, len(occupied)), dtype=np.int64)
    members[0] = 1
    remainder, offset = occupied.copy(), groups
    for key in reversed(keys):  # decode each combination's value of each key
        offset -= len(key.values)
        members[offset + remainder % len(key.values), np.arange(len(occupied))] = 1
        remainder //= len(key.values)
    return Partition(dense[joint], len(occupied), range(groups), members)


def _read_key(key: str, column: pa.ChunkedArray, max_values: int) -> _Key:
    """The key's most frequent values (then other, then missing) and each row's code."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.large_string())
    encoded = column.combine_chunks().dictionary_encode()
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    indices = pc.fill_null(encoded.indices, len(names)).to_numpy(zero_copy_only=False)
    counts = np.bincount(indices, minlength=len(names) + 1)
    ranked = sorted(range(len(names)), key=lambda i: (-counts[i], str(names[i])))
    kept = sorted(ranked[:max_values], key=lambda i: str(names[i]))
    values = [str(names[i]) for i in kept]
    lookup = np.full(len(names) + 1, -1, dtype=np.int16)
    lookup[kept] = np.arange(len(kept), dtype=np.int16)
    if len(ranked) > max_values and counts[ranked[max_values:]].sum() > 0:
        lookup[ranked[max_values:]] = len(values)
        values.append(OTHER_VALUES)
    if counts[len(names)] > 0:
        lookup[len(names)] = len(values)
        values.append(MISSING_VALUE)
    return _Key(key, lookup[indices], tuple(values))


def _key_column(table: pa.Table, key: str) -> pa.ChunkedArray:
    names = table.column_names
    if f"seg_{key}" in names:
        return table.column(f"seg_{key}")
    if key in _DIRECT_COLUMNS and key in names:
        return table.column(key)
    segments = [n.removeprefix("seg_") for n in names if n.startswith("seg_")]
    raise InvalidInput(
        f"segment key {key!r} has no column seg_{key} in the window; it has segment keys: "
        f"{', '.join(segments) or 'none'} (and the columns route, model_version)",
        field="segments",
    )
