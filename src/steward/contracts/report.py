"""The result shapes of validation: one violation, the report, and the split frames."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

import numpy as np

__all__ = [
    "ROW_KINDS",
    "ValidationMode",
    "ValidationReport",
    "ValidationResult",
    "Violation",
    "ViolationKind",
]

ViolationKind = Literal[
    "missing_column",
    "extra_column",
    "wrong_type",
    "null",
    "out_of_range",
    "unseen_category",
    "missing_rate",
]
ValidationMode = Literal["reject", "warn", "drop"]

# Kinds that make a row invalid. A missing rate is a property of the whole batch: it fails
# the frame but no single row, so it never quarantines anything.
ROW_KINDS: frozenset[str] = frozenset(
    {"missing_column", "extra_column", "wrong_type", "null", "out_of_range", "unseen_category"}
)

FrameT = TypeVar("FrameT")


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule.

    Attributes:
        row: 0-based position of the row in the frame (not a pandas index label); None when
            the violation is about the column as a whole (missing column, missing rate).
        column: the column name.
        kind: which rule broke.
        value: the offending value as received (the observed rate for `missing_rate`).
        expected: what the contract accepts, in words, e.g. "a value in [10.8, 97.2]".
    """

    row: int | None
    column: str
    kind: ViolationKind
    value: object
    expected: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (`Any`: JSON values); odd values become their repr."""
        return {
            "row": self.row,
            "column": self.column,
            "kind": self.kind,
            "value": json_value(self.value),
            "expected": self.expected,
        }


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What validation found in one frame.

    Attributes:
        contract: the contract's label, e.g. "contract churn v3".
        total_rows: rows in the frame.
        invalid_rows: rows with at least one row-level violation.
        counts: per column, per violation kind, how many rows broke it (for `missing_rate`,
            how many values were missing).
        examples: the first offending cells, by row position then contract column order;
            whole-column violations come first.
        extra_columns: frame columns the contract does not list (whatever the policy).
    """

    contract: str
    total_rows: int
    invalid_rows: int
    counts: Mapping[str, Mapping[ViolationKind, int]] = field(default_factory=dict)
    examples: tuple[Violation, ...] = ()
    extra_columns: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (`Any`: JSON values), e.g. for `steward data validate --json`."""
        return {
            "contract": self.contract,
            "is_valid": self.is_valid,
            "total_rows": self.total_rows,
            "invalid_rows": self.invalid_rows,
            "counts": {column: dict(kinds) for column, kinds in self.counts.items()},
            "examples": [violation.to_dict() for violation in self.examples],
            "extra_columns": list(self.extra_columns),
        }


@dataclass(frozen=True, slots=True)
class ValidationResult(Generic[FrameT]):
    """The report plus the frame split in two, each of the caller's own frame type.

    `valid` and `quarantined` are disjoint and together hold every input row (in `warn` mode
    every row is in `valid`). With `extra_columns="drop"` neither holds the extra columns.
    """

    report: ValidationReport
    valid: FrameT
    quarantined: FrameT

    @property
    def is_valid(self) -> bool:
        return self.report.is_valid


def json_value(value: object) -> object:
    """A JSON-safe rendering of a cell value: NumPy scalars unwrapped, datetimes as ISO text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
