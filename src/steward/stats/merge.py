"""Merging profiles: counts against the same edges add up exactly.

`merge(profile(a, reference=r), profile(b, reference=r)) == profile(a + b, reference=r)`
for every count, and `merge(r, profile(b, reference=r))` equals `profile(a + b,
reference=r)` when `r = profile(a)`.
"""

from __future__ import annotations

from steward.errors import InvalidInput
from steward.stats.categorical import CategoricalSummary
from steward.stats.numeric import NumericSummary
from steward.stats.profile import ColumnSummary, Profile

__all__ = ["check_counted_against", "merge"]


def merge(first: Profile, second: Profile) -> Profile:
    """Both profiles' windows together, counted against `first`'s edges and categories.

    Raises:
        InvalidInput: the profiles have different columns, or `second` was not counted
            against `first`'s edges (profile it with `profile(frame, reference=first)`).
    """
    if list(first.columns) != list(second.columns):
        raise InvalidInput(
            f"cannot merge profiles of different columns: {list(first.columns)} and "
            f"{list(second.columns)}",
            field="second",
        )
    merged: dict[str, ColumnSummary] = {}
    for name, mine in first.columns.items():
        merged[name] = _merge_column(name, mine, second.columns[name])
    return Profile(
        first.rows + second.rows,
        merged,
        first.bins,
        first.categorical_top_k,
        first.sketch_size,
        first.reconstruction,
        {**first.skipped, **second.skipped},
    )


def check_counted_against(reference: ColumnSummary, current: ColumnSummary, name: str) -> None:
    """Raise unless `current` was counted against `reference`'s edges or categories.

    Raises:
        InvalidInput: the kinds or the edges/categories differ.
    """
    if current.kind is not reference.kind:
        raise InvalidInput(
            f"column {name!r} is {current.kind} here but {reference.kind} in the reference",
            field=name,
        )
    if current.same_edges(reference):
        return
    raise InvalidInput(
        f"column {name!r} was not counted against the reference's edges or categories; "
        "profile it with profile(frame, reference=reference)",
        field=name,
    )


def _merge_column(name: str, mine: ColumnSummary, theirs: ColumnSummary) -> ColumnSummary:
    check_counted_against(mine, theirs, name)
    if isinstance(mine, NumericSummary) and isinstance(theirs, NumericSummary):
        return mine.merge(theirs)
    if isinstance(mine, CategoricalSummary) and isinstance(theirs, CategoricalSummary):
        return mine.merge(theirs)
    raise AssertionError("unreachable: kinds were checked")  # pragma: no cover
