"""The three protocols over real HTTP: native, MLflow scoring, Open Inference Protocol v2."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pandas as pd
import pytest

from steward.store import Store
from tests.serving.conftest import FEATURES, AppFactory, row
from tests.serving.live import live_app


@pytest.fixture
def base_url(churn: Store, make_app: AppFactory) -> Any:
    with live_app(make_app(churn)) as url:
        yield url


@pytest.fixture
def expected(classifier: Any, frame: pd.DataFrame) -> list[int]:
    return [int(value) for value in classifier.predict(frame.head(3))]


def test_native_predict_with_instances_and_with_columns(
    base_url: str, frame: pd.DataFrame, expected: list[int]
) -> None:
    rows = [row(frame, i) for i in range(3)]
    split = {"columns": FEATURES, "data": [[r[c] for c in FEATURES] for r in rows]}
    with httpx.Client(base_url=base_url) as client:
        by_instances = client.post("/predict", json={"instances": rows}).json()
        by_columns = client.post("/predict", json=split).json()
        positional = client.post("/predict", json={"instances": split["data"]}).json()
    for body in (by_instances, by_columns, positional):
        assert body["predictions"] == expected
        assert body["model_name"] == "churn"
        assert body["model_version"] == 1
        assert body["route"] == "primary"
        assert len(body["prediction_ids"]) == 3
        assert len(set(body["prediction_ids"])) == 3
        assert all(abs(sum(p) - 1) < 1e-9 for p in body["probabilities"])
    no_proba = httpx.post(f"{base_url}/predict", json={"instances": rows, "probabilities": False})
    assert "probabilities" not in no_proba.json()


@pytest.mark.parametrize(
    "payload",
    [
        "dataframe_split",
        "dataframe_records",
        "instances_records",
        "instances_lists",
        "inputs_columns",
        "inputs_records",
    ],
)
def test_mlflow_json_formats_answer_as_mlflow_does(
    base_url: str, frame: pd.DataFrame, expected: list[int], payload: str
) -> None:
    rows = [row(frame, i) for i in range(3)]
    lists = [[r[c] for c in FEATURES] for r in rows]
    bodies: dict[str, Any] = {
        "dataframe_split": {"dataframe_split": {"columns": FEATURES, "data": lists}},
        "dataframe_records": {"dataframe_records": rows},
        "instances_records": {"instances": rows},
        "instances_lists": {"instances": lists},
        "inputs_columns": {"inputs": {c: [r[c] for r in rows] for c in FEATURES}},
        "inputs_records": {"inputs": rows, "params": {}},
    }
    response = httpx.post(f"{base_url}/invocations", json=bodies[payload])
    assert response.status_code == 200
    assert response.json() == {"predictions": expected}  # exactly MLflow's shape
    assert response.headers["x-steward-model-version"] == "1"
    assert len(response.headers["x-steward-prediction-ids"].split(",")) == 3


def test_mlflow_csv_and_content_types(
    base_url: str, frame: pd.DataFrame, expected: list[int]
) -> None:
    csv = frame.head(3)[FEATURES].to_csv(index=False)
    as_csv = httpx.post(
        f"{base_url}/invocations", content=csv, headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert as_csv.json() == {"predictions": expected}
    xml = httpx.post(
        f"{base_url}/invocations", content=b"<rows/>", headers={"Content-Type": "application/xml"}
    )
    assert xml.status_code == 415
    assert xml.json()["error_code"] == "BAD_REQUEST"
    assert "text/csv" in xml.json()["message"]
    assert httpx.get(f"{base_url}/ping").status_code == 200


def test_mlflow_client_payload_from_pandas(
    base_url: str, frame: pd.DataFrame, expected: list[int]
) -> None:
    """What `mlflow.models.convert_input_example_to_serving_input` sends for a DataFrame."""
    split = orjson.loads(frame.head(3).to_json(orient="split", index=False))
    response = httpx.post(f"{base_url}/invocations", json={"dataframe_split": split})
    assert response.json() == {"predictions": expected}


def v2_request(rows: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "id": "req-1",
        "inputs": [
            {"name": c, "shape": [len(rows)], "datatype": "FP64", "data": [r[c] for r in rows]}
            for c in FEATURES
        ],
    }


def test_v2_infer_as_a_real_client_sends_it_without_content_type(
    base_url: str, frame: pd.DataFrame, expected: list[int]
) -> None:
    rows = [row(frame, i) for i in range(3)]
    request = httpx.Request(
        "POST", f"{base_url}/v2/models/churn/infer", content=orjson.dumps(v2_request(rows))
    )
    assert "content-type" not in request.headers
    with httpx.Client() as client:
        response = client.send(request)
    assert response.status_code == 200
    body = response.json()
    assert body["model_name"] == "churn"
    assert body["model_version"] == "1"
    assert body["id"] == "req-1"
    assert body["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [3], "data": expected}
    ]
    assert len(body["parameters"]["prediction_ids"]) == 3


def test_v2_matrix_tensor_probabilities_and_version_path(
    base_url: str, frame: pd.DataFrame, expected: list[int]
) -> None:
    lists = [[row(frame, i)[c] for c in FEATURES] for i in range(3)]
    request = {
        "inputs": [{"name": "input-0", "shape": [3, 4], "datatype": "FP64", "data": lists}],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
    }
    response = httpx.post(f"{base_url}/v2/models/churn/versions/1/infer", json=request)
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "1"
    predict, proba = body["outputs"]
    assert predict["shape"] == [3]
    assert proba["name"] == "predict_proba"
    assert proba["shape"] == [3, 2]
    assert len(proba["data"]) == 6


def test_v2_health_and_metadata(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get("/v2/models/churn/ready").json() == {"name": "churn", "ready": True}
        metadata = client.get("/v2/models/churn").json()
        assert client.get("/v2/models/churn/versions/1").status_code == 200
        assert client.get("/v2/models/churn/versions/2").status_code == 404
        unknown = client.get("/v2/models/fraud")
    assert metadata["versions"] == ["1"]
    assert [tensor["name"] for tensor in metadata["inputs"]] == FEATURES
    assert {tensor["datatype"] for tensor in metadata["inputs"]} == {"FP64"}
    assert unknown.status_code == 404
    assert "'fraud' is not served here" in unknown.json()["error"]


def test_v2_binary_extension_is_refused_clearly(base_url: str, frame: pd.DataFrame) -> None:
    url = f"{base_url}/v2/models/churn/infer"
    by_header = httpx.post(
        url,
        content=orjson.dumps(v2_request([row(frame)])) + b"\x00\x01",
        headers={"Inference-Header-Content-Length": "300"},
    )
    binary_input = v2_request([row(frame)])
    binary_input["inputs"][0]["parameters"] = {"binary_data_size": 8}
    by_parameter = httpx.post(url, json=binary_input)
    for response in (by_header, by_parameter):
        assert response.status_code == 415
        assert "binary tensor data extension is not supported" in response.json()["error"]


def test_health_readiness_and_metrics(base_url: str, frame: pd.DataFrame) -> None:
    with httpx.Client(base_url=base_url) as client:
        client.post("/predict", json={"instances": [row(frame)]})
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        text = client.get("/metrics").text
    assert ready["ready"] is True
    assert ready["origin"] == "store"
    assert ready["store_reachable"] is True
    assert ready["traffic"] == [{"target": "models:/churn@champion", "version": 1, "weight": 100.0}]
    assert (
        'steward_serving_requests_total{path="/predict",route="primary",status="200",version="churn/1"}'
        in text
    )
    assert "steward_serving_request_duration_seconds_bucket" in text
    assert "steward_serving_requests_in_flight" in text
    assert 'steward_serving_traffic_weight{role="primary",version="churn/1"} 100.0' in text
