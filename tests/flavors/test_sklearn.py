from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tests.flavors.conftest import RoundTrip


def test_logistic_regression_round_trip(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    model = LogisticRegression(max_iter=500).fit(features, labels)

    saved, loaded = roundtrip(model)

    assert saved.flavor == "sklearn"
    assert json.loads(json.dumps(saved.metadata)) == saved.metadata
    assert saved.metadata["feature_names"] == ["age", "income", "tenure"]
    assert "scikit-learn" in saved.metadata["libraries"]
    assert isinstance(loaded.native, LogisticRegression)
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    np.testing.assert_array_equal(loaded.predict_proba(features), model.predict_proba(features))


def test_pipeline_with_column_transformer_round_trip(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    frame = features.assign(plan=np.where(features["age"] > 40, "gold", "basic"))
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["age", "income", "tenure"]), ("cat", OneHotEncoder(), ["plan"])]
    )
    model = Pipeline([("prep", columns), ("clf", LogisticRegression(max_iter=500))]).fit(
        frame, labels
    )

    saved, loaded = roundtrip(model)

    assert saved.flavor == "sklearn"
    assert saved.metadata["feature_names"] == ["age", "income", "tenure", "plan"]
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_model_trained_on_arrays_predicts_arrays(
    roundtrip: RoundTrip, features: pd.DataFrame, target: pd.Series[float]
) -> None:
    array = features.to_numpy()
    model = LinearRegression().fit(array, target.to_numpy())

    saved, loaded = roundtrip(model)

    assert saved.metadata["feature_names"] is None
    np.testing.assert_array_equal(loaded.predict(array), model.predict(array))
    assert loaded.predict(array).shape == (len(array),)
