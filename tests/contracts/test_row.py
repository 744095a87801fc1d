"""The single-row validator used on the serving path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.contracts import Contract, RowValidator, Violation, compile_row_validator
from steward.errors import InvalidInput


@pytest.fixture
def validator(contract: Contract) -> RowValidator:
    return compile_row_validator(contract)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {str(key): value for key, value in row.items()} for row in frame.to_dict(orient="records")
    ]


def test_every_training_row_is_valid(frame: pd.DataFrame, validator: RowValidator) -> None:
    assert all(validator.validate(row) == [] for row in _records(frame))


def test_a_json_like_row_is_valid(validator: RowValidator) -> None:
    row = {
        "age": 40,
        "monthly_spend": None,
        "plan": "pro",
        "is_active": True,
        "signup_at": "2024-02-01T09:30:00Z",
        "notes": "called twice",
    }
    assert validator.validate(row) == []


def test_numpy_scalars_are_accepted(frame: pd.DataFrame, validator: RowValidator) -> None:
    row = {str(key): value for key, value in frame.iloc[0].items()}
    assert isinstance(row["age"], np.integer)
    assert validator.validate(row) == []


def test_violations_come_in_contract_column_order(
    frame: pd.DataFrame, validator: RowValidator
) -> None:
    row = _records(frame)[0] | {"age": "forty", "plan": "gold", "is_active": None}
    del row["notes"]
    assert [(v.column, v.kind) for v in validator.validate(row, index=7)] == [
        ("age", "wrong_type"),
        ("plan", "unseen_category"),
        ("is_active", "null"),
        ("notes", "missing_column"),
    ]
    assert validator.validate(row, index=7)[0] == Violation(
        7, "age", "wrong_type", "forty", "an integer"
    )


def test_check_raises_like_reject_mode(frame: pd.DataFrame, validator: RowValidator) -> None:
    row = _records(frame)[0] | {"age": "forty", "plan": "gold"}
    with pytest.raises(InvalidInput) as caught:
        validator.check(row, index=17)
    assert caught.value.message == (
        "column 'age' expects an integer, got 'forty' in row 17 (contract churn v3); "
        "2 violations in this row"
    )
    assert caught.value.field == "age"
    assert [detail["kind"] for detail in caught.value.details] == ["wrong_type", "unseen_category"]


def test_check_passes_a_valid_row_silently(frame: pd.DataFrame, validator: RowValidator) -> None:
    validator.check(_records(frame)[0])


def test_extra_keys_follow_the_policy(frame: pd.DataFrame, contract: Contract) -> None:
    row = _records(frame)[0] | {"score": 0.3}
    assert compile_row_validator(contract).validate(row) == []
    rejecting = compile_row_validator(contract.with_changes(extra_columns="reject"))
    assert rejecting.validate(row) == [
        Violation(
            0, "score", "extra_column", 0.3, "no such column (the contract rejects extra columns)"
        )
    ]


def test_a_column_that_is_not_required_may_be_absent(
    frame: pd.DataFrame, contract: Contract
) -> None:
    optional = contract.with_changes(required_columns=("age",))
    assert compile_row_validator(optional).validate({"age": 30}) == []


def test_out_of_range_names_the_widened_bounds(contract: Contract, validator: RowValidator) -> None:
    low, high = contract.column("age").bounds()
    row = {
        "age": 1000,
        "monthly_spend": 50.0,
        "plan": "pro",
        "is_active": True,
        "signup_at": "2024-01-01",
        "notes": "",
    }
    with pytest.raises(
        InvalidInput, match=rf"expects a value in \[{low:.6g}, {high:.6g}\], got 1000 in row 0"
    ):
        validator.check(row)


def test_a_row_that_is_not_a_mapping_is_refused(validator: RowValidator) -> None:
    with pytest.raises(
        InvalidInput, match="a row must be a mapping of column names to values, got list"
    ):
        validator.validate([40, "pro"], index=2)  # type: ignore[arg-type]


def test_compiling_something_that_is_not_a_contract_is_refused() -> None:
    with pytest.raises(InvalidInput, match="contract must be a steward Contract, got dict"):
        compile_row_validator({"columns": []})  # type: ignore[arg-type]
