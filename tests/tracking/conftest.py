"""Tracking fixtures: the store with a clock that ticks, an experiment, a run, an in-process app."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from steward import tracking
from steward.store import Store
from steward.store.tables import metadata

START_MS = 1_700_000_000_000
TRACKING_TABLES = (
    "experiments",
    "runs",
    "run_tags",
    "params",
    "metrics",
    "latest_metrics",
    "run_artifacts",
    "datasets",
    "run_inputs",
)


@pytest.fixture
def store(store: Store) -> Store:
    """The backend's store with a clock that moves one second per reading, so order is known."""
    ticks = itertools.count(START_MS, 1000)
    return Store(db=store.db, artifacts=store.artifacts, clock=lambda: next(ticks))


@pytest.fixture
def experiment(store: Store) -> tracking.Experiment:
    return tracking.create_experiment(store, "churn", tags={"team": "retention"})


@pytest.fixture
def run(store: Store, experiment: tracking.Experiment) -> tracking.Run:
    return tracking.start_run(store, experiment.id, name="first", params={"C": 1.0}, user="ada")


@pytest.fixture
def snapshot(store: Store) -> Callable[[], dict[str, list[tuple[str, ...]]]]:
    """Every tracking table's rows, to prove that a refused call changed nothing."""

    def take() -> dict[str, list[tuple[str, ...]]]:
        with store.db.read() as conn:
            return {
                name: sorted(
                    tuple(map(str, row)) for row in conn.execute(sa.select(metadata.tables[name]))
                )
                for name in TRACKING_TABLES
            }

    return take


def error_of(response: Any) -> dict[str, Any]:
    """The `error` object of a JSON error response."""
    body: dict[str, Any] = response.json()["error"]
    return body
