"""Example pipelines used by the tests: generated shop data, a real scikit-learn model.

Steps live at module level so that worker processes (the local pool, Dask) can import them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from steward.pipelines import Pipeline, StepContext, TrainedModel, step
from steward.registry import ModelVersion, register_model
from steward.store import open_store

FEATURES = ["x1", "x2", "x3"]


@step
def load(rows: int, seed: int = 0, shops: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=FEATURES)
    frame["store_id"] = rng.integers(0, shops, rows).astype(str)
    frame["y"] = (frame["x1"] + 0.5 * frame["x2"] + rng.normal(0, 0.5, rows) > 0).astype(int)
    return frame


@step
def prepare(load: pd.DataFrame) -> pd.DataFrame:
    frame = load.copy()
    frame["x1x2"] = frame["x1"] * frame["x2"]
    return frame


@step
def train(prepare: pd.DataFrame, C: float = 1.0) -> TrainedModel:
    columns = [*FEATURES, "x1x2"]
    model = LogisticRegression(C=C).fit(prepare[columns], prepare["y"])
    accuracy = float(model.score(prepare[columns], prepare["y"]))
    return TrainedModel(
        model, sample_input=prepare[columns].head(5), metrics={"accuracy": accuracy}
    )


@step(retries=2, backoff_s=0.01)
def flaky(prepare: pd.DataFrame, counter_path: str, failures: int = 2) -> int:
    """Fails `failures` times (counted in a file, so across processes), then succeeds."""
    counter = Path(counter_path)
    count = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(count))
    if count <= failures:
        raise ConnectionError(f"flaky source unavailable (attempt {count})")
    return len(prepare)


@step
def fragile(prepare: pd.DataFrame, fail_marker: str) -> pd.DataFrame:
    if Path(fail_marker).exists():
        raise ValueError(f"refusing to continue while {fail_marker} exists")
    return prepare


@step
def fit_fragile(fragile: pd.DataFrame) -> TrainedModel:
    return TrainedModel(LogisticRegression().fit(fragile[FEATURES], fragile["y"]))


@step
def shop_rows(load: pd.DataFrame, store_id: str) -> pd.DataFrame:
    rows = load[load["store_id"] == store_id]
    if rows.empty:
        raise ValueError(f"no rows for store {store_id!r}")
    return rows.reset_index(drop=True)


@step
def fit_shop(shop_rows: pd.DataFrame) -> TrainedModel:
    model = LogisticRegression().fit(shop_rows[FEATURES], shop_rows["y"])
    return TrainedModel(model, sample_input=shop_rows[FEATURES].head(3))


@step(cache=False)
def register_self(prepare: pd.DataFrame, context: StepContext) -> ModelVersion:
    model = LogisticRegression().fit(prepare[FEATURES], prepare["y"])
    store = open_store(context.settings)
    try:
        return register_model(
            store, "self-registered", model, run_id=context.run_id, actor=context.settings.actor
        )
    finally:
        store.close()


churn = Pipeline("churn", [load, prepare, train])
retrying = Pipeline("retrying", [load, prepare, flaky], register=False)
resumable = Pipeline("resumable", [load, prepare, fragile, fit_fragile])
shops = Pipeline("shops", [load, shop_rows, fit_shop])
self_registering = Pipeline("selfreg", [load, prepare, register_self])
