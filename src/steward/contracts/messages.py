"""The words of violations: what a column expects, and the sentence a person reads.

Frame and row validation both phrase violations here, so a rejected request and a rejected
batch read the same: "column 'age' expects an integer, got 'forty' in row 17 (contract churn v3)".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from steward.contracts.entities import Bound, ColumnContract
from steward.contracts.report import ValidationReport, Violation, ViolationKind, json_value
from steward.errors import InvalidInput

__all__ = [
    "EXPECTS_COLUMN",
    "EXPECTS_NO_COLUMN",
    "EXPECTS_VALUE",
    "describe",
    "expected_categories",
    "expected_missing_rate",
    "expected_range",
    "expected_type",
    "rejection",
]

EXPECTS_VALUE = "a value (the column is not nullable)"
EXPECTS_COLUMN = "the column (it is required)"
EXPECTS_NO_COLUMN = "no such column (the contract rejects extra columns)"
_SHOWN_CATEGORIES = 10
_SUMMARISED_COLUMNS = 5

_TYPE_WORDS = {
    "integer": "an integer",
    "float": "a number",
    "boolean": "a boolean",
    "categorical": "a string (a category)",
    "string": "a string",
    "datetime": "a datetime or ISO 8601 text",
}


def expected_type(column: ColumnContract) -> str:
    return _TYPE_WORDS[column.logical_type]


def expected_range(column: ColumnContract) -> str:
    low, high = column.bounds()
    if low is not None and high is not None:
        return f"a value in [{_bound(low)}, {_bound(high)}]"
    if low is not None:
        return f"a value >= {_bound(low)}"
    return f"a value <= {_bound(high)}"


def expected_categories(column: ColumnContract) -> str:
    categories = column.categories or ()
    shown = ", ".join(repr(category) for category in categories[:_SHOWN_CATEGORIES])
    if len(categories) > _SHOWN_CATEGORIES:
        shown += f", ... ({len(categories)} allowed)"
    return f"one of {shown}" if categories else "no value (the contract lists no categories)"


def expected_missing_rate(column: ColumnContract) -> str:
    return f"at most {column.max_missing_rate:.1%} missing values"


def describe(violation: Violation, contract_label: str) -> str:
    """The sentence for one violation, naming column, value, expectation and contract."""
    column, kind = repr(violation.column), violation.kind
    if kind == "missing_column":
        return f"column {column} is required but missing ({contract_label})"
    if kind == "extra_column":
        return (
            f"column {column} is not in the contract, which rejects extra columns "
            f"({contract_label}); drop it or set extra_columns to 'allow' or 'drop'"
        )
    if kind == "missing_rate":
        rate = float(violation.value)  # type: ignore[arg-type]  # always the observed rate
        return f"column {column} expects {violation.expected}, got {rate:.1%} ({contract_label})"
    return (
        f"column {column} expects {violation.expected}, got {show_value(violation.value)} "
        f"in row {violation.row} ({contract_label})"
    )


def rejection(report: ValidationReport, first: Violation) -> InvalidInput:
    """The error reject mode raises: the first violation, then the totals, examples in details."""
    message = describe(first, report.contract)
    message += f"; {report.invalid_rows} of {report.total_rows} rows invalid"
    message += f" ({_summary(report.counts)})"
    return InvalidInput(
        message,
        field=first.column,
        details=[violation.to_dict() for violation in report.examples],
    )


def show_value(value: object) -> str:
    rendered = json_value(value)
    if rendered is None:
        return "null"
    return repr(rendered) if isinstance(rendered, str) else str(rendered)


def _summary(counts: Mapping[str, Mapping[ViolationKind, int]]) -> str:
    parts = [
        f"{column}: " + ", ".join(f"{kind} {count}" for kind, count in kinds.items())
        for column, kinds in list(counts.items())[:_SUMMARISED_COLUMNS]
    ]
    if len(counts) > _SUMMARISED_COLUMNS:
        parts.append(f"{len(counts) - _SUMMARISED_COLUMNS} more columns")
    return "; ".join(parts)


def _bound(bound: Bound | None) -> str:
    if isinstance(bound, datetime):
        return bound.isoformat()
    return f"{bound:.6g}" if isinstance(bound, float) else str(bound)
