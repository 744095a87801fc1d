"""Inferring a contract from training data in pandas, polars and PyArrow."""

from __future__ import annotations

import decimal
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from steward.contracts import infer_contract, validate
from steward.errors import InvalidInput

from .samples import as_library


def test_each_dtype_gets_its_logical_type(frame: pd.DataFrame, library: str) -> None:
    contract = infer_contract(as_library(frame, library))
    types = {column.name: column.logical_type for column in contract.columns}
    assert types == {
        "age": "integer",
        "monthly_spend": "float",
        "plan": "categorical",
        "is_active": "boolean",
        "signup_at": "datetime",
        "notes": "string",
    }


def test_every_library_infers_the_same_contract(frame: pd.DataFrame) -> None:
    contracts = [
        infer_contract(as_library(frame, lib), name="c") for lib in ("pandas", "polars", "pyarrow")
    ]
    assert contracts[0] == contracts[1] == contracts[2]


def test_frame_level_defaults(frame: pd.DataFrame) -> None:
    contract = infer_contract(frame, name="churn")
    assert contract.required_columns == tuple(frame.columns)
    assert contract.extra_columns == "allow"
    assert (contract.name, contract.version) == ("churn", 1)


def test_observed_range_is_stored_with_the_tolerance() -> None:
    contract = infer_contract(pd.DataFrame({"x": [10, 20, 30, 110]}), range_tolerance=0.25)
    column = contract.column("x")
    assert (column.minimum, column.maximum, column.range_tolerance) == (10, 110, 0.25)
    assert column.bounds() == (-15.0, 135.0)  # 25% of the span of 100 on each side


def test_nullability_and_missing_rate_come_from_the_gaps() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0], "y": [1.0, 2.0, 3.0, 4.0]})
    contract = infer_contract(frame)
    assert (contract.column("x").nullable, contract.column("x").missing_rate) == (True, 0.25)
    assert (contract.column("y").nullable, contract.column("y").missing_rate) == (False, 0.0)


def test_polars_nan_and_null_both_count_as_missing() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), None, 4.0]})
    assert infer_contract(frame).column("x").missing_rate == 0.5


def test_text_above_the_cardinality_cap_is_free_text() -> None:
    frame = pd.DataFrame({"plan": ["b", "a", "c", "a", None]})
    assert infer_contract(frame).column("plan").categories == ("a", "b", "c")
    assert infer_contract(frame, max_categories=2).column("plan").logical_type == "string"
    assert infer_contract(frame, max_categories=2).column("plan").categories is None


def test_categorical_dtypes_use_the_observed_values() -> None:
    plan = pd.Categorical(["a", "b", "a"], categories=["a", "b", "unused"])
    assert infer_contract(pd.DataFrame({"plan": plan})).column("plan").categories == ("a", "b")
    frame = pl.DataFrame({"plan": ["x", "y"]}, schema={"plan": pl.Categorical})
    assert infer_contract(frame).column("plan").categories == ("x", "y")


def test_datetime_columns_keep_a_minimum_and_no_maximum() -> None:
    stamps = pd.to_datetime(["2024-03-01 12:00", "2024-01-01 00:00"])  # naive: read as UTC
    column = infer_contract(pd.DataFrame({"t": stamps})).column("t")
    assert column.minimum == datetime(2024, 1, 1, tzinfo=UTC)
    assert column.maximum is None


def test_dates_and_decimals_map_to_datetime_and_float() -> None:
    table = pa.table(
        {
            "day": pa.array([date(2024, 1, 2), date(2024, 1, 1)]),
            "price": pa.array([decimal.Decimal("1.50"), decimal.Decimal("2.25")]),
        }
    )
    contract = infer_contract(table)
    assert contract.column("day").logical_type == "datetime"
    assert contract.column("day").minimum == datetime(2024, 1, 1, tzinfo=UTC)
    assert (contract.column("price").logical_type, contract.column("price").maximum) == (
        "float",
        2.25,
    )


def test_an_all_missing_column_is_nullable_free_text() -> None:
    column = infer_contract(pd.DataFrame({"x": [None, None]}, dtype=object)).column("x")
    assert (column.logical_type, column.nullable, column.missing_rate) == ("string", True, 1.0)


