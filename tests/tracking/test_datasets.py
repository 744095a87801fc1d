"""Dataset fingerprints (the same data gives the same digest in any library) and run inputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from steward import tracking
from steward.errors import InvalidInput
from steward.store import Store

FRAME = pd.DataFrame(
    {
        "age": [31, 45, 27],
        "income": [52.5, np.nan, 61.0],
        "plan": pd.Categorical(["basic", "pro", "basic"]),
        "city": ["Oslo", None, "Lima"],
        "churned": [False, True, False],
    }
)


def _table() -> pa.Table:
    return pa.table(
        {
            "age": pa.array([31, 45, 27], pa.int64()),
            "income": [52.5, None, 61.0],
            "plan": ["basic", "pro", "basic"],
            "city": pa.array(["Oslo", None, "Lima"], pa.large_string()),
            "churned": [False, True, False],
        }
    )


def test_the_same_data_has_the_same_fingerprint_in_every_library() -> None:
    expected = tracking.fingerprint_frame(FRAME)
    bigger = pa.concat_tables([_table().slice(0, 1), _table().slice(0, 1), _table().slice(1)])
    same = [
        _table(),
        _table().to_batches()[0],
        pl.from_pandas(FRAME),
        FRAME.set_index("age", drop=False),  # the index is not data
        bigger.slice(1),  # chunked and sliced
    ]
    assert [tracking.fingerprint_frame(frame) for frame in same] == [expected] * len(same)
    assert (expected.num_rows, expected.num_columns) == (3, 5)
    assert expected.schema == [
        {"name": "age", "type": "int64"},
        {"name": "income", "type": "double"},
        {"name": "plan", "type": "string"},
        {"name": "city", "type": "string"},
        {"name": "churned", "type": "bool"},
    ]


def test_different_data_has_a_different_fingerprint() -> None:
    changes = [
        FRAME.assign(age=[31, 45, 28]),
        FRAME.rename(columns={"age": "years"}),
        FRAME.iloc[::-1],
        FRAME[list(reversed(FRAME.columns))],
        FRAME.assign(income=[52.5, 0.0, 61.0]),  # missing is not zero
        FRAME.assign(age=FRAME["age"].astype("float64")),
        FRAME.iloc[:2],
    ]
    digests = {tracking.fingerprint_frame(frame).digest for frame in [FRAME, *changes]}
    assert len(digests) == len(changes) + 1


def test_numpy_arrays_are_fingerprinted_by_column() -> None:
    info = tracking.fingerprint_frame(np.arange(6).reshape(3, 2))
    assert [c["name"] for c in info.schema] == ["0", "1"]
    same = pd.DataFrame({"0": [0, 2, 4], "1": [1, 3, 5]})
    assert tracking.fingerprint_frame(same) == info


def test_unsupported_objects_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"cannot fingerprint a builtins\.list"):
        tracking.fingerprint_frame([[1, 2]])
    with pytest.raises(InvalidInput, match="cannot be fingerprinted"):
        tracking.fingerprint_frame(pd.DataFrame({"mixed": [1, "a", 2.5]}))


def test_log_dataset_registers_once_and_links_the_run(
    store: Store, experiment: tracking.Experiment
) -> None:
    first = tracking.start_run(store, experiment.id)
    second = tracking.start_run(store, experiment.id)
    train = tracking.log_dataset(store, first.id, FRAME, name="churn-train")
    again = tracking.log_dataset(store, second.id, _table(), name="churn-train", context="eval")
    assert again.id == train.id
    assert (train.num_rows, train.num_columns, train.contract) == (3, 5, None)
    inputs = tracking.get_run(store, second.id).inputs
    assert inputs == [tracking.RunInput(train.id, "churn-train", train.digest, "eval")]
    other = tracking.log_dataset(store, first.id, FRAME.iloc[:2], name="churn-train")
    assert other.id != train.id
    assert len(tracking.get_run(store, first.id).inputs) == 2


def test_a_contract_and_profile_fill_in_what_is_missing(store: Store, run: tracking.Run) -> None:
    info = tracking.fingerprint_frame(FRAME)
    tracking.log_dataset(store, run.id, info, name="d")
    filled = tracking.log_dataset(store, run.id, info, name="d", contract={"columns": []})
    assert filled.contract == {"columns": []}
    kept = tracking.log_dataset(store, run.id, info, name="d", contract={"columns": [1]})
    assert kept.contract == {"columns": []}
    assert tracking.get_dataset(store, kept.id) == kept


def test_bad_dataset_input_is_refused(
    store: Store, run: tracking.Run, snapshot: Callable[[], object]
) -> None:
    info = tracking.fingerprint_frame(FRAME)
    before = snapshot()
    bad_calls: list[tuple[Callable[[], object], str]] = [
        (
            lambda: tracking.log_dataset(store, run.id, info, name="d", profile={"m": np.nan}),
            "profile",
        ),
        (lambda: tracking.log_dataset(store, run.id, info, name="bad|name"), "name"),
        (lambda: tracking.log_dataset(store, run.id, info, name="d", context="c" * 65), "context"),
        (
            lambda: tracking.log_dataset(
                store, run.id, tracking.DatasetInfo("abc", 1, 1, []), name="d"
            ),
            "digest",
        ),
        (
            lambda: tracking.log_dataset(
                store, run.id, tracking.DatasetInfo(info.digest, -1, 1, []), name="d"
            ),
            "num_rows",
        ),
    ]
    for call, field in bad_calls:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == field
    assert snapshot() == before
