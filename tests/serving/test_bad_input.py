"""A caller's mistake is a 4xx naming what was wrong, never a 500; contracts per request."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest

from steward import registry
from steward.store import Store
from tests.serving.conftest import AppFactory, row
from tests.serving.live import live_app


@pytest.fixture
def base_url(churn: Store, make_app: AppFactory) -> Any:
    with live_app(make_app(churn, max_body_bytes=4096)) as url:
        yield url


def test_a_contract_violation_names_row_column_value_and_expectation(
    base_url: str, frame: pd.DataFrame
) -> None:
    rows = [row(frame, 0), {**row(frame, 1), "age": "forty"}, {**row(frame, 2), "income": None}]
    response = httpx.post(f"{base_url}/predict", json={"instances": rows})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_input"
    assert error["message"].startswith("column 'age' expects a number, got 'forty' in row 1")
    assert "(contract churn v1)" in error["message"]
    assert "2 violations in 2 row(s)" in error["message"]
    assert error["details"] == [
        {"row": 1, "column": "age", "kind": "wrong_type", "value": "forty", "expected": "a number"},
        {
            "row": 2,
            "column": "income",
            "kind": "null",
            "value": None,
            "expected": "a value (the column is not nullable)",
        },
    ]
    text = httpx.get(f"{base_url}/metrics").text
    assert (
        'steward_serving_contract_violations_total{column="age",kind="wrong_type",version="churn/1"}'
        in text
    )


def test_out_of_range_and_missing_columns(base_url: str, frame: pd.DataFrame) -> None:
    far = {**row(frame), "tenure": 1e9}
    missing = {k: v for k, v in row(frame).items() if k != "visits"}
    for bad, words in (
        (far, "column 'tenure' expects a value in ["),
        (missing, "column 'visits' is required"),
    ):
        response = httpx.post(f"{base_url}/invocations", json={"dataframe_records": [bad]})
        assert response.status_code == 422
        assert words in response.json()["message"]  # MLflow's key, next to Steward's error


BAD_BODIES = [
    (b"", "request body is empty"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be"),
    (b'{"instances": []}', "non-empty list"),
    (b'{"instances": {"age": 1}}', "non-empty list"),
    (b'{"instances": [1, 2]}', "instances[0] must be an object"),
    (b'{"instances": [[1, 2]]}', "instances[0] must be a list of 4 values"),
    (b'{"columns": ["age"], "data": [[1, 2]]}', "data[0] must be a list of 1 values"),
    (b'{"columns": ["age", "age"], "data": [[1, 2]]}', "names a column twice"),
    (b'{"columns": "age", "data": [[1]]}', "'columns' must be a non-empty list"),
    (b'{"rows": []}', "unknown field(s) 'rows'"),
    (
        b'{"instances": [{"age": 1}], "probabilities": "yes"}',
        "'probabilities' must be true or false",
    ),
    (b'{"probabilities": true}', "has no rows"),
]


@pytest.mark.parametrize(("body", "words"), BAD_BODIES)
def test_malformed_native_bodies_are_4xx(base_url: str, body: bytes, words: str) -> None:
    response = httpx.post(f"{base_url}/predict", content=body)
    assert 400 <= response.status_code < 500
    assert words in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"dataframe_split": {"columns": ["age"]}}', "'dataframe_split.data' must be"),
        (b'{"dataframe_split": [1]}', "dataframe_split must be"),
        (b'{"dataframe_records": [{"age": 1}], "instances": []}', "exactly one of"),
        (b'{"inputs": {"age": [1, 2], "income": [3]}}', "same, non-zero number of values"),
        (b'{"nothing": 1}', "exactly one of"),
    ],
)
def test_malformed_mlflow_bodies_are_4xx(base_url: str, body: bytes, words: str) -> None:
    response = httpx.post(f"{base_url}/invocations", content=body)
    assert response.status_code == 422
    assert words in response.json()["message"]
    assert response.json()["error_code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("request_body", "words"),
    [
        ({"inputs": []}, "'inputs' must be a non-empty list"),
        ({"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1.0]}]}, "needs 2"),
        ({"inputs": [{"name": "age", "shape": [1], "datatype": "FLOAT", "data": [1]}]}, "datatype"),
        ({"inputs": [{"name": "age", "shape": "1", "datatype": "FP64", "data": [1]}]}, "shape"),
        (
            {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]},
            "[n, 4]",
        ),
        (
            {
                "inputs": [
                    {"name": "age", "shape": [2], "datatype": "FP64", "data": [1, 2]},
                    {"name": "income", "shape": [1], "datatype": "FP64", "data": [1]},
                ]
            },
            "one tensor per column needs shape [2]",
        ),
        (
            {
                "inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1]}],
                "outputs": [{"name": "x"}],
            },
            "outputs[0]",
        ),
    ],
)
def test_malformed_v2_requests_are_4xx(base_url: str, request_body: Any, words: str) -> None:
    response = httpx.post(f"{base_url}/v2/models/churn/infer", json=request_body)
    assert response.status_code == 422
    assert words in response.json()["error"]


def test_sizes_paths_methods_and_pins(base_url: str, frame: pd.DataFrame) -> None:
    with httpx.Client(base_url=base_url) as client:
        too_large = client.post("/predict", content=b"[" + b"1," * 4000 + b"1]")
        no_route = client.get("/nowhere")
        wrong_method = client.get("/predict")
        bad_pin = client.post(
            "/predict", json={"instances": [row(frame)]}, headers={"X-Steward-Version": "9"}
        )
        pinned = client.post(
            "/predict", json={"instances": [row(frame)]}, headers={"X-Steward-Version": "@champion"}
        )
        metrics = client.get("/metrics").text
    assert too_large.status_code == 413
    assert "exceeds the limit of 4096 bytes" in too_large.json()["error"]["message"]
    assert no_route.status_code == 404
    assert wrong_method.status_code == 405
    assert bad_pin.status_code == 422
    assert (
        "'9' names no version loaded here; loaded: 1 @champion"
        in bad_pin.json()["error"]["message"]
    )
    assert pinned.json()["model_version"] == 1
    assert 'path="unmatched"' in metrics  # an unknown path never becomes its own label


def test_warn_mode_serves_and_counts_and_off_mode_skips(
    churn: Store, make_app: AppFactory, frame: pd.DataFrame
) -> None:
    for name in ("churn-warn", "churn-off"):
        registry.create_endpoint(
            churn,
            name,
            environment="production",
            model_name="churn",
            alias="champion",
            contract_mode="warn" if name == "churn-warn" else "off",
            actor="tester",
        )
    far = {**row(frame), "tenure": 1e6}
    for name in ("churn-warn", "churn-off"):
        with live_app(make_app(churn, endpoint=name)) as url:
            response = httpx.post(f"{url}/predict", json={"instances": [far]})
            assert response.status_code == 200
            text = httpx.get(f"{url}/metrics").text
    assert 'column="tenure",kind="out_of_range"' in text
    with live_app(make_app(churn, endpoint="churn-off")) as url:
        wrong = httpx.post(f"{url}/predict", json={"instances": [{**row(frame), "age": "forty"}]})
    assert wrong.status_code == 422  # no contract check, but the model still needs numbers
    assert "row 0, column 'age': value 'forty' is not a number" in wrong.json()["error"]["message"]
