"""A model with two registered versions, v1 the champion behind endpoint churn-prod."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from steward import registry
from steward.config import Settings
from steward.store import Store


@dataclass
class World:
    settings: Settings
    store: Store
    url: str
    home: Path


@pytest.fixture
def world(store: Store, settings: Settings, database_url: str, home: Path) -> World:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] > 0).astype(int)
    for c in (1.0, 0.5):
        registry.register_model(
            store, "churn", LogisticRegression(C=c).fit(x, y), sample_input=x[:5], actor="tester"
        )
    registry.set_alias(store, "churn", "champion", 1, actor="tester")
    registry.create_endpoint(
        store, "churn-prod", environment="production", model_name="churn", alias="champion",
        actor="tester",
    )  # fmt: skip
    return World(settings, store, database_url, home)
