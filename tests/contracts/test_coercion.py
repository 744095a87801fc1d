"""The coercion rules, one value at a time, checked on both paths: a served row and a frame.

Each case is a column rule, a value and the violation it must cause (None: accepted). The same
value is validated as a single row, as a pandas object column and as a column whose dtype
pandas infers, so a request and a batch can never disagree.
"""

from __future__ import annotations

import decimal
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from steward.contracts import ColumnContract, Contract, compile_row_validator, validate

INTEGER = ColumnContract("x", "integer", minimum=0, maximum=100, range_tolerance=0.0)
FLOAT = ColumnContract("x", "float", minimum=0.0, maximum=1.0, range_tolerance=0.0)
NULLABLE_FLOAT = ColumnContract("x", "float", nullable=True, missing_rate=0.5)
BOOLEAN = ColumnContract("x", "boolean")
CATEGORICAL = ColumnContract("x", "categorical", categories=("a", "b"))
STRING = ColumnContract("x", "string")
START = datetime(2024, 1, 1, tzinfo=UTC)
DATETIME = ColumnContract("x", "datetime", minimum=START)

CASES = [
    (INTEGER, 5, None),
    (INTEGER, 5.0, None),  # pandas stores integer columns with gaps as float64
    (INTEGER, np.int32(5), None),
    (INTEGER, np.float64(5.0), None),
    (INTEGER, 2.5, "wrong_type"),
    (INTEGER, float("inf"), "wrong_type"),
    (INTEGER, True, "wrong_type"),
    (INTEGER, "5", "wrong_type"),
    (INTEGER, None, "null"),
    (INTEGER, float("nan"), "null"),
    (INTEGER, 200, "out_of_range"),
    (INTEGER, -1, "out_of_range"),
    (FLOAT, 0.5, None),
    (FLOAT, 1, None),
    (FLOAT, np.float32(0.25), None),
    (FLOAT, decimal.Decimal("0.5"), None),
    (FLOAT, "0.5", "wrong_type"),
    (FLOAT, False, "wrong_type"),
    (FLOAT, 2.0, "out_of_range"),
    (FLOAT, float("inf"), "out_of_range"),
    (FLOAT, pd.NA, "null"),
    (NULLABLE_FLOAT, None, None),
    (NULLABLE_FLOAT, float("nan"), None),
    (BOOLEAN, True, None),
    (BOOLEAN, np.bool_(False), None),
    (BOOLEAN, 1, "wrong_type"),
    (BOOLEAN, "true", "wrong_type"),
    (BOOLEAN, None, "null"),
    (CATEGORICAL, "a", None),
    (CATEGORICAL, "c", "unseen_category"),
    (CATEGORICAL, 1, "wrong_type"),
    (CATEGORICAL, None, "null"),
    (STRING, "anything at all", None),
    (STRING, 5, "wrong_type"),
    (DATETIME, datetime(2024, 5, 1, tzinfo=UTC), None),
    (DATETIME, datetime(2024, 5, 1), None),
    (DATETIME, date(2024, 5, 1), None),
    (DATETIME, pd.Timestamp("2024-05-01"), None),
    (DATETIME, np.datetime64("2024-05-01T00:00:00"), None),
    (DATETIME, "2024-05-01", None),
    (DATETIME, "2024-05-01T10:00:00+02:00", None),
    (DATETIME, "2023-12-31T23:30:00-02:00", None),  # 01:30 UTC on 1 January
    (DATETIME, "2024-01-01T01:00:00+02:00", "out_of_range"),  # 23:00 UTC the day before
    (DATETIME, datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=2))), "out_of_range"),
    (DATETIME, datetime(2023, 6, 1, tzinfo=UTC), "out_of_range"),
    (DATETIME, "soon", "wrong_type"),
    (DATETIME, "2024-05", "wrong_type"),  # abbreviated forms: a full date is required
    (DATETIME, "20240501", "wrong_type"),
    (DATETIME, "2024-W18-3", "wrong_type"),
    (DATETIME, "2024-05-01+02:00", "wrong_type"),  # an offset needs a time
    (DATETIME, "2024-05-01T10:00:00,5", "wrong_type"),
    (DATETIME, "2024-05-01 10:00", None),
    (DATETIME, "2024-05-01T10:00:00.5Z", None),
    (DATETIME, "2024-05-01T10-0230", None),
    (DATETIME, 1714521600, "wrong_type"),
    (DATETIME, None, "null"),
]


def _case_id(case: tuple[ColumnContract, object, str | None]) -> str:
    column, value, kind = case
    return f"{column.logical_type}-{type(value).__name__}:{value!r}-{kind}"


@pytest.mark.parametrize(("column", "value", "kind"), CASES, ids=[_case_id(case) for case in CASES])
def test_a_value_breaks_the_same_rule_in_a_row_and_in_a_frame(
    column: ColumnContract, value: object, kind: str | None
) -> None:
    contract = Contract((column,), ("x",))
    expected = [] if kind is None else [kind]
    row = compile_row_validator(contract).validate({"x": value})
    assert [violation.kind for violation in row] == expected
    for frame in (
        pd.DataFrame({"x": pd.Series([value], dtype=object)}),
        pd.DataFrame({"x": [value]}),
    ):
        report = validate(frame, contract, mode="drop").report
        assert [violation.kind for violation in report.examples] == expected


def test_a_typed_column_of_integers_is_accepted_as_float() -> None:
    contract = Contract((ColumnContract("x", "float", minimum=0.0, maximum=10.0),), ("x",))
    assert validate(pd.DataFrame({"x": np.arange(10, dtype=np.int16)}), contract).is_valid


def test_an_integer_column_with_gaps_arrives_as_float_and_is_accepted() -> None:
    contract = Contract((ColumnContract("x", "integer", nullable=True, missing_rate=0.5),), ("x",))
    frame = pd.DataFrame({"x": [1, None, 3, None]})
    assert frame["x"].dtype == np.float64
    assert validate(frame, contract).is_valid


def test_categorical_dtypes_are_checked_against_the_categories() -> None:
    import polars as pl
    import pyarrow as pa

    contract = Contract((CATEGORICAL,), ("x",))
    frames = [
        pd.DataFrame({"x": pd.Categorical(["a", "c", None])}),
        pl.DataFrame({"x": ["a", "c", None]}, schema={"x": pl.Categorical}),
        pa.table({"x": pa.array(["a", "c", None]).dictionary_encode()}),
    ]
    for frame in frames:
        counts = validate(frame, contract, mode="drop").report.counts
        assert counts == {"x": {"unseen_category": 1, "null": 1}}
