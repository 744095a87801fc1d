"""The REST routes under /api/v1, in-process: JSON shapes, NaN on the wire, errors."""

from __future__ import annotations

import hashlib
import math
from typing import Any

from fastapi.testclient import TestClient

from steward import tracking
from steward.store import Store
from steward.tracking import routes, wire
from tests.tracking.conftest import error_of

API = "/api/v1"


def _start(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{API}/runs", json={"experiment_name": "churn", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_experiments(client: TestClient) -> None:
    created = client.post(f"{API}/experiments", json={"name": "churn", "tags": {"t": "x"}})
    assert created.status_code == 201
    body = created.json()
    routes.ExperimentResponse.model_validate(body)
    assert client.get(f"{API}/experiments/churn").json() == body
    assert client.get(f"{API}/experiments/{body['id']}").json() == body
    assert client.get(f"{API}/experiments").json() == {"experiments": [body]}
    again = client.post(f"{API}/experiments", json={"name": "churn"})
    assert (again.status_code, error_of(again)["type"]) == (409, "conflict")
    missing = client.get(f"{API}/experiments/chrun")
    assert missing.status_code == 404
    assert "did you mean 'churn'?" in error_of(missing)["message"]


def test_run_lifecycle_over_http(client: TestClient, store: Store) -> None:
    run = _start(client, name="base", params={"C": 1.0, "deep": True}, tags={"t": "x"})
    routes.RunResponse.model_validate(run)
    assert run["status"] == "RUNNING"
    assert run["user"] == "anonymous"
    assert run["params"] == {"C": "1.0", "deep": "True"}
    run_id = run["id"]
    assert client.post(f"{API}/runs/{run_id}/params", json={"params": {"d": 3}}).status_code == 204
    assert client.post(f"{API}/runs/{run_id}/tags", json={"tags": {"u": "y"}}).status_code == 204
    ended = client.post(f"{API}/runs/{run_id}/end", json={"status": "FAILED"})
    assert ended.json()["status"] == "FAILED"
    assert wire.run_from_json(ended.json()) == tracking.get_run(store, run_id)
    late = client.post(f"{API}/runs/{run_id}/tags", json={"tags": {"v": "z"}})
    assert late.status_code == 409
    assert "start a new run to log more" in error_of(late)["message"]


def test_a_run_takes_the_callers_identity(client: TestClient) -> None:
    client.post(f"{API}/experiments", json={"name": "e"})
    response = client.post(
        f"{API}/runs", json={"experiment_name": "e"}, headers={"x-steward-actor": "ada"}
    )
    assert response.json()["user"] == "ada"
    nowhere = client.post(f"{API}/runs", json={"name": "orphan"})
    assert (nowhere.status_code, error_of(nowhere)["field"]) == (422, "experiment_id")


def test_nan_and_infinities_cross_the_wire_both_ways(client: TestClient, store: Store) -> None:
    run_id = _start(client)["id"]
    points = [
        {"key": "loss", "value": "NaN", "step": 0},
        {"key": "loss", "value": "Infinity", "step": 1},
        {"key": "loss", "value": "-Infinity", "step": 2},
        {"key": "loss", "value": 0.25, "step": 3, "timestamp_ms": 7},
        {"key": "auc", "value": 1},
    ]
    response = client.post(f"{API}/runs/{run_id}/metrics", json={"metrics": points})
    assert response.status_code == 204, response.text
    history = client.get(f"{API}/runs/{run_id}/metrics/loss").json()["metrics"]
    assert [point["value"] for point in history] == ["NaN", "Infinity", "-Infinity", 0.25]
    assert history[3]["timestamp_ms"] == 7
    stored = tracking.get_metric_history(store, run_id, "loss")
    assert math.isnan(stored[0].value)
    assert stored[1].value == math.inf
    fetched = client.get(f"{API}/runs/{run_id}").json()
    assert fetched["metrics"] == {"auc": 1.0, "loss": 0.25}


def test_log_batch_and_search(client: TestClient) -> None:
    ids = []
    for i, auc in enumerate([0.7, math.nan, 0.9]):
        run_id = _start(client, name=f"r{i}")["id"]
        batch = {
            "metrics": [{"key": "auc", "value": wire.value_to_json(auc)}],
            "params": {"i": i},
            "tags": {"team": "x"},
        }
        response = client.post(f"{API}/runs/{run_id}/log-batch", json=batch)
        assert response.status_code == 204, response.text
        ids.append(run_id)
    query = {
        "experiment_names": ["churn"],
        "filter": "tags.team = 'x'",
        "order_by": ["metrics.auc DESC"],
        "max_results": 2,
    }
    first = client.post(f"{API}/runs/search", json=query).json()
    routes.RunPageResponse.model_validate(first)
    assert [run["name"] for run in first["runs"]] == ["r2", "r0"]
    rest = client.post(f"{API}/runs/search", json={**query, "page_token": first["next_page_token"]})
    (last,) = rest.json()["runs"]
    assert last["metrics"] == {"auc": "NaN"}
    assert rest.json()["next_page_token"] is None
    bad = client.post(f"{API}/runs/search", json={"filter": "metrics.auc >"})
    assert (bad.status_code, error_of(bad)["field"]) == (422, "filter")


def test_malformed_bodies_are_422_naming_the_field(client: TestClient) -> None:
    run_id = _start(client)["id"]
    cases = [
        ("metrics", {"metrics": [{"key": "x", "value": True}]}, "value"),
        ("metrics", {"metrics": [{"key": "x", "value": 1, "step": "one"}]}, "step"),
        ("metrics", {"metrics": [{"value": 1}]}, "key"),
        ("log-batch", {"params": {"a": [1]}}, "params"),
        ("params", {"parameters": {}}, "params"),
    ]
    for route, body, field in cases:
        response = client.post(f"{API}/runs/{run_id}/{route}", json=body)
        assert response.status_code == 422, body
        assert field in response.text, response.text
    not_a_number = client.post(
        f"{API}/runs/{run_id}/metrics", json={"metrics": [{"key": "x", "value": "high"}]}
    )
    assert not_a_number.status_code == 422
    assert error_of(not_a_number)["field"] == "metrics[0].value"
    assert client.get(f"{API}/runs/{run_id}/metrics/x").json() == {"metrics": []}


def test_unknown_run_is_404(client: TestClient) -> None:
    response = client.get(f"{API}/runs/ghost")
    assert response.status_code == 404
    assert error_of(response) == {
        "type": "not_found",
        "message": "no run 'ghost' (list them: steward runs list)",
        "field": "run_id",
    }


def test_artifacts_upload_list_and_download(client: TestClient) -> None:
    run_id = _start(client)["id"]
    data = bytes(range(256)) * 1000
    uploaded = client.put(f"{API}/runs/{run_id}/artifacts/model/weights.bin", content=data)
    assert uploaded.status_code == 201, uploaded.text
    digest = hashlib.sha256(data).hexdigest()
    assert uploaded.json() == {
        "path": "model/weights.bin",
        "digest": digest,
        "size_bytes": len(data),
    }
    listed = client.get(f"{API}/runs/{run_id}/artifacts").json()
    assert listed == {"artifacts": [uploaded.json()]}
    downloaded = client.get(f"{API}/runs/{run_id}/artifacts/model/weights.bin")
    assert downloaded.content == data
    assert downloaded.headers["etag"] == f'"{digest}"'
    assert client.get(f"{API}/runs/{run_id}/artifacts/nope").status_code == 404
    bad = client.put(f"{API}/runs/{run_id}/artifacts/a/%2E%2E/b", content=b"x")
    assert (bad.status_code, error_of(bad)["field"]) == (422, "path")


def test_datasets_are_logged_from_a_client_fingerprint(client: TestClient) -> None:
    import pandas as pd

    run_id = _start(client)["id"]
    info = tracking.fingerprint_frame(pd.DataFrame({"a": [1, 2]}))
    body = {"name": "train", **wire.dataset_info_to_json(info), "contract": {"columns": []}}
    response = client.post(f"{API}/runs/{run_id}/datasets", json=body)
    assert response.status_code == 201, response.text
    dataset = wire.dataset_from_json(response.json())
    assert (dataset.digest, dataset.num_rows, dataset.contract) == (info.digest, 2, {"columns": []})
    inputs = client.get(f"{API}/runs/{run_id}").json()["inputs"]
    assert inputs == [
        {"dataset_id": dataset.id, "name": "train", "digest": info.digest, "context": "training"}
    ]
    bad = client.post(f"{API}/runs/{run_id}/datasets", json={**body, "digest": "xyz"})
    assert (bad.status_code, error_of(bad)["field"]) == (422, "digest")
