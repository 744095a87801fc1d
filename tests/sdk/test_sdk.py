"""The SDK's calls, end to end, the same way in-process and over HTTP."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from steward.errors import Conflict, InvalidInput, NotFound
from steward.sdk import Client


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    data["y"] = (data["a"] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    return data


def test_run_lifecycle_with_buffered_metrics(client: Client) -> None:
    client.set_experiment("exp")
    with client.start_run("first", params={"C": 1.0}, tags={"team": "risk"}) as run:
        for step in range(50):
            client.log_metric("loss", 1.0 / (step + 1), step=step)
        client.log_metrics({"nan": math.nan, "inf": math.inf, "ninf": -math.inf})
    stored = client.get_run(run.id)
    assert stored.status == "FINISHED"
    assert stored.end_time is not None
    assert stored.params == {"C": "1.0"}
    assert stored.tags["team"] == "risk"
    assert stored.metrics["loss"] == pytest.approx(1 / 50)
    assert math.isnan(stored.metrics["nan"])
    assert stored.metrics["inf"] == math.inf
    assert stored.metrics["ninf"] == -math.inf
    assert stored.environment["python"]


def test_params_are_write_once(client: Client) -> None:
    with client.start_run() as run:
        client.log_param("lr", 0.1)
        client.log_param("lr", 0.1)  # the same value again is a no-op
        with pytest.raises(Conflict, match="lr"):
            client.log_param("lr", 0.2)
    assert client.get_run(run.id).params["lr"] == "0.1"


def test_exception_in_run_marks_it_failed(client: Client) -> None:
    with pytest.raises(RuntimeError), client.start_run() as run:
        raise RuntimeError("training blew up")
    assert client.get_run(run.id).status == "FAILED"


def test_search_runs_by_params_and_metrics(client: Client) -> None:
    client.set_experiment("search")
    for c in (0.1, 1.0, 10.0):
        with client.start_run(params={"C": c}):
            client.log_metric("auc", 0.8 + c / 100)
    found = client.search_runs(
        "search", filter="metrics.auc > 0.805", order_by=["metrics.auc DESC"]
    )
    assert [r.params["C"] for r in found] == ["10.0", "1.0"]


def test_log_model_with_training_data_and_load_by_alias(
    client: Client, frame: pd.DataFrame
) -> None:
    client.set_experiment("churn")
    model = LogisticRegression().fit(frame[["a", "b"]], frame["y"])
    with client.start_run() as run:
        version = client.log_model(model, "churn", training_data=frame[["a", "b"]])
    assert version.version == 1
    assert version.run_id == run.id
    assert len(version.dataset_digests) == 1
    assert version.contract is not None
    assert version.profile is not None
    client.set_alias("churn", version.version, "champion")
    loaded = client.load_model("models:/churn@champion")
    assert np.array_equal(loaded.predict(frame[["a", "b"]]), model.predict(frame[["a", "b"]]))
    assert "champion" in client.get_model_version("churn", 1).aliases
    inputs = client.get_run(run.id).inputs
    assert [d.digest for d in inputs] == list(version.dataset_digests)


def test_artifacts_are_recorded(client: Client, tmp_path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("all good")
    with client.start_run() as run:
        client.log_artifact(report)
    assert [a.path for a in client.get_run(run.id).artifacts] == ["report.txt"]


def test_clear_errors(client: Client) -> None:
    with pytest.raises(NotFound, match="chrun"):
        client.load_model("models:/chrun@champion")
    with pytest.raises(InvalidInput, match="models:/"):
        client.load_model("churn-without-scheme")
    with pytest.raises(NotFound, match="start_run"):
        client.log_metric("x", 1.0)
    with client.start_run(), pytest.raises(InvalidInput, match="metric 'x'"):
        client.log_metric("x", "high")  # type: ignore[arg-type]
