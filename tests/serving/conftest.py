"""Real scikit-learn models registered in a real SQLite store, served by the real app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from steward import registry
from steward.contracts import infer_contract
from steward.predictions import PredictionLog
from steward.serving.app import ServingApp, create_serving_app
from steward.serving.cache import ServingCache
from steward.serving.sources import EndpointSource, ModelSource, SpecSource
from steward.store import Database, LocalArtifactStore, Store

FEATURES = ["age", "income", "tenure", "visits"]


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 300).astype(float),
            "income": rng.normal(50.0, 15.0, 300),
            "tenure": rng.exponential(3.0, 300),
            "visits": rng.integers(0, 30, 300).astype(float),
        }
    )


@pytest.fixture(scope="session")
def labels(frame: pd.DataFrame) -> pd.Series[int]:
    score = frame["income"] / 15 - frame["age"] / 20 + frame["tenure"] / 2
    return (score > score.median()).astype(int)


@pytest.fixture(scope="session")
def classifier(frame: pd.DataFrame, labels: pd.Series[int]) -> Any:
    return LogisticRegression().fit(frame, labels)


@pytest.fixture(scope="session")
def tree(frame: pd.DataFrame, labels: pd.Series[int]) -> Any:
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame, labels)


@pytest.fixture(scope="session")
def contract(frame: pd.DataFrame) -> dict[str, Any]:
    return infer_contract(frame, name="churn").to_dict()


def open_sqlite_store(home: Path) -> Store:
    database = Database(f"sqlite:///{home / 'steward.db'}")
    return Store(db=database, artifacts=LocalArtifactStore(home / "artifacts"))


def register(store: Store, model: Any, frame: pd.DataFrame, contract: dict[str, Any] | None) -> int:
    version = registry.register_model(
        store, "churn", model, sample_input=frame.head(5), contract=contract, actor="tester"
    )
    return version.version


@pytest.fixture
def sqlite_store(home: Path) -> Iterator[Store]:
    """SQLite only: serving tests are about the data plane, not the store's backends."""
    opened = open_sqlite_store(home)
    yield opened
    opened.close()


@pytest.fixture
def churn(
    sqlite_store: Store, classifier: Any, tree: Any, frame: pd.DataFrame, contract: dict[str, Any]
) -> Store:
    """Model 'churn': v1 logistic regression (@champion), v2 decision tree (@challenger)."""
    register(sqlite_store, classifier, frame, contract)
    register(sqlite_store, tree, frame, contract)
    registry.set_alias(sqlite_store, "churn", "champion", 1, actor="tester")
    registry.set_alias(sqlite_store, "churn", "challenger", 2, actor="tester")
    return sqlite_store


def row(frame: pd.DataFrame, index: int = 0) -> dict[str, float]:
    return {name: float(frame.iloc[index][name]) for name in FEATURES}


AppFactory = Callable[..., ServingApp]


@pytest.fixture
def make_app(home: Path) -> Iterator[AppFactory]:
    """Builds serving apps on sources of the test's store, with a cache and fast polling;
    closes every prediction log they were given."""
    logs: list[PredictionLog] = []

    def build(
        store: Store,
        *,
        uri: str | None = None,
        endpoint: str | None = None,
        prediction_log: PredictionLog | None = None,
        poll_interval_s: float = 0.1,
        preload: bool = True,
        **options: Any,
    ) -> ServingApp:
        source: SpecSource = (
            EndpointSource(lambda: store, endpoint)
            if endpoint is not None
            else ModelSource(lambda: store, uri or "models:/churn@champion")
        )
        if prediction_log is not None:
            logs.append(prediction_log)
        app = create_serving_app(
            source,
            cache=ServingCache(home / "serving-cache"),
            poll_interval_s=poll_interval_s,
            prediction_log=prediction_log,
            **options,
        )
        if preload and app.follower is not None:
            app.follower.load_initial()
        return app

    yield build
    for opened in logs:
        opened.close()
