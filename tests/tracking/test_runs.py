"""The run lifecycle: start, read back, end; ids, names and provenance documents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from steward import tracking
from steward.errors import Conflict, InvalidInput, NotFound
from steward.store import Store


def test_start_records_everything_in_one_go(store: Store, experiment: tracking.Experiment) -> None:
    run = tracking.start_run(
        store,
        experiment.id,
        name="baseline",
        params={"C": 1.0, "penalty": "l2"},
        tags={"stage": "dev"},
        user="ada",
        code_version={"git_commit": "abc", "is_dirty": False},
        environment={"python": "3.11"},
    )
    assert run.status == tracking.RUNNING
    assert run.is_active
    assert run.end_time is None
    assert run.start_time.tzinfo is UTC
    assert run.params == {"C": "1.0", "penalty": "l2"}
    assert tracking.get_run(store, run.id) == run


def test_end_run_finishes_it_once(store: Store, run: tracking.Run) -> None:
    ended = tracking.end_run(store, run.id)
    assert ended.status == tracking.FINISHED
    assert isinstance(ended.end_time, datetime)
    assert ended.end_time > ended.start_time
    assert ended.params == {"C": "1.0"}
    with pytest.raises(Conflict, match=f"run {run.id} is FINISHED; start a new run"):
        tracking.end_run(store, run.id, "FAILED")
    assert tracking.get_run(store, run.id) == ended


@pytest.mark.parametrize("status", ["FAILED", "KILLED"])
def test_runs_end_failed_or_killed(store: Store, run: tracking.Run, status: str) -> None:
    assert tracking.end_run(store, run.id, status).status == status


def test_an_end_status_must_be_an_end_status(store: Store, run: tracking.Run) -> None:
    with pytest.raises(InvalidInput, match="status 'RUNNING' cannot end a run") as caught:
        tracking.end_run(store, run.id, "RUNNING")
    assert caught.value.field == "status"
    assert tracking.get_run(store, run.id).status == tracking.RUNNING


def test_a_name_is_made_when_none_is_given(store: Store, experiment: tracking.Experiment) -> None:
    run = tracking.start_run(store, experiment.id)
    assert run.name.count("-") == 2
    assert run.user == "unknown"


def test_a_caller_may_choose_the_run_id_once(
    store: Store, experiment: tracking.Experiment, snapshot: Callable[[], object]
) -> None:
    run = tracking.start_run(store, experiment.id, run_id="nightly-2024-05-01")
    assert run.id == "nightly-2024-05-01"
    before = snapshot()
    with pytest.raises(Conflict, match="already exists"):
        tracking.start_run(store, experiment.id, run_id=run.id, params={"C": 2})
    assert snapshot() == before


def test_unknown_experiment_or_run_is_not_found(
    store: Store, experiment: tracking.Experiment
) -> None:
    with pytest.raises(NotFound, match="no experiment 'nope'"):
        tracking.start_run(store, "nope")
    with pytest.raises(NotFound, match=r"no run 'missing'.*steward runs list"):
        tracking.get_run(store, "missing")
    with pytest.raises(NotFound, match="no run 'missing'"):
        tracking.end_run(store, "missing")


BAD_STARTS = [
    ({"name": "bad|name"}, "name"),
    ({"run_id": "has space"}, "run_id"),
    ({"params": {"": 1}}, "params."),
    ({"params": ["C"]}, "params"),
    ({"tags": {"k": "v" * 8001}}, "tags.k"),
    ({"code_version": {"x": float("nan")}}, "code_version"),
    ({"user": "u" * 251}, "user"),
]


def test_bad_start_input_is_refused_and_nothing_is_written(
    store: Store, experiment: tracking.Experiment, snapshot: Callable[[], object]
) -> None:
    before = snapshot()
    for fields, field in BAD_STARTS:
        with pytest.raises(InvalidInput) as caught:
            tracking.start_run(store, experiment.id, **fields)  # type: ignore[arg-type]
        assert caught.value.field == field, fields
    assert snapshot() == before
