"""The profile of one categorical column: counts of the reference's top K categories + other.

The reference keeps its K most frequent categories (ties broken by name, so the choice is
deterministic); every window, the reference included, is counted against that fixed list,
and everything else (rarer reference categories, categories never seen in the reference)
falls into `other`. Fixed categories are what make merged counts exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from steward.stats.frames import ColumnKind, ValueCounts

__all__ = ["CategoricalSummary", "summarise_categorical"]


@dataclass(frozen=True, slots=True)
class CategoricalSummary:
    """A categorical column's profile; `categories` are ordered by reference frequency."""

    kind: ClassVar[ColumnKind] = ColumnKind.CATEGORICAL

    missing: int
    categories: tuple[str, ...]
    counts: tuple[int, ...]
    other: int

    @property
    def count(self) -> int:
        """Non-missing values."""
        return sum(self.counts) + self.other

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        """Both windows together; the caller has checked that the categories are equal."""
        return CategoricalSummary(
            self.missing + other.missing,
            self.categories,
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            self.other + other.other,
        )

    def same_edges(self, other: object) -> bool:
        """Whether both were counted against the same categories."""
        return isinstance(other, CategoricalSummary) and self.categories == other.categories

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "kind": self.kind.value,
            "missing": self.missing,
            "categories": list(self.categories),
            "counts": list(self.counts),
            "other": self.other,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalSummary:
        """Inverse of `to_dict`; KeyError/TypeError/ValueError on malformed input."""
        summary = cls(
            int(data["missing"]),
            tuple(str(v) for v in data["categories"]),
            tuple(int(v) for v in data["counts"]),
            int(data["other"]),
        )
        if len(summary.categories) != len(summary.counts):
            raise ValueError("categories and counts differ in length")
        return summary


def summarise_categorical(
    counted: ValueCounts,
    *,
    top_k: int,
    reference: CategoricalSummary | None = None,
) -> CategoricalSummary:
    """Profile one column's value counts; against `reference`'s categories when given."""
    total = int(counted.counts.sum())
    if reference is None:
        categories, counts = _top_k(counted, top_k)
    else:
        categories = reference.categories
        counts = _counts_of(counted, categories)
    return CategoricalSummary(counted.missing, categories, counts, total - sum(counts))


def _top_k(counted: ValueCounts, top_k: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    table = pa.table({"values": counted.values, "counts": pa.array(counted.counts)})
    order = pc.sort_indices(table, sort_keys=[("counts", "descending"), ("values", "ascending")])
    top = table.take(order[:top_k])
    return (
        tuple(str(v) for v in top.column("values").to_pylist()),
        tuple(int(v) for v in top.column("counts").to_pylist()),
    )


def _counts_of(counted: ValueCounts, categories: tuple[str, ...]) -> tuple[int, ...]:
    if not categories or len(counted.values) == 0:
        return (0,) * len(categories)
    where = pc.index_in(counted.values, value_set=pa.array(categories, pa.large_string()))
    positions = where.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    found = positions >= 0
    summed = np.zeros(len(categories), dtype=np.int64)
    np.add.at(summed, positions[found], counted.counts[found])
    return tuple(summed.tolist())
