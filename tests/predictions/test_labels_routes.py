"""Labels over REST, through the real control-plane app on both metadata stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from steward import registry
from steward.config import Settings
from steward.predictions import LabelStore, PredictionLog, compact
from steward.store import Store
from tests.predictions.records import BASE_MS, make_record

URL = "/api/v1/endpoints/churn/labels"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home, actor="tester", label_batch_max=5)


@pytest.fixture
def endpoint(store: Store) -> str:
    """Endpoint 'churn' serving model churn v1, and its predictions 0..19 in the log."""
    rng = np.random.default_rng(3)
    model = LogisticRegression().fit(rng.normal(size=(40, 2)), [0, 1] * 20)
    registry.register_model(store, "churn", model, actor="alice")
    registry.create_endpoint(
        store, "churn", environment="production", model_name="churn", version=1, actor="alice"
    )
    return "churn"


@pytest.fixture
def logged(settings: Settings) -> Path:
    directory = settings.resolved_predictions_dir
    log = PredictionLog(directory, compact_on_start=False)
    log.append([make_record(i) for i in range(20)])
    log.close()
    compact(directory)
    return directory


def post(client: TestClient, labels: list[dict[str, Any]], url: str = URL) -> Any:
    return client.post(url, json={"labels": labels})


def test_post_labels_then_read_the_history(client: TestClient, endpoint: str, logged: Path) -> None:
    first = post(
        client,
        [
            {"prediction_id": "p00000001", "label": 1, "outcomes": {"revenue": 12.5}},
            {"prediction_id": "zzz", "label": "cat", "at_ms": 7},
        ],
    )
    second = post(client, [{"prediction_id": "p00000001", "label": 0}])
    history = client.get(f"{URL}/p00000001")
    none = client.get(f"{URL}/p00000002")

    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 2, "updated": 0, "unknown": 1, "unknown_ids": ["zzz"]}
    assert second.json() == {"accepted": 1, "updated": 1, "unknown": 0, "unknown_ids": []}
    assert history.status_code == 200
    body = history.json()
    assert (body["endpoint"], body["prediction_id"]) == ("churn", "p00000001")
    assert [(h["label"], h["outcomes"], h["sequence"]) for h in body["labels"]] == [
        (1.0, {"revenue": 12.5}, 1),
        (0.0, {}, 2),
    ]
    assert none.json()["labels"] == []
    window = LabelStore(logged).window("churn", BASE_MS, BASE_MS + 100).to_pylist()
    labelled = {r["prediction_id"]: (r["label"], r["outcome_revenue"]) for r in window}
    assert labelled["p00000001"] == (0.0, 12.5)
    assert LabelStore(logged).history("churn", "zzz")[0].labelled_at_ms == 7


def test_an_endpoint_that_does_not_exist_is_404_and_nothing_is_written(
    client: TestClient, endpoint: str, logged: Path
) -> None:
    posted = post(client, [{"prediction_id": "p1", "label": 1}], "/api/v1/endpoints/nope/labels")
    read = client.get("/api/v1/endpoints/nope/labels/p1")

    assert posted.status_code == 404
    assert posted.json()["error"]["type"] == "not_found"
    assert "nope" in posted.json()["error"]["message"]
    assert read.status_code == 404
    assert not (logged / "labels").exists()


def test_more_labels_than_the_limit_are_refused_naming_it(
    client: TestClient, endpoint: str, logged: Path
) -> None:
    response = post(client, [{"prediction_id": f"p{i}", "label": 1} for i in range(6)])

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["type"] == "invalid_input"
    assert "6 labels" in error["message"]
    assert "limit is 5" in error["message"]
    assert "STEWARD_LABEL_BATCH_MAX" in error["message"]
    assert not (logged / "labels").exists()


@pytest.mark.parametrize(
    ("label", "field"),
    [
        ({"prediction_id": "p1", "label": {"a": 1}}, "labels.1.label"),
        ({"label": 1}, "labels.1.prediction_id"),
        ({"prediction_id": "p1", "label": 1, "outcomes": {"revenue": "12"}}, "labels.1.outcomes"),
        ({"prediction_id": "p1", "label": 1, "extra": 1}, "labels.1.extra"),
        ({"prediction_id": "p1", "label": 1, "outcomes": {"Revenue": 1}}, "labels[1].outcomes"),
        ({"prediction_id": "p1"}, "labels[1].label"),
        ({"prediction_id": "", "label": 1}, "labels[1].prediction_id"),
    ],
)
def test_bad_labels_are_422_naming_the_field_and_nothing_is_written(
    client: TestClient, endpoint: str, logged: Path, label: dict[str, Any], field: str
) -> None:
    response = post(client, [{"prediction_id": "p00000001", "label": 1}, label])

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_input"
    assert error["field"].startswith(field)
    assert not (logged / "labels").exists()
