"""Property tests over random frames and rows (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from steward.contracts import Contract, compile_row_validator, infer_contract, validate
from steward.contracts.checks import MISSING_RATE_ALPHA, missing_rate_exceeded

from .samples import LIBRARIES, as_library, height

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Letters only: words like "yes", "no", "null" and "on" still come up, which YAML must quote.
WORDS = st.text(alphabet="abcdeilnostuy", min_size=0, max_size=4)
MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
KINDS = ("integer", "float", "boolean", "text", "datetime")


def _values(kind: str, rows: int, with_gaps: bool) -> st.SearchStrategy[list[object]]:
    element: st.SearchStrategy[object] = {
        "integer": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(allow_nan=False, width=64),
        "boolean": st.booleans(),
        "text": WORDS,
        "datetime": MOMENTS,
    }[kind]
    if with_gaps:
        element = st.none() | element
    return st.lists(element, min_size=rows, max_size=rows)


_DTYPES = {"integer": "Int64", "float": "float64", "boolean": "boolean", "text": "str"}


@st.composite
def frames(draw: st.DrawFn, min_rows: int = 1) -> pd.DataFrame:
    rows = draw(st.integers(min_rows, 20))
    data: dict[str, Any] = {}  # columns of several dtypes
    for index in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(KINDS))
        values = draw(_values(kind, rows, with_gaps=draw(st.booleans())))
        if kind == "datetime":
            data[f"{kind}{index}"] = pd.to_datetime(pd.Series(values, dtype=object))
        else:
            data[f"{kind}{index}"] = pd.Series(values, dtype=_DTYPES[kind])
    return pd.DataFrame(data)


@pytest.mark.parametrize("library", LIBRARIES)
@PROPERTY_SETTINGS
@given(
    frame=frames(),
    range_tolerance=st.sampled_from([0.0, 0.1, 2.5]),
    max_categories=st.integers(1, 6),
)
def test_a_frame_always_satisfies_the_contract_inferred_from_it(
    library: str, frame: pd.DataFrame, range_tolerance: float, max_categories: int
) -> None:
    data = as_library(frame, library)
    contract = infer_contract(data, range_tolerance=range_tolerance, max_categories=max_categories)
    result = validate(data, contract, max_examples=5)
    assert result.is_valid, result.report.examples
    assert height(result.valid) == len(frame)


@PROPERTY_SETTINGS
@given(frame=frames())
def test_contracts_survive_json_and_yaml(frame: pd.DataFrame) -> None:
    contract = infer_contract(frame, name="random")
    assert Contract.from_json(contract.to_json()) == contract
    assert Contract.from_yaml(contract.to_yaml()) == contract
    assert Contract.from_yaml(contract.to_yaml()).fingerprint == contract.fingerprint


@pytest.mark.parametrize("library", LIBRARIES)
@PROPERTY_SETTINGS
@given(frame=frames(min_rows=2), data=st.data())
def test_drop_mode_splits_every_row_exactly_once(
    library: str, frame: pd.DataFrame, data: st.DataObject
) -> None:
    # A contract learnt on some rows, applied to all: unseen values and ranges do occur.
    learnt_on = data.draw(st.integers(1, len(frame) - 1))
    contract = infer_contract(frame.head(learnt_on), range_tolerance=0.0)
    result = validate(as_library(frame, library), contract, mode="drop")
    assert height(result.valid) + height(result.quarantined) == len(frame)
    assert height(result.quarantined) == result.report.invalid_rows
    assert validate(result.valid, contract, mode="drop").report.invalid_rows == 0


SERVED_VALUES = st.one_of(
    st.none(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.booleans(),
    WORDS,
    MOMENTS,
    MOMENTS.map(lambda moment: moment.replace(tzinfo=UTC).isoformat()),
)


@PROPERTY_SETTINGS
@given(training=frames(), data=st.data())
def test_a_row_and_a_one_row_frame_agree(training: pd.DataFrame, data: st.DataObject) -> None:
    contract = infer_contract(training, range_tolerance=0.0)
    columns = list(training.columns)
    rows = data.draw(
        st.lists(
            st.fixed_dictionaries(dict.fromkeys(columns, SERVED_VALUES)), min_size=1, max_size=8
        )
    )
    validator = compile_row_validator(contract)
    by_row = {
        (violation.row, violation.column, violation.kind)
        for index, row in enumerate(rows)
        for violation in validator.validate(row, index=index)
    }
    # Object columns keep each value as served; pandas' constructor would coerce some of them.
    frame = pd.DataFrame(
        {name: pd.Series([row[name] for row in rows], dtype=object) for name in columns}
    )
    report = validate(frame, contract, mode="drop", max_examples=10_000).report
    by_frame = {(v.row, v.column, v.kind) for v in report.examples if v.kind != "missing_rate"}
    assert by_frame == by_row


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(1, 2000),
    share=st.floats(0.0, 1.0),
    max_rate=st.floats(0.001, 0.999),
)
def test_the_missing_rate_test_matches_scipy_binomial_tail(
    total: int, share: float, max_rate: float
) -> None:
    missing = round(total * share)
    expected = (
        missing > max_rate * total and binom.sf(missing - 1, total, max_rate) < MISSING_RATE_ALPHA
    )
    assert missing_rate_exceeded(missing, total, max_rate) == expected


def test_the_missing_rate_test_on_hand_computed_cases() -> None:
    # P(X >= 1 | n=1, p=0.05) = 0.05: one null in one row is no evidence.
    assert not missing_rate_exceeded(1, 1, 0.05)
    # P(X >= 3 | n=3, p=0.05) = 0.05**3 = 1.25e-4 < 0.001.
    assert missing_rate_exceeded(3, 3, 0.05)
    assert missing_rate_exceeded(1, 10, 0.0)
    assert not missing_rate_exceeded(10, 10, 1.0)
    assert not missing_rate_exceeded(0, 0, 0.1)
