"""`log_labels` from the SDK, the same in-process and over HTTP against a real server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

import steward
from steward import registry
from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.predictions import LabelStore, PredictionLog, compact
from steward.sdk import Client
from steward.store import open_store
from tests.predictions.records import BASE_MS, make_record


@pytest.fixture
def settings(home: Path) -> Settings:
    """Small batches, so chunking shows; shared by the server and the client."""
    return Settings(home=home, actor="tester", label_batch_max=5)


@pytest.fixture(autouse=True)
def endpoint(settings: Settings) -> str:
    """Endpoint 'churn' in the registry, and its predictions 0..19 in the log."""
    rng = np.random.default_rng(3)
    model = LogisticRegression().fit(rng.normal(size=(40, 2)), [0, 1] * 20)
    store = open_store(settings)
    try:
        registry.register_model(store, "churn", model, actor="alice")
        registry.create_endpoint(
            store, "churn", environment="production", model_name="churn", version=1, actor="bob"
        )
    finally:
        store.close()
    log = PredictionLog(settings.resolved_predictions_dir, compact_on_start=False)
    log.append([make_record(i) for i in range(20)])
    log.close()
    compact(settings.resolved_predictions_dir)
    return "churn"


def batches(settings: Settings) -> list[Path]:
    folder = settings.resolved_predictions_dir / "labels" / "endpoint=churn"
    return sorted(folder.glob("*.parquet"))


def test_a_data_frame_goes_in_chunks(client: Client, settings: Settings) -> None:
    frame = pd.DataFrame(
        {
            "prediction_id": [f"p{i:08d}" for i in range(10)] + ["x1", "x2"],
            "label": [i % 2 for i in range(12)],
            "outcome_revenue": [float(i) for i in range(11)] + [np.nan],
            "cost": [1.0] * 12,
        }
    )

    result = client.log_labels("churn", frame, outcomes=["cost"])

    assert (result.accepted, result.updated, result.unknown) == (12, 0, 2)
    assert result.unknown_ids == ("x1", "x2")
    assert len(batches(settings)) == 3  # 5 + 5 + 2
    [record] = client.label_history("churn", "p00000003")
    assert (record.label, record.outcomes) == (1.0, {"revenue": 3.0, "cost": 1.0})
    assert client.label_history("churn", "x2")[0].outcomes == {"cost": 1.0}
    window = LabelStore(settings.resolved_predictions_dir).window("churn", BASE_MS, BASE_MS + 20)
    assert window.column("label").to_pylist()[:3] == [1.0, 0.0, 1.0]  # p1..p3; p0 is shadow


def test_dicts_relabel_and_history(client: Client) -> None:
    client.log_labels("churn", [{"prediction_id": "p00000001", "label": "stayed"}])
    again = client.log_labels(
        "churn",
        [
            {"prediction_id": "p00000001", "label": "churned", "outcomes": {"revenue": 3}},
            {"prediction_id": "p00000002", "outcome_revenue": 1.5, "at_ms": 42},
        ],
    )

    history = client.label_history("churn", "p00000001")

    assert (again.accepted, again.updated, again.unknown) == (2, 1, 0)
    assert [(h.label, h.label_text, h.outcomes) for h in history] == [
        ("stayed", "stayed", {}),
        ("churned", "churned", {"revenue": 3.0}),
    ]
    assert history[0].sequence < history[1].sequence
    assert client.label_history("churn", "p00000002")[0].labelled_at_ms == 42


def test_mixed_label_kinds_and_arrow_tables(client: Client) -> None:
    mixed = pd.DataFrame({"prediction_id": ["p00000001", "p00000002"], "label": [1, "cat"]})
    table = pa.table({"prediction_id": ["p00000003"], "outcome_revenue": [2.5]})

    assert client.log_labels("churn", mixed).accepted == 2
    assert client.log_labels("churn", table).accepted == 1
    assert [h.label for h in client.label_history("churn", "p00000002")] == ["cat"]
    assert [h.outcomes for h in client.label_history("churn", "p00000003")] == [{"revenue": 2.5}]


def test_bad_labels_are_refused_before_anything_is_sent(client: Client, settings: Settings) -> None:
    labels = [{"prediction_id": f"p{i:08d}", "label": 1} for i in range(8)]
    labels.append({"prediction_id": "p00000009", "label": 1, "outcomes": {"Bad": 1}})

    with pytest.raises(InvalidInput, match=r"labels\[8\]\.outcomes") as caught:
        client.log_labels("churn", labels)

    assert caught.value.details[0]["value"] == "Bad"
    assert batches(settings) == []
    with pytest.raises(InvalidInput, match="list of dicts"):
        client.log_labels("churn", {"prediction_id": "p1", "label": 1})


def test_an_unknown_endpoint_is_not_found(client: Client, settings: Settings) -> None:
    with pytest.raises(NotFound, match="chrun"):
        client.log_labels("chrun", [{"prediction_id": "p00000001", "label": 1}])
    with pytest.raises(NotFound):
        client.label_history("chrun", "p00000001")
    assert not (settings.resolved_predictions_dir / "labels").exists()


def test_log_labels_is_part_of_the_package_surface() -> None:
    assert "log_labels" in steward.__all__
    assert steward.log_labels is steward.sdk.log_labels
