"""Monitors end to end: a real model's logged predictions and late labels, windows computed
from the Parquet log, results stored as time series, alerts firing, API and CLI."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from steward import registry
from steward.cli.main import app as cli_app
from steward.config import Settings
from steward.contracts import infer_contract
from steward.errors import InvalidInput, NotFound
from steward.monitoring.alerts import list_alerts
from steward.monitoring.monitors import create_monitor, get_monitor, parse_config, update_monitor
from steward.monitoring.runs import run_due, run_monitor
from steward.monitoring.timeseries import query_results, query_windows
from steward.predictions import Label, LabelStore, PredictionLog, PredictionRecord
from steward.server.app import create_app
from steward.stats import profile
from steward.store import Store, open_store

H = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % H  # an hour boundary
FEATURES = ["income", "age", "tenure"]
REGIONS = np.array(["north", "south", "east"])


@dataclass
class World:
    settings: Settings
    store: Store
    model: Any


def _frame(rows: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50.0 + shift * 10.0, 10.0, rows),
            "age": rng.normal(40.0, 8.0, rows),
            "tenure": rng.gamma(2.0, 5.0, rows),
            "region": rng.choice(REGIONS, rows),
        }
    )


def _truth(frame: pd.DataFrame, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    logit = 0.08 * (frame["income"] - 50) - 0.05 * (frame["age"] - 40)
    return (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(home=tmp_path / ".steward", actor="tester", scheduler_enabled=False)
    store = open_store(settings)
    train = _frame(5000, seed=1)
    model = LogisticRegression().fit(train[FEATURES], _truth(train, 2))
    version = registry.register_model(
        store,
        "churn",
        model,
        sample_input=train[FEATURES].head(20),
        contract=infer_contract(train[FEATURES], name="churn").to_dict(),
        profile=profile(train[FEATURES]).to_dict(),
        actor="tester",
    )
    registry.set_alias(store, "churn", "champion", version.version, actor="tester")
    registry.create_endpoint(
        store, "churn-prod", environment="production", model_name="churn", alias="champion",
        actor="tester",
    )  # fmt: skip
    try:
        yield World(settings, store, model)
    finally:
        store.close()


def _serve(
    world: World,
    hour: int,
    rows: int,
    *,
    seed: int,
    shift: float = 0.0,
    region: str | None = None,
) -> list[str]:
    """Log `rows` predictions of the real model inside hour `hour` after T0, income shifted
    by `shift` standard deviations (in `region` only, when given); their ids."""
    frame = _frame(rows, seed)
    moved = frame["region"] == region if region is not None else np.ones(rows, dtype=bool)
    frame.loc[moved, "income"] += shift * 10.0
    scores = world.model.predict_proba(frame[FEATURES])[:, 1]
    log = PredictionLog(world.settings.resolved_predictions_dir, compact_on_start=False)
    inputs = frame[FEATURES].to_dict(orient="records")
    records = [
        PredictionRecord(
            prediction_id=f"h{hour}-{i}",
            at_ms=T0 + hour * H + i * (H // rows),
            endpoint="churn-prod",
            model_name="churn",
            model_version=1,
            route="primary",
            inputs={str(name): value for name, value in inputs[i].items()},
            outputs={
                "prediction": int(scores[i] > 0.5),
                "probabilities": [1 - scores[i], scores[i]],
            },
            latency_ms=0.4,
            segment={"region": str(frame["region"].iat[i])},
        )
        for i in range(rows)
    ]
    log.append(records)
    log.close()
    truth = _truth(frame, seed + 1000)
    labels = [Label(r.prediction_id, label=int(truth[i])) for i, r in enumerate(records) if i % 2]
    LabelStore(world.settings.resolved_predictions_dir).ingest("churn-prod", labels)
    return [r.prediction_id for r in records]


def _config(**overrides: Any) -> Any:
    document = {"endpoint": "churn-prod", "window": "1h", "delay": "1m", "segments": ["region"]}
    document |= {"task": "classification", "start": "2023-11-14T22:00:00Z"}
    return parse_config(document | overrides)


def _value(world: World, metric: str, hour: int, *, feature: str | None = None) -> float | None:
    found = query_results(
        world.store, "churn", metric=metric, feature=feature, segment="", start_ms=T0 + hour * H,
        end_ms=T0 + hour * H + 1,
    )  # fmt: skip
    assert len(found) == 1, (metric, feature, found)
    return found[0].value


def test_windows_are_computed_stored_and_alerted(world: World) -> None:
    for hour in range(4):
        _serve(world, hour, 1000, seed=hour)
    _serve(world, 4, 1000, seed=4, shift=1.0)  # income moves up by one standard deviation
    create_monitor(world.store, "churn", _config(start=None), actor="tester")
    runs = run_monitor(
        world.store, world.settings, "churn", start_ms=T0, end_ms=T0 + 5 * H, notifiers=()
    )
    assert [r.status for r in runs] == ["ok"] * 5
    assert [r.rows for r in runs] == [1000] * 5
    assert [r.labelled_rows for r in runs] == [500] * 5

    psi = [_value(world, "drift.psi", h, feature="income") or 0.0 for h in range(5)]
    assert max(psi[:4]) < 0.1 < psi[4]
    # Realised performance equals scikit-learn's on the labelled rows of the window.
    assert _value(world, "labelled_share", 0) == pytest.approx(0.5)
    assert 0.5 < (_value(world, "perf.roc_auc", 0) or 0) < 1
    firing = {(a.rule, a.key) for a in list_alerts(world.store, state="firing", monitor="churn")}
    # Income drives the model, so its predictions moved too; no other feature is blamed.
    assert {key for rule, key in firing if rule == "churn-input-drift"} == {"feature=income"}
    assert ("churn-prediction-drift", "overall") in firing
    # The windows, their versions and the metric gauges are all there to be read.
    windows = query_windows(world.store, "churn")
    assert [w.window_start_ms for w in windows] == [T0 + h * H for h in reversed(range(5))]


def test_rerunning_a_window_gives_the_same_rows(world: World) -> None:
    _serve(world, 0, 600, seed=7)
    create_monitor(world.store, "churn", _config(), actor="tester")
    first = run_monitor(world.store, world.settings, "churn", start_ms=T0, end_ms=T0 + H)
    before = query_results(world.store, "churn")
    again = run_monitor(world.store, world.settings, "churn", start_ms=T0, end_ms=T0 + H)
    after = query_results(world.store, "churn")
    assert first[0].metrics == again[0].metrics
    assert [(p.metric, p.feature, p.segment, p.value) for p in after] == [
        (p.metric, p.feature, p.segment, p.value) for p in before
    ]


def test_the_scheduler_catches_up_missed_windows_and_relabels(world: World) -> None:
    ids = _serve(world, 0, 400, seed=3)
    _serve(world, 1, 400, seed=4)
    create_monitor(world.store, "churn", _config(start="2023-11-14T22:00:00Z"), actor="tester")
    runs = run_due(world.store, world.settings, now_ms=T0 + 2 * H + 120_000, notifiers=())
    assert [r.window.start_ms for r in runs] == [T0, T0 + H]  # caught up, oldest first
    assert run_due(world.store, world.settings, now_ms=T0 + 2 * H + 180_000, notifiers=()) == []
    # Labels for the remaining rows of hour 0 arrive late: that window is recomputed.
    late = [Label(i, label=1) for n, i in enumerate(ids) if n % 2 == 0]
    LabelStore(world.settings.resolved_predictions_dir).ingest("churn-prod", late)
    again = run_due(world.store, world.settings, now_ms=T0 + 2 * H + 240_000, notifiers=())
    # Every computed window within the lookback is recomputed (labels are per endpoint).
    assert [(r.window.start_ms, r.labelled_rows) for r in again] == [(T0, 400), (T0 + H, 200)]
    assert _value(world, "labelled_share", 0) == pytest.approx(1.0)


def test_an_empty_window_is_recorded_as_empty(world: World) -> None:
    create_monitor(world.store, "churn", _config(), actor="tester")
    runs = run_monitor(world.store, world.settings, "churn", start_ms=T0, end_ms=T0 + H)
    assert [(r.status, r.rows) for r in runs] == [("empty", 0)]
    assert _value(world, "rows", 0) == 0


def test_configs_are_versioned_and_bad_ones_named(world: World) -> None:
    monitor = create_monitor(world.store, "churn", _config(), actor="tester")
    assert monitor.version == 1
    updated = update_monitor(world.store, "churn", config=_config(window="1d"), actor="tester")
    assert (updated.version, updated.config.window) == (2, "1d")
    same = update_monitor(world.store, "churn", config=_config(window="1d"), actor="tester")
    assert same.version == 2
    with pytest.raises(InvalidInput, match=r"window") as caught:
        parse_config({"endpoint": "churn-prod", "task": "regression", "window": "sometimes"})
    assert caught.value.field == "window"
    with pytest.raises(NotFound, match="churn-prod"):
        create_monitor(world.store, "other", _config(endpoint="churn-prdo"), actor="tester")
    with pytest.raises(NotFound, match="monitors: churn"):
        get_monitor(world.store, "chrun")


def test_api_and_cli(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(world, 0, 500, seed=11)
    app = create_app(world.settings, store=world.store)
    with TestClient(app) as client:
        created = client.post(
            "/api/v1/monitors",
            json={"name": "churn", "config": {"endpoint": "churn-prod", "task": "classification"}},
        )
        assert created.status_code == 201, created.text
        bad = client.post(
            "/api/v1/monitors",
            json={
                "name": "x",
                "config": {"endpoint": "churn-prod", "task": "regression", "window": 0},
            },
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "window"
        ran = client.post(
            "/api/v1/monitors/churn/run",
            json={"start": "2023-11-14T22:00:00Z", "end": "2023-11-14T23:00:00Z"},
        )
        assert ran.status_code == 200, ran.text
        assert [r["rows"] for r in ran.json()["runs"]] == [500]
        series = client.get("/api/v1/monitors/churn/results", params={"metric": "rows"}).json()
        assert [p["value"] for p in series["results"]] == [500]
        metrics = client.get("/metrics").text
        assert 'steward_monitor_value{endpoint="churn-prod",feature="",metric="rows"' in metrics
        assert client.get("/api/v1/monitors/nope").status_code == 404
    monkeypatch.setenv("STEWARD_HOME", str(world.settings.home))
    shown = CliRunner().invoke(cli_app, ["monitors", "show", "churn", "--metric", "rows"])
    assert shown.exit_code == 0, shown.output
    assert "churn v1 on churn-prod" in shown.output
    listed = CliRunner().invoke(cli_app, ["monitors", "list", "--json"])
    assert '"name": "churn"' in listed.output


def test_a_seasonal_pattern_is_not_alerted_against_the_seasonal_baseline(world: World) -> None:
    season = [0.0, 1.5, 0.0, -1.5]  # income swings every 4 hours, the same each cycle
    for hour in range(12):
        _serve(world, hour, 1000, seed=40 + hour, shift=season[hour % 4])
    create_monitor(world.store, "churn", _config(seasonal_period="4h"), actor="tester")
    run_monitor(world.store, world.settings, "churn", start_ms=T0, end_ms=T0 + 12 * H, notifiers=())
    # Against training the swing is drift; against the same hour a cycle earlier it is not.
    assert (_value(world, "drift.psi", 5, feature="income") or 0) > 0.2
    seasonal = [_value(world, "seasonal_drift.psi", h, feature="income") for h in range(4, 12)]
    assert max(v or 0 for v in seasonal) < 0.1
    assert query_results(world.store, "churn", metric="seasonal_drift.psi", end_ms=T0 + 4 * H) == []
    assert list_alerts(world.store, monitor="churn") == []


def _fired(runs: list[Any]) -> list[tuple[int, str, str]]:
    return [
        (n, t.rule.name, t.key) for n, run in enumerate(runs) for t in run.transitions
        if t.kind == "fired"
    ]  # fmt: skip


def test_default_rules_stay_quiet_for_50_windows_then_catch_a_shift(world: World) -> None:
    for hour in range(50):
        _serve(world, hour, 1000, seed=200 + hour)
    _serve(world, 50, 1000, seed=250, shift=0.5)  # half a standard deviation, one feature
    create_monitor(world.store, "churn", _config(), actor="tester")
    runs = run_monitor(
        world.store, world.settings, "churn", start_ms=T0, end_ms=T0 + 51 * H, notifiers=()
    )
    assert [r.status for r in runs] == ["ok"] * 51
    fired = _fired(runs)
    assert [f for f in fired if f[0] < 50] == []  # 50 stationary windows: not one alert
    assert (50, "churn-input-drift", "feature=income") in fired
    assert {key for n, rule, key in fired if rule == "churn-input-drift"} == {"feature=income"}


def test_a_shift_in_one_segment_is_found_there_and_named(world: World) -> None:
    for hour in range(3):
        _serve(world, hour, 3300, seed=300 + hour)
    _serve(world, 3, 3300, seed=303, shift=0.8, region="south")
    create_monitor(world.store, "churn", _config(), actor="tester")
    runs = run_monitor(
        world.store, world.settings, "churn", start_ms=T0, end_ms=T0 + 4 * H, notifiers=()
    )
    fired = _fired(runs)
    assert [f for f in fired if f[0] < 3] == []
    assert (3, "churn-segment-drift", "feature=income,segment=region=south") in fired
    assert not any(rule == "churn-segment-drift" and "south" not in key for _, rule, key in fired)
    firing = list_alerts(world.store, state="firing", monitor="churn")
    assert any("region=south" in alert.key for alert in firing)


def test_the_control_plane_scheduler_computes_due_windows(world: World) -> None:
    _serve(world, 0, 300, seed=500)
    create_monitor(world.store, "churn", _config(), actor="tester")
    settings = world.settings.model_copy(
        update={"scheduler_enabled": True, "scheduler_interval_s": 0.1}
    )
    # Three hours later: the scheduler catches up the three windows, oldest first.
    later = dataclasses.replace(world.store, clock=lambda: T0 + 3 * H + 120_000)
    started = time.monotonic()
    with TestClient(create_app(settings, store=later)):
        while len(query_windows(world.store, "churn")) < 3:
            assert time.monotonic() - started < 30, "the scheduler did not catch up"
            time.sleep(0.05)
    assert time.monotonic() - started < 10  # and it stops promptly with the app
    windows = query_windows(world.store, "churn")
    assert [w.window_start_ms for w in windows] == [T0 + 2 * H, T0 + H, T0]
    assert [(w.status, w.rows) for w in windows] == [("empty", 0), ("empty", 0), ("ok", 300)]
