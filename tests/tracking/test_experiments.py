"""Experiments: create, find by id or name, list, and create on demand under concurrency."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from steward import tracking
from steward.errors import Conflict, InvalidInput, NotFound
from steward.store import Store
from tests.tracking.conftest import START_MS


def test_create_and_get_by_id_or_name(store: Store) -> None:
    created = tracking.create_experiment(store, "churn", tags={"team": "retention"})
    assert created.name == "churn"
    assert created.tags == {"team": "retention"}
    assert created.created_at == datetime.fromtimestamp(START_MS / 1000, tz=UTC)
    assert tracking.get_experiment(store, created.id) == created
    assert tracking.get_experiment(store, "churn") == created


def test_duplicate_name_is_a_conflict(store: Store, snapshot: Callable[[], object]) -> None:
    tracking.create_experiment(store, "churn")
    before = snapshot()
    with pytest.raises(Conflict, match="experiment 'churn' already exists"):
        tracking.create_experiment(store, "churn")
    assert snapshot() == before


def test_unknown_experiment_suggests_the_closest_name(store: Store) -> None:
    tracking.create_experiment(store, "churn")
    with pytest.raises(NotFound) as caught:
        tracking.get_experiment(store, "chrun")
    assert "did you mean 'churn'?" in caught.value.message
    assert "steward experiments list" in caught.value.message


def test_bad_names_are_refused(store: Store) -> None:
    for name in ["", " padded", "a" * 251, "semi;colon", "new\nline", 7]:
        with pytest.raises(InvalidInput, match=r"experiment name .* is not valid") as caught:
            tracking.create_experiment(store, name)  # type: ignore[arg-type]
        assert caught.value.field == "name"
    assert tracking.list_experiments(store) == []


def test_list_is_oldest_first(store: Store) -> None:
    names = ["b", "a", "c"]
    for name in names:
        tracking.create_experiment(store, name)
    assert [e.name for e in tracking.list_experiments(store)] == names


def test_get_or_create_returns_the_one_experiment(store: Store) -> None:
    first = tracking.get_or_create_experiment(store, "churn")
    assert tracking.get_or_create_experiment(store, "churn") == first


def test_get_or_create_is_safe_when_callers_race(store: Store) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(lambda _: tracking.get_or_create_experiment(store, "race"), range(8)))
    assert len({experiment.id for experiment in found}) == 1
    assert [e.name for e in tracking.list_experiments(store)] == ["race"]
