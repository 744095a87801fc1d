"""Small generated data sets and a save -> load round trip through the public API."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from steward.flavors import LoadedModel, SavedModel, load_model, save_model

RoundTrip = Callable[[Any], tuple[SavedModel, LoadedModel]]


@pytest.fixture(scope="session")
def features() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 240).astype(float),
            "income": rng.normal(50.0, 15.0, 240),
            "tenure": rng.exponential(3.0, 240),
        }
    )


@pytest.fixture(scope="session")
def labels(features: pd.DataFrame) -> pd.Series[int]:
    score = features["income"] / 15 - features["age"] / 20 + features["tenure"] / 2
    return (score > score.median()).astype(int)


@pytest.fixture(scope="session")
def target(features: pd.DataFrame) -> pd.Series[float]:
    return 2.0 * features["income"] - features["age"] + features["tenure"]


@pytest.fixture
def roundtrip() -> RoundTrip:
    def run(model: Any) -> tuple[SavedModel, LoadedModel]:
        saved = save_model(model)
        digest = hashlib.sha256(saved.payload).hexdigest()
        return saved, load_model(
            saved.flavor, saved.payload, saved.metadata, expected_sha256=digest
        )

    return run
