"""The single-row fast path for serving: a contract compiled into one small check per column.

Compiling does all the work that does not depend on the row (bounds widened, datetimes
turned into microseconds, categories into a frozenset, messages phrased), so checking a
row is a dict probe, a type test and a comparison or two per column. The rules are those of
frame validation; a missing rate is a batch property and is not checked on one row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime

from steward.contracts import messages
from steward.contracts.entities import ColumnContract, Contract
from steward.contracts.report import Violation, ViolationKind
from steward.contracts.values import ValueKind, epoch_us, kind_of
from steward.errors import InvalidInput

__all__ = ["RowValidator", "compile_row_validator"]

Broken = tuple[ViolationKind, str]
Check = Callable[[object], Broken | None]
_ABSENT = object()


class RowValidator:
    """Checks one row, a mapping of column name to value, against a compiled contract."""

    __slots__ = ("_checks", "_known", "_rejects_extra", "contract")

    def __init__(self, contract: Contract) -> None:
        required = set(contract.required_columns)
        self.contract = contract
        self._checks = tuple(
            (column.name, column.name in required, _compile(column)) for column in contract.columns
        )
        self._known = frozenset(contract.column_names)
        self._rejects_extra = contract.extra_columns == "reject"

    def validate(self, row: Mapping[str, object], *, index: int = 0) -> list[Violation]:
        """Every broken rule in `row`, in contract column order; empty when the row is valid.

        Args:
            row: column name to value, as decoded from a request (JSON types, or Python and
                NumPy scalars).
            index: the row's position in its request, reported as `Violation.row`.

        Raises:
            InvalidInput: `row` is not a mapping.
        """
        try:
            get = row.get
        except AttributeError:
            raise InvalidInput(
                f"a row must be a mapping of column names to values, got {type(row).__name__}",
                field=f"row[{index}]",
            ) from None
        violations: list[Violation] = []
        for name, is_required, check in self._checks:
            value = get(name, _ABSENT)
            if value is _ABSENT:
                if is_required:
                    violations.append(
                        Violation(index, name, "missing_column", None, messages.EXPECTS_COLUMN)
                    )
                continue
            broken = check(value)
            if broken is not None:
                violations.append(Violation(index, name, broken[0], value, broken[1]))
        if self._rejects_extra:
            violations.extend(
                Violation(index, key, "extra_column", row[key], messages.EXPECTS_NO_COLUMN)
                for key in row
                if key not in self._known
            )
        return violations

    def check(self, row: Mapping[str, object], *, index: int = 0) -> None:
        """Validate `row` and raise on the first broken rule.

        Raises:
            InvalidInput: naming the column, value, expectation, row and contract, with
                every violation of the row in `details`; or `row` is not a mapping.
        """
        violations = self.validate(row, index=index)
        if not violations:
            return
        message = messages.describe(violations[0], self.contract.label)
        if len(violations) > 1:
            message += f"; {len(violations)} violations in this row"
        raise InvalidInput(
            message,
            field=violations[0].column,
            details=[violation.to_dict() for violation in violations],
        )


def compile_row_validator(contract: Contract) -> RowValidator:
    """Precompute the per-column checks of `contract` for validating one row at a time.

    Raises:
        InvalidInput: `contract` is not a Contract.
    """
    if not isinstance(contract, Contract):
        raise InvalidInput(
            f"contract must be a steward Contract, got {type(contract).__name__}; "
            "load one with Contract.from_yaml or infer_contract",
            field="contract",
        )
    return RowValidator(contract)


def _compile(column: ColumnContract) -> Check:
    if column.logical_type in ("integer", "float"):
        return _number_check(column)
    if column.logical_type == "datetime":
        return _datetime_check(column)
    if column.logical_type == "boolean":
        return _boolean_check(column)
    return _text_check(column)


def _null_result(column: ColumnContract) -> Broken | None:
    return None if column.nullable else ("null", messages.EXPECTS_VALUE)


def _number_check(column: ColumnContract) -> Check:
    null = _null_result(column)
    wrong: Broken = ("wrong_type", messages.expected_type(column))
    out: Broken = ("out_of_range", _range_words(column))
    low, high = column.bounds()
    # Infinite stand-ins for open sides keep the hot path free of None tests.
    low = -math.inf if low is None else low
    high = math.inf if high is None else high
    is_integer = column.logical_type == "integer"

    def check(value: object) -> Broken | None:
        if type(value) is float:
            if value != value:  # NaN
                return null
            if is_integer and not value.is_integer():  # type: ignore[attr-defined]
                return wrong
        elif type(value) is not int:
            kind = _number_kind(value, is_integer)
            if kind is not None:
                return null if kind is ValueKind.NULL else wrong
        if value < low or value > high:  # type: ignore[operator]
            return out
        return None

    return check


def _number_kind(value: object, is_integer: bool) -> ValueKind | None:
    """For a value of a less common type (NumPy, Decimal): None when it is an acceptable
    number, NULL when it is missing, OTHER when it is the wrong type."""
    kind = kind_of(value)
    if kind is ValueKind.FLOAT:
        is_whole = float(value).is_integer()  # type: ignore[arg-type]  # a FLOAT kind converts
        return ValueKind.OTHER if is_integer and not is_whole else None
    if kind is ValueKind.INTEGER:
        return None
    return ValueKind.NULL if kind is ValueKind.NULL else ValueKind.OTHER


def _datetime_check(column: ColumnContract) -> Check:
    null = _null_result(column)
    wrong: Broken = ("wrong_type", messages.expected_type(column))
    out: Broken = ("out_of_range", _range_words(column))
    low, high = (epoch_us(b) if isinstance(b, datetime) else None for b in column.bounds())

    def check(value: object) -> Broken | None:
        kind = kind_of(value)
        if kind is ValueKind.NULL:
            return null
        micros = epoch_us(value) if kind in (ValueKind.TIMESTAMP, ValueKind.TEXT) else None
        if micros is None:
            return wrong
        if (low is not None and micros < low) or (high is not None and micros > high):
            return out
        return None

    return check


def _boolean_check(column: ColumnContract) -> Check:
    null = _null_result(column)
    wrong: Broken = ("wrong_type", messages.expected_type(column))

    def check(value: object) -> Broken | None:
        if type(value) is bool:
            return None
        kind = kind_of(value)
        if kind is ValueKind.BOOLEAN:
            return None
        return null if kind is ValueKind.NULL else wrong

    return check


def _text_check(column: ColumnContract) -> Check:
    null = _null_result(column)
    wrong: Broken = ("wrong_type", messages.expected_type(column))
    allowed = None if column.categories is None else frozenset(column.categories)
    unseen: Broken = ("unseen_category", messages.expected_categories(column))

    def check(value: object) -> Broken | None:
        if type(value) is not str:
            kind = kind_of(value)
            if kind is not ValueKind.TEXT:
                return null if kind is ValueKind.NULL else wrong
        if allowed is not None and value not in allowed:
            return unseen
        return None

    return check


def _range_words(column: ColumnContract) -> str:
    has_range = column.minimum is not None or column.maximum is not None
    return messages.expected_range(column) if has_range else ""
