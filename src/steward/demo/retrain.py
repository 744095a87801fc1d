"""The demo's retraining pipeline and its deliberately bad model.

`pipeline` is what the closed loop runs when drift triggers a retrain: it loads fresh rows
that look like today's traffic (new customers with short tenure) and fits the same model
shape as the champion on them. `FlakyChurnModel` is a challenger that fails on one row in
twenty: the rollout gates must catch it before clients do.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SklearnPipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steward.demo.data import FEATURES, NUMERIC, make_churn_frame
from steward.pipelines import Pipeline, TrainedModel, step

__all__ = ["DRIFT_FACTOR", "FlakyChurnModel", "build_model", "drifted", "pipeline"]

DRIFTED_FEATURE = "tenure_months"
DRIFT_FACTOR = 0.4  # today's customers: tenure at 40% of what the model was trained on


def build_model(c: float = 1.0) -> SklearnPipeline:
    """Scaled numeric features, one-hot region, logistic regression."""
    encode = ColumnTransformer(
        [
            ("scale", StandardScaler(), NUMERIC),
            ("onehot", OneHotEncoder(handle_unknown="ignore"), ["region"]),
        ]
    )
    return SklearnPipeline([("features", encode), ("model", LogisticRegression(C=c, max_iter=500))])


def drifted(frame: pd.DataFrame) -> pd.DataFrame:
    """The same customers as the new traffic shows them: tenure shrunk by `DRIFT_FACTOR`."""
    shifted = frame.copy()
    shifted[DRIFTED_FEATURE] = (shifted[DRIFTED_FEATURE] * DRIFT_FACTOR).round(1)
    return shifted


@step
def load(rows: int = 4000, seed: int = 300) -> pd.DataFrame:
    """Fresh labelled rows like today's traffic (the data warehouse's latest snapshot)."""
    return drifted(make_churn_frame(rows, seed=seed))


@step
def train(load: pd.DataFrame, C: float = 1.0) -> TrainedModel:
    model = build_model(C).fit(load[FEATURES], load["churned"])
    accuracy = float(model.score(load[FEATURES], load["churned"]))
    return TrainedModel(model, training_data=load[FEATURES], metrics={"train_accuracy": accuracy})


pipeline = Pipeline("churn", [load, train])


class FlakyChurnModel:
    """Answers like the model it wraps, but raises on about 5% of rows (those whose
    `usage_hours`, in tenths, is a multiple of 20): a challenger with a latent bug."""

    def __init__(self, inner: Any) -> None:  # Any: a fitted scikit-learn pipeline
        self.inner = inner
        self.classes_ = inner.classes_
        self.feature_names_in_ = inner.feature_names_in_

    def predict(self, frame: pd.DataFrame) -> Any:  # Any: the inner model's answer
        self._check(frame)
        return self.inner.predict(frame)

    def predict_proba(self, frame: pd.DataFrame) -> Any:  # Any: the inner model's answer
        self._check(frame)
        return self.inner.predict_proba(frame)

    def _check(self, frame: pd.DataFrame) -> None:
        tenths = (pd.to_numeric(frame["usage_hours"]) * 10).round().astype("int64")
        if bool((tenths % 20 == 0).any()):
            raise RuntimeError("FlakyChurnModel: unsupported usage_hours value")