def test_infinite_extremes_leave_that_side_open() -> None:
    column = infer_contract(pd.DataFrame({"x": [1.0, np.inf]})).column("x")
    assert (column.minimum, column.maximum) == (1.0, None)


@pytest.mark.parametrize(
    "empty",
    [
        pd.DataFrame({"x": pd.Series([], dtype="float64")}),
        pd.DataFrame(index=[0, 1]),
        pl.DataFrame(),
    ],
)
def test_an_empty_frame_is_refused(empty: object) -> None:
    with pytest.raises(InvalidInput, match="cannot infer a contract from an empty frame"):
        infer_contract(empty)


@pytest.mark.parametrize(
    ("thing", "named"),
    [
        ({"x": [1]}, "builtins.dict"),
        (np.zeros((2, 2)), "numpy.ndarray"),
        (pl.LazyFrame({"x": [1]}), "collect()"),
    ],
)
def test_an_unsupported_object_is_named(thing: object, named: str) -> None:
    with pytest.raises(
        InvalidInput, match=r"accepted: pandas\.DataFrame, polars\.DataFrame, pyarrow\.Table"
    ) as caught:
        infer_contract(thing)
    assert named in caught.value.message


def test_a_column_mixing_python_types_is_refused_by_name() -> None:
    frame = pd.DataFrame({"age": pd.Series([1, "two", 3.5], dtype=object)})
    with pytest.raises(
        InvalidInput, match=r"column 'age' mixes Python value types \(float, int, str\)"
    ):
        infer_contract(frame)


def test_a_column_type_contracts_cannot_describe_is_refused() -> None:
    table = pa.table({"tags": pa.array([["a"], ["b", "c"]])})
    with pytest.raises(InvalidInput, match=r"column 'tags' has type list<item: string>"):
        infer_contract(table)


def test_column_names_must_be_strings() -> None:
    with pytest.raises(InvalidInput, match=r"column name 0 \(int\) is not a string"):
        infer_contract(pd.DataFrame([[1, 2]]))


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"range_tolerance": -0.1}, "range_tolerance must be a finite number >= 0"),
        ({"range_tolerance": float("nan")}, "range_tolerance must be a finite number >= 0"),
        ({"max_categories": 0}, "max_categories must be an integer >= 1, got 0"),
        ({"extra_columns": "ignore"}, "extra_columns 'ignore' is not accepted"),
        ({"name": ""}, "name must be a non-empty string or null"),
    ],
)
def test_bad_options_are_refused(
    frame: pd.DataFrame, options: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        infer_contract(frame, **options)  # type: ignore[arg-type]


def test_object_columns_of_one_python_type_are_read_like_typed_ones() -> None:
    plus_two = timezone(timedelta(hours=2))
    frame = pd.DataFrame(
        {
            "at": pd.Series([datetime(2024, 1, 2, 1, tzinfo=plus_two), None], dtype=object),
            "day": pd.Series([date(2024, 1, 3), date(2024, 1, 2)], dtype=object),
            "n": pd.Series([1, 2.5], dtype=object),
        }
    )
    contract = infer_contract(frame)
    assert contract.column("at").minimum == datetime(2024, 1, 1, 23, tzinfo=UTC)
    assert contract.column("day").minimum == datetime(2024, 1, 2, tzinfo=UTC)
    assert (contract.column("n").logical_type, contract.column("n").maximum) == ("float", 2.5)


def test_integers_beyond_float_precision_keep_exact_bounds_and_validate() -> None:
    frame = pd.DataFrame(
        {
            "x": np.array([2**62 + 1, 3, -(2**63)], dtype=np.int64),
            "u": np.array([2**64 - 1, 0, 5], dtype=np.uint64),
        }
    )
    contract = infer_contract(frame)
    assert (contract.column("x").minimum, contract.column("x").maximum) == (-(2**63), 2**62 + 1)
    assert contract.column("u").maximum == 2**64 - 1
    assert validate(frame, contract).is_valid
