"""The registry's REST routes and the content-addressed artifact routes."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from steward import flavors
from steward.store import Store


def _upload(client: TestClient, data: bytes) -> str:
    response = client.put(
        "/api/v1/artifacts", content=data, headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"digest": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
    return str(response.json()["digest"])


def _register(client: TestClient, saved: flavors.SavedModel, name: str = "churn") -> Any:
    body = {
        "artifact_digest": _upload(client, saved.payload),
        "flavor": saved.flavor,
        "flavor_metadata": saved.metadata,
        "input_schema": [{"name": "age", "type": "float", "dtype": "float64"}],
        "dataset_digests": ["f" * 64],
        "tags": {"algo": "logreg"},
    }
    response = client.post(
        f"/api/v1/models/{name}/versions", json=body, headers={"x-steward-actor": "alice"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_models_are_created_listed_and_shown(client: TestClient) -> None:
    body = {"name": "churn", "description": "who leaves", "tags": {"team": "growth"}}
    created = client.post("/api/v1/models", json=body)
    assert created.status_code == 201
    assert created.json()["aliases"] == {}
    assert created.json()["latest_version"] is None
    assert client.get("/api/v1/models").json()["models"] == [created.json()]
    assert client.get("/api/v1/models/churn").json() == created.json()
    again = client.post("/api/v1/models", json=body)
    assert again.status_code == 409
    assert again.json()["error"]["type"] == "conflict"


def test_an_unknown_model_is_a_404_with_a_suggestion(client: TestClient) -> None:
    client.post("/api/v1/models", json={"name": "churn"})
    response = client.get("/api/v1/models/chrun")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "type": "not_found",
        "message": "no registered model 'chrun'; did you mean 'churn'? "
        "(list them: steward models list)",
        "field": "name",
    }


def test_upload_register_download_and_load(
    client: TestClient, saved: flavors.SavedModel, pipeline: Any, features: pd.DataFrame
) -> None:
    version = _register(client, saved)
    assert (version["version"], version["uri"], version["created_by"]) == (
        1,
        "models:/churn/1",
        "alice",
    )
    assert version["artifact_size_bytes"] == len(saved.payload)
    assert client.get("/api/v1/models/churn/versions/1").json() == version
    assert [
        v["version"] for v in client.get("/api/v1/models/churn/versions").json()["versions"]
    ] == [1]
    blob = client.get(f"/api/v1/artifacts/{version['artifact_digest']}")
    assert blob.status_code == 200
    assert blob.headers["content-length"] == str(len(saved.payload))
    loaded = flavors.load_model(
        version["flavor"],
        blob.content,
        version["flavor_metadata"],
        expected_sha256=version["artifact_digest"],
    )
    assert (loaded.predict(features) == pipeline.predict(features)).all()
    events = client.get("/api/v1/audit", params={"target_id": "churn/1"}).json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [("model_version.create", "alice")]


def test_a_large_upload_streams_through(client: TestClient, store: Store) -> None:
    data = bytes(range(256)) * 12_000  # ~3 MB: several chunks
    digest = _upload(client, data)
    assert store.artifacts.read_bytes(digest) == data
    assert client.get(f"/api/v1/artifacts/{digest}").content == data


def test_artifact_routes_refuse_bad_and_missing_digests(client: TestClient) -> None:
    bad = client.get("/api/v1/artifacts/not-a-digest")
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "digest"
    assert client.get(f"/api/v1/artifacts/{'0' * 64}").status_code == 404


def test_a_corrupt_blob_is_never_served_whole(
    client: TestClient, store: Store, saved: flavors.SavedModel
) -> None:
    digest = _upload(client, saved.payload)
    store.artifacts.path_of(digest).write_bytes(b"x" * len(saved.payload))  # type: ignore[attr-defined]
    response = client.get(f"/api/v1/artifacts/{digest}")
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "integrity_error"
    big = _upload(client, bytes(3 * 2**20))
    store.artifacts.path_of(big).write_bytes(bytes(3 * 2**20 - 1) + b"x")  # type: ignore[attr-defined]
    # Past the first chunk the status line is already sent: the stream is cut short instead
    # (a real server drops the connection; the in-process client re-raises).
    with pytest.raises(RuntimeError, match="response already started"):
        client.get(f"/api/v1/artifacts/{big}")


def test_aliases_over_http(client: TestClient, saved: flavors.SavedModel) -> None:
    _register(client, saved)
    _register(client, saved)
    put = client.put("/api/v1/models/churn/aliases/champion", json={"version": 1})
    assert (put.status_code, put.json()["aliases"]) == (200, ["champion"])
    client.put("/api/v1/models/churn/aliases/champion", json={"version": 2})
    assert client.get("/api/v1/models/churn/aliases/champion").json()["version"] == 2
    assert client.get("/api/v1/models/churn").json()["aliases"] == {"champion": 2}
    assert client.delete("/api/v1/models/churn/aliases/champion").status_code == 204
    missing = client.get("/api/v1/models/churn/aliases/champion")
    assert (missing.status_code, missing.json()["error"]["field"]) == (404, "alias")
    bad = client.put("/api/v1/models/churn/aliases/latest", json={"version": 1})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "alias")
    moves = client.get("/api/v1/audit", params={"action": "model_alias.set"}).json()["events"]
    assert [(e["before"], e["after"], e["actor"]) for e in moves] == [
        (None, {"version": 1}, "anonymous"),
        ({"version": 1}, {"version": 2}, "anonymous"),
    ]


def test_deployments_over_http(client: TestClient, saved: flavors.SavedModel) -> None:
    _register(client, saved)
    body = {"version": 1, "environment": "staging", "note": "canary"}
    response = client.post(
        "/api/v1/models/churn/deployments", json=body, headers={"x-steward-actor": "ci"}
    )
    assert response.status_code == 201
    assert (response.json()["deployed_by"], response.json()["note"]) == ("ci", "canary")
    listed = client.get("/api/v1/models/churn/deployments").json()
    assert [d["environment"] for d in listed["deployments"]] == ["staging"]
    assert listed["current"]["staging"]["version"] == 1
    unknown = client.post(
        "/api/v1/models/churn/deployments", json={"version": 1, "environment": "qa"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"] == (
        "environment 'qa' is unknown; use one of dev, staging, production"
    )


def test_deployments_use_the_apps_configured_environments(
    client: TestClient, saved: flavors.SavedModel
) -> None:
    _register(client, saved)
    client.app.state.settings = SimpleNamespace(environments=["qa", "live"])  # type: ignore[attr-defined]
    ok = client.post("/api/v1/models/churn/deployments", json={"version": 1, "environment": "qa"})
    assert ok.status_code == 201
    refused = client.post(
        "/api/v1/models/churn/deployments", json={"version": 1, "environment": "dev"}
    )
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/models", {}),
        ("post", "/api/v1/models", {"name": 3, "tags": []}),
        ("post", "/api/v1/models", {"name": "churn", "colour": "blue"}),
        ("post", "/api/v1/models/churn/versions", {"flavor": "sklearn"}),
        (
            "post",
            "/api/v1/models/churn/versions",
            {"artifact_digest": "a", "flavor": "x", "input_schema": {}},
        ),
        ("put", "/api/v1/models/churn/aliases/champion", {"version": "two"}),
        ("put", "/api/v1/models/churn/aliases/champion", None),
        ("post", "/api/v1/models/churn/deployments", {"environment": "dev"}),
        ("get", "/api/v1/models/churn/versions/one", None),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite"])  # refused by FastAPI before any SQL runs
def test_malformed_requests_are_422(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 422
    assert client.get("/api/v1/audit").json()["events"] == []


def test_a_body_that_is_not_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/models", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_invalid_values_name_their_field(client: TestClient) -> None:
    response = client.post("/api/v1/models", json={"name": "has space"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "name"
    response = client.post(
        "/api/v1/models/churn/versions", json={"artifact_digest": "0" * 64, "flavor": "sklearn"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "artifact_digest"
    response = client.get("/api/v1/models/churn/versions/0")
    assert (response.status_code, response.json()["error"]["field"]) == (422, "version")
