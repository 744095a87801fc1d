"""Real scikit-learn models on small generated data, uploaded blobs, and an in-process app."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from steward import flavors
from steward.store import Store, tables


@pytest.fixture(scope="session")
def features() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 200).astype(float),
            "income": rng.normal(50.0, 15.0, 200),
            "plan": rng.integers(0, 3, 200),
        }
    )


@pytest.fixture(scope="session")
def labels(features: pd.DataFrame) -> pd.Series[int]:
    score = features["income"] / 15 - features["age"] / 20 + features["plan"]
    return (score > score.median()).astype(int)


@pytest.fixture(scope="session")
def pipeline(features: pd.DataFrame, labels: pd.Series[int]) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(features, labels)


@pytest.fixture(scope="session")
def tree(features: pd.DataFrame, labels: pd.Series[int]) -> Any:
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, labels)


@pytest.fixture
def saved(pipeline: Any) -> flavors.SavedModel:
    return flavors.save_model(pipeline)


@pytest.fixture
def digest(store: Store, saved: flavors.SavedModel) -> str:
    """The pipeline's blob, uploaded to the test's artifact store."""
    return store.artifacts.put_bytes(saved.payload)


@pytest.fixture
def version_fields(saved: flavors.SavedModel, digest: str) -> dict[str, Any]:
    """What `create_version` needs for the uploaded pipeline."""
    return {
        "artifact_digest": digest,
        "flavor": saved.flavor,
        "flavor_metadata": saved.metadata,
        "input_schema": [{"name": "age", "type": "float", "dtype": "float64"}],
        "output_schema": [{"name": "prediction", "type": "integer", "dtype": "int64"}],
    }


@pytest.fixture
def state(store: Store) -> Any:
    """A callable snapshot of every registry table and the audit log, to prove nothing changed."""
    names = ["registered_models", "model_versions", "model_aliases", "deployments", "audit_events"]

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with store.db.read() as conn:
            return {
                name: sorted(
                    (
                        tuple(map(str, row))
                        for row in conn.execute(sa.select(tables.metadata.tables[name]))
                    ),
                )
                for name in names
            }

    return snapshot
