"""Validating frames: every violation kind, every mode, every frame library."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from steward.contracts import Contract, Violation, infer_contract, validate
from steward.errors import InvalidInput

from .samples import as_library, height, to_pandas

MODES = ("reject", "warn", "drop")


def test_a_clean_frame_is_valid_in_every_mode(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    data = as_library(frame, library)
    for mode in MODES:
        result = validate(data, contract, mode=mode)  # type: ignore[arg-type]
        assert result.is_valid
        assert result.report.to_dict()["counts"] == {}
        assert type(result.valid) is type(data)
        assert type(result.quarantined) is type(data)
        assert (height(result.valid), height(result.quarantined)) == (len(frame), 0)


def _broken(frame: pd.DataFrame) -> pd.DataFrame:
    broken = frame.copy()
    broken["age"] = broken["age"].astype("float64")
    broken.loc[3, "age"] = 200.0
    broken.loc[4, "plan"] = "gold"
    broken.loc[5, "age"] = np.nan
    return broken


def test_broken_cells_are_counted_and_listed_in_row_order(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    report = validate(as_library(_broken(frame), library), contract, mode="drop").report
    assert report.counts == {"age": {"null": 1, "out_of_range": 1}, "plan": {"unseen_category": 1}}
    assert (report.total_rows, report.invalid_rows) == (len(frame), 3)
    assert [(v.row, v.column, v.kind, v.value) for v in report.examples] == [
        (3, "age", "out_of_range", 200.0),
        (4, "plan", "unseen_category", "gold"),
        (5, "age", "null", None),
    ]
    low, high = contract.column("age").bounds()
    assert report.examples[0].expected == f"a value in [{low:.6g}, {high:.6g}]"
    assert report.examples[1].expected == "one of 'basic', 'pro', 'team'"
    assert report.examples[2].expected == "a value (the column is not nullable)"


def test_drop_mode_splits_valid_and_quarantined_rows(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    result = validate(as_library(_broken(frame), library), contract, mode="drop")
    assert not result.is_valid
    assert (height(result.valid), height(result.quarantined)) == (len(frame) - 3, 3)
    assert to_pandas(result.quarantined)["plan"].tolist()[1] == "gold"
    assert type(result.valid) is type(as_library(frame, library))


def test_drop_mode_keeps_the_pandas_index_of_each_row(
    frame: pd.DataFrame, contract: Contract
) -> None:
    result = validate(_broken(frame), contract, mode="drop")
    assert result.quarantined.index.tolist() == [3, 4, 5]
    assert 3 not in result.valid.index


def test_warn_mode_logs_and_returns_every_row(
    frame: pd.DataFrame, contract: Contract, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="steward.contracts"):
        result = validate(_broken(frame), contract, mode="warn")
    assert not result.is_valid
    assert (len(result.valid), len(result.quarantined)) == (len(frame), 0)
    assert "contract violations contract='contract churn v3' invalid_rows=3" in caplog.text


def test_reject_names_row_column_value_expectation_and_contract(
    frame: pd.DataFrame, contract: Contract
) -> None:
    broken = frame.astype({"age": object})
    broken.loc[17, "age"] = "forty"
    with pytest.raises(InvalidInput) as caught:
        validate(broken, contract)
    error = caught.value
    assert error.message == (
        "column 'age' expects an integer, got 'forty' in row 17 (contract churn v3); "
        f"1 of {len(frame)} rows invalid (age: wrong_type 1)"
    )
    assert error.field == "age"
    assert error.details == [
        {
            "row": 17,
            "column": "age",
            "kind": "wrong_type",
            "value": "forty",
            "expected": "an integer",
        }
    ]
    assert error.to_dict()["error"]["type"] == "invalid_input"


def test_reject_reports_the_first_violation_by_row(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    with pytest.raises(
        InvalidInput,
        match=r"^column 'age' expects a value in \[.*\], got 200.0 in row 3 "
        r"\(contract churn v3\); 3 of 200 rows invalid",
    ):
        validate(as_library(_broken(frame), library), contract)


def test_a_whole_column_of_the_wrong_type_fails_every_row(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    broken = frame.assign(is_active=np.where(frame["is_active"], "yes", "no"))
    result = validate(as_library(broken, library), contract, mode="drop")
    assert result.report.counts == {"is_active": {"wrong_type": len(frame)}}
    assert result.report.examples[0] == Violation(0, "is_active", "wrong_type", "yes", "a boolean")
    assert height(result.valid) == 0


def test_a_missing_required_column_fails_every_row(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    result = validate(as_library(frame.drop(columns="plan"), library), contract, mode="drop")
    assert result.report.counts == {"plan": {"missing_column": len(frame)}}
    assert result.report.examples[0] == Violation(
        None, "plan", "missing_column", None, "the column (it is required)"
    )
    assert (height(result.valid), height(result.quarantined)) == (0, len(frame))
    with pytest.raises(
        InvalidInput, match=r"^column 'plan' is required but missing \(contract churn v3\)"
    ):
        validate(as_library(frame.drop(columns="plan"), library), contract)


def test_a_column_that_is_not_required_may_be_absent(
    frame: pd.DataFrame, contract: Contract
) -> None:
    optional = contract.with_changes(required_columns=("age", "monthly_spend", "plan"))
    assert validate(frame[["age", "monthly_spend", "plan"]], optional).is_valid


def test_extra_columns_follow_the_policy(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    data = as_library(frame.assign(score=1.0), library)
    allowed = validate(data, contract)
    assert allowed.is_valid
    assert "score" in to_pandas(allowed.valid).columns
    assert allowed.report.extra_columns == ("score",)
    dropped = validate(data, contract.with_changes(extra_columns="drop"))
    assert dropped.is_valid
    assert "score" not in to_pandas(dropped.valid).columns
    rejecting = contract.with_changes(extra_columns="reject")
    result = validate(data, rejecting, mode="drop")
    assert result.report.counts == {"score": {"extra_column": len(frame)}}
    with pytest.raises(
        InvalidInput, match="column 'score' is not in the contract, which rejects extra columns"
    ):
        validate(data, rejecting)


def test_a_missing_rate_above_expectation_fails_the_frame_not_the_rows(
    frame: pd.DataFrame, contract: Contract
) -> None:
    gappy = frame.copy()
    gappy.loc[gappy.index[:80], "monthly_spend"] = np.nan  # 86 of 200 with the 5% already there
    result = validate(gappy, contract, mode="drop")
    assert result.report.counts == {"monthly_spend": {"missing_rate": 86}}
    assert not result.is_valid
    assert (result.report.invalid_rows, len(result.valid)) == (0, len(frame))
    with pytest.raises(
        InvalidInput, match=r"expects at most 10.0% missing values, got 43.0% \(contract churn v3\)"
    ):
        validate(gappy, contract)


def test_a_few_gaps_in_a_small_batch_are_not_a_missing_rate_breach(
    frame: pd.DataFrame, contract: Contract
) -> None:
    batch = frame.head(3).copy()
    batch.loc[0, "monthly_spend"] = np.nan  # 33% of 3 rows is no evidence against 10%
    assert validate(batch, contract).is_valid


def test_max_examples_limits_the_list_not_the_counts(
    frame: pd.DataFrame, contract: Contract
) -> None:
    broken = frame.copy()
    broken.loc[::4, "plan"] = "gold"
    report = validate(broken, contract, mode="drop", max_examples=3).report
    assert [violation.row for violation in report.examples] == [0, 4, 8]
    assert report.counts["plan"]["unseen_category"] == 50
    assert validate(broken, contract, mode="drop", max_examples=0).report.examples == ()
    with pytest.raises(InvalidInput, match="got 'gold' in row 0") as caught:
        validate(broken, contract, max_examples=0)
    assert caught.value.details == []


def test_an_empty_frame_with_the_right_columns_is_valid(
    frame: pd.DataFrame, contract: Contract, library: str
) -> None:
    result = validate(as_library(frame.head(0), library), contract)
    assert result.is_valid
    assert result.report.total_rows == 0


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"mode": "strict"}, "validation mode 'strict' is not known; accepted: reject, warn, drop"),
        ({"max_examples": -1}, "max_examples must be an integer >= 0, got -1"),
    ],
)
def test_bad_options_are_refused(
    frame: pd.DataFrame, contract: Contract, options: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        validate(frame, contract, **options)  # type: ignore[arg-type]


def test_something_that_is_not_a_contract_is_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="contract must be a steward Contract, got dict"):
        validate(frame, {"columns": []})  # type: ignore[arg-type]


def test_report_to_dict_is_json_ready(frame: pd.DataFrame, contract: Contract) -> None:
    report = validate(_broken(frame), contract, mode="drop").report.to_dict()
    assert report["is_valid"] is False
    assert report["examples"][0] == {
        "row": 3,
        "column": "age",
        "kind": "out_of_range",
        "value": 200.0,
        "expected": report["examples"][0]["expected"],
    }


def test_the_contract_inferred_from_a_frame_accepts_it(frame: pd.DataFrame, library: str) -> None:
    data = as_library(frame, library)
    assert validate(data, infer_contract(data)).is_valid
