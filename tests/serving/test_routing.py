"""Endpoints end to end: weighted split, sticky A/B, shadow copies, fallback, the log."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from steward import registry
from steward.predictions import PredictionLog, PredictionStore, compact
from steward.store import Store
from tests.serving.conftest import AppFactory, row
from tests.serving.live import live_app
from tests.serving.models import Constant, Exploding, Sleepy


def endpoint(store: Store, name: str, **config: Any) -> str:
    config.setdefault("alias", None if "traffic" in config or "version" in config else "champion")
    registry.create_endpoint(
        store, name, environment="production", model_name="churn", actor="tester", **config
    )
    return name


def logged(directory: Path) -> list[dict[str, Any]]:
    compact(directory)
    table = PredictionStore(directory).query(
        "SELECT prediction_id, route, model_version, entity_key, outputs FROM predictions "
        "ORDER BY at_ms, route"
    )
    records: list[dict[str, Any]] = table.to_pylist()
    return records


def test_weighted_split_roughly_honours_weights(
    churn: Store, make_app: AppFactory, frame: pd.DataFrame
) -> None:
    name = endpoint(churn, "churn-ab", traffic={"@champion": 80, "@challenger": 20})
    with live_app(make_app(churn, endpoint=name)) as url, httpx.Client(base_url=url) as client:
        versions = Counter(
            client.post("/predict", json={"instances": [row(frame, i % 50)]}).json()[
                "model_version"
            ]
            for i in range(300)
        )
    assert set(versions) == {1, 2}
    assert 25 <= versions[2] <= 95  # 60 expected; 4 standard deviations either side


def test_sticky_key_reaches_the_same_version_from_a_field_or_a_header(
    churn: Store, make_app: AppFactory, frame: pd.DataFrame, home: Path
) -> None:
    name = endpoint(
        churn,
        "churn-sticky",
        traffic={"@champion": 50, "@challenger": 50},
        sticky_key="customer_id",
    )
    prediction_log = PredictionLog(home / "predictions", flush_interval_s=0.05)
    app = make_app(churn, endpoint=name, prediction_log=prediction_log)
    seen: dict[str, set[int]] = {}
    with live_app(app) as url, httpx.Client(base_url=url) as client:
        for repeat in range(4):
            for customer in range(20):
                key = f"c{customer}"
                instance = {**row(frame, customer), "customer_id": key}
                if repeat % 2:  # the key may come as a header instead of a field
                    instance.pop("customer_id")
                    body = client.post(
                        "/predict", json={"instances": [instance]}, headers={"customer_id": key}
                    ).json()
                else:
                    body = client.post("/predict", json={"instances": [instance]}).json()
                seen.setdefault(key, set()).add(body["model_version"])
    assert all(len(versions) == 1 for versions in seen.values())
    assert {next(iter(v)) for v in seen.values()} == {1, 2}
    assert {r["entity_key"] for r in logged(home / "predictions")} == set(seen)


def test_shadow_answers_are_logged_never_returned(
    churn: Store, make_app: AppFactory, frame: pd.DataFrame, home: Path
) -> None:
    name = endpoint(churn, "churn-shadow", shadow=["@challenger"])
    prediction_log = PredictionLog(home / "predictions", flush_interval_s=0.05)
    app = make_app(churn, endpoint=name, prediction_log=prediction_log)
    with live_app(app) as url, httpx.Client(base_url=url) as client:
        bodies = [
            client.post("/predict", json={"instances": [row(frame, i)]}).json() for i in range(5)
        ]
        assert app.mirror is not None
        app.mirror.join()
    assert {body["model_version"] for body in bodies} == {1}
    assert all("shadow" not in str(body) for body in bodies)
    records = logged(home / "predictions")
    ids = [body["prediction_ids"][0] for body in bodies]
    primary = [r for r in records if r["route"] == "primary"]
    shadow = [r for r in records if r["route"] == "shadow"]
    assert [r["prediction_id"] for r in primary] == ids
    assert sorted(r["prediction_id"] for r in shadow) == sorted(ids)  # joinable to labels
    assert {r["model_version"] for r in shadow} == {2}


@pytest.fixture
def broken(churn: Store, contract: dict[str, Any]) -> Store:
    """v3 raises, v4 answers 5, v5 answers 7 after 3 s."""
    for model in (Exploding(), Constant(5), Sleepy(3.0)):
        registry.register_model(churn, "churn", model, contract=contract, actor="tester")
    return churn


def test_fallback_when_the_primary_raises(
    broken: Store, make_app: AppFactory, frame: pd.DataFrame, home: Path
) -> None:
    name = endpoint(broken, "churn-fb", version=3, fallback=["4"])
    prediction_log = PredictionLog(home / "predictions", flush_interval_s=0.05)
    with live_app(make_app(broken, endpoint=name, prediction_log=prediction_log)) as url:
        body = httpx.post(f"{url}/predict", json={"instances": [row(frame)]}).json()
        v2 = httpx.post(f"{url}/invocations", json={"dataframe_records": [row(frame)]})
        text = httpx.get(f"{url}/metrics").text
    assert (body["predictions"], body["model_version"], body["route"]) == ([5], 4, "fallback")
    assert v2.json() == {"predictions": [5]}
    assert v2.headers["x-steward-route"] == "fallback"
    assert (
        'steward_serving_fallbacks_total{answered_by="churn/4",failed="churn/3",reason="error"}'
        in text
    )
    assert 'route="fallback",status="200",version="churn/4"' in text
    assert [(r["route"], r["model_version"]) for r in logged(home / "predictions")] == [
        ("fallback", 4),
        ("fallback", 4),
    ]


def test_fallback_when_the_primary_is_too_slow(
    broken: Store, make_app: AppFactory, frame: pd.DataFrame
) -> None:
    name = endpoint(broken, "churn-slow", version=5, fallback=["4"], timeout_ms=200)
    with live_app(make_app(broken, endpoint=name)) as url:
        response = httpx.post(f"{url}/predict", json={"instances": [row(frame)]}, timeout=10)
        text = httpx.get(f"{url}/metrics").text
    assert response.elapsed.total_seconds() < 2.5
    assert (response.json()["model_version"], response.json()["route"]) == (4, "fallback")
    assert (
        'steward_serving_fallbacks_total{answered_by="churn/4",failed="churn/5",reason="timeout"}'
        in text
    )


def test_default_response_then_a_clear_error(
    broken: Store, make_app: AppFactory, frame: pd.DataFrame
) -> None:
    with_default = endpoint(broken, "churn-default", version=3, default_response=0)
    bare = endpoint(broken, "churn-bare", version=3)
    with live_app(make_app(broken, endpoint=with_default)) as url:
        body = httpx.post(f"{url}/predict", json={"instances": [row(frame), row(frame, 1)]}).json()
    assert (body["predictions"], body["model_version"], body["route"]) == ([0, 0], None, "fallback")
    with live_app(make_app(broken, endpoint=bare)) as url:
        failed = httpx.post(f"{url}/predict", json={"instances": [row(frame)]})
    assert failed.status_code == 500
    assert (
        "model churn/3 failed (RuntimeError: model exploded)" in failed.json()["error"]["message"]
    )
