"""The column checks, vectorised: one boolean mask per broken rule, plus the batch missing rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from steward.contracts import messages
from steward.contracts.cells import Cells
from steward.contracts.entities import Bound, ColumnContract
from steward.contracts.frames import ColumnSource
from steward.contracts.report import ViolationKind
from steward.contracts.values import epoch_us

__all__ = ["MISSING_RATE_ALPHA", "Finding", "check_column", "missing_rate_exceeded"]

BoolArray = NDArray[np.bool_]

# A batch fails the missing-rate check only when its missing count would happen with
# probability below this under the contract's maximum rate, so a 3-row request with one null
# passes while a million rows at a rate just above the maximum fail.
MISSING_RATE_ALPHA = 0.001


@dataclass(frozen=True, slots=True)
class Finding:
    """A broken rule in one column of a frame, before it is turned into report entries.

    Attributes:
        rows: the offending rows; None when the finding is about the column as a whole.
        source: the column as read, to fetch example values from.
        value: the example value of a whole-column finding (the observed missing rate).
    """

    column: str
    kind: ViolationKind
    count: int
    expected: str
    rows: BoolArray | None = None
    source: ColumnSource | None = None
    value: object = None


def check_column(column: ColumnContract, cells: Cells, source: ColumnSource) -> list[Finding]:
    """Every rule of `column` over the cells of one frame column."""
    found: list[Finding] = []

    def add(kind: ViolationKind, rows: BoolArray | None, expected: str) -> None:
        count = 0 if rows is None else int(np.count_nonzero(rows))
        if count:
            found.append(Finding(column.name, kind, count, expected, rows, source))

    present = ~cells.null
    if cells.wrong_type is not None:
        add("wrong_type", cells.wrong_type, messages.expected_type(column))
        present &= ~cells.wrong_type
    if not column.nullable:
        add("null", cells.null, messages.EXPECTS_VALUE)
    if cells.numbers is not None and (column.minimum is not None or column.maximum is not None):
        add(
            "out_of_range",
            _out_of_range(column, cells.numbers, present),
            messages.expected_range(column),
        )
    if column.categories is not None and cells.text is not None:
        add(
            "unseen_category",
            _unseen(cells.text, column.categories),
            messages.expected_categories(column),
        )
    found.extend(_missing_rate(column, cells.null, source))
    return found


def missing_rate_exceeded(missing: int, total: int, max_rate: float) -> bool:
    """Whether `missing` of `total` values is implausibly many for a rate of at most `max_rate`.

    One-sided exact binomial test: P(X >= missing) for X ~ Binomial(total, max_rate) is the
    regularised incomplete beta I_max_rate(missing, total - missing + 1).
    """
    if total == 0 or missing <= max_rate * total:
        return False
    if max_rate <= 0:
        return True
    if max_rate >= 1:
        return False
    from scipy.special import betainc  # only batches with gaps pay for importing SciPy

    return bool(betainc(missing, total - missing + 1, max_rate) < MISSING_RATE_ALPHA)


def _missing_rate(column: ColumnContract, null: BoolArray, source: ColumnSource) -> list[Finding]:
    if not column.nullable:
        return []  # every null is already a row violation
    missing, total = int(np.count_nonzero(null)), len(null)
    if not missing_rate_exceeded(missing, total, column.max_missing_rate):
        return []
    expected = messages.expected_missing_rate(column)
    return [Finding(column.name, "missing_rate", missing, expected, None, source, missing / total)]


def _out_of_range(
    column: ColumnContract, numbers: NDArray[np.float64] | NDArray[np.int64], present: BoolArray
) -> BoolArray:
    low, high = (_comparable(bound) for bound in column.bounds())
    outside = np.zeros(len(numbers), dtype=np.bool_)
    # NaN (missing or wrong-typed) compares False, so float numbers need no `present` mask.
    if low is not None:
        outside |= numbers < low
    if high is not None:
        outside |= numbers > high
    return outside if numbers.dtype == np.float64 else outside & present


def _comparable(bound: Bound | None) -> float | int | None:
    return epoch_us(bound) if isinstance(bound, datetime) else bound


def _unseen(text: pa.ChunkedArray, categories: tuple[str, ...]) -> BoolArray:
    value_type = text.type.value_type if pa.types.is_dictionary(text.type) else text.type
    allowed = pc.is_in(text, value_set=pa.array(categories, type=value_type))
    unseen = pc.and_(pc.invert(allowed), pc.is_valid(text))
    return np.asarray(unseen.to_numpy(), dtype=np.bool_)
