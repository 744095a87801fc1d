"""Progressive rollout end to end: real registered scikit-learn versions, predictions written
through the real prediction log, stages advanced, promoted or rolled back from what it shows."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from steward import registry
from steward.audit import list_events
from steward.cli.main import app as cli_app
from steward.demo.monitoring import WebhookReceiver
from steward.errors import Conflict, InvalidInput
from steward.monitoring.alerts import list_alerts
from steward.monitoring.monitors import create_monitor, parse_config
from steward.predictions import PredictionLog, PredictionRecord
from steward.retraining.rollout import (
    evaluate_rollout,
    get_rollout,
    list_rollout_events,
    start_rollout,
    tick_rollouts,
)
from steward.server.app import create_app
from steward.store import Database, LocalArtifactStore, Store
from tests.retraining.conftest import World

T0 = 1_700_000_000_000
MIN = 60_000


def _serve(
    world: World, start_ms: int, rows: int, version: int, *, fallback_every: int = 0
) -> None:
    """Log `rows` answers of `version` one second apart from `start_ms`; every
    `fallback_every`-th one answered by the fallback instead (route `fallback`, version 1)."""
    log = PredictionLog(world.settings.resolved_predictions_dir, compact_on_start=False)
    records = []
    for i in range(rows):
        failed = fallback_every and i % fallback_every == 0
        records.append(
            PredictionRecord(
                prediction_id=f"{start_ms}-{version}-{i}",
                at_ms=start_ms + i * 1000,
                endpoint="churn-prod",
                model_name="churn",
                model_version=1 if failed else version,
                route="fallback" if failed else "primary",
                inputs={"x0": float(i), "x1": 0.0},
                outputs={"prediction": i % 2},
                latency_ms=3.0,
            )
        )
    log.append(records)
    log.close()


def _traffic(world: World) -> dict[str, float]:
    endpoint = registry.get_endpoint(world.store, "churn-prod")
    return {t.target: t.weight for t in endpoint.traffic}


def test_a_healthy_challenger_goes_10_50_100_and_is_promoted(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, min_samples=50, min_duration_s=600, actor="tester",
        now_ms=T0,
    )  # fmt: skip
    assert _traffic(world) == {"@champion": 90, "2": 10}
    _serve(world, T0, 60, 2)
    _serve(world, T0, 500, 1)
    # Enough samples but not enough time: the stage holds.
    held = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 5 * MIN)
    assert (held.status, held.stage_percent) == ("running", 10)
    assert held.last_evaluation is not None
    assert held.last_evaluation["samples"] == 60
    stage2 = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 11 * MIN)
    assert (stage2.status, stage2.stage_percent) == ("running", 50)
    assert _traffic(world) == {"@champion": 50, "2": 50}
    # The new stage counts only its own answers: none yet, so it holds.
    again = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 22 * MIN)
    assert again.stage_percent == 50
    assert again.last_evaluation is not None
    assert again.last_evaluation["samples"] == 0
    _serve(world, T0 + 23 * MIN, 100, 2)
    stage3 = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 30 * MIN)
    assert stage3.stage_percent == 100
    assert _traffic(world) == {"2": 100}
    _serve(world, T0 + 31 * MIN, 100, 2)
    done = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 45 * MIN)
    assert done.status == "promoted"
    assert registry.get_alias(world.store, "churn", "champion").version == 2
    assert _traffic(world) == {"@champion": 100}
    kinds = [e.kind for e in list_rollout_events(world.store, rollout.id)]
    assert kinds == ["started", "advanced", "advanced", "promoted"]
    actions = [e.action for e in list_events(world.store, target_type="rollout")]
    assert sorted(actions) == sorted(
        ["rollout.start", "rollout.advance", "rollout.advance", "rollout.promote"]
    )
    # A finished rollout is left as it is.
    assert evaluate_rollout(world.store, world.settings, rollout.id).status == "promoted"


def test_a_challenger_with_5_percent_fallbacks_is_rolled_back_at_10_percent(
    world: World,
) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, min_samples=50, min_duration_s=60,
        gates={"max_error_rate": 0.02, "max_p99_ms": 50}, actor="tester", now_ms=T0,
    )  # fmt: skip
    _serve(world, T0, 400, 2, fallback_every=20)  # 5% of the challenger's requests fail
    rolled = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 10 * MIN)
    assert (rolled.status, rolled.stage_percent) == ("rolled_back", 10)
    assert _traffic(world) == {"@champion": 100}
    assert registry.get_alias(world.store, "churn", "champion").version == 1
    events = list_rollout_events(world.store, rollout.id)
    assert [e.kind for e in events] == ["started", "rolled_back"]
    assert events[-1].details["error_rate"] == pytest.approx(20 / 400)
    assert events[-1].details["samples"] == 380
    assert "error rate" in events[-1].message
    assert tick_rollouts(world.store, world.settings, now_ms=T0 + 20 * MIN) == []


def test_a_slow_challenger_breaches_the_latency_gate(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, gates={"max_p99_ms": 2.0}, actor="tester", now_ms=T0
    )
    _serve(world, T0, 10, 2)  # 3 ms each
    rolled = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + MIN)
    assert rolled.status == "rolled_back"
    assert rolled.last_evaluation is not None
    assert rolled.last_evaluation["p99_ms"] == 3.0


def test_state_survives_reopening_the_store(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(20, 100), min_samples=10, min_duration_s=60,
        actor="tester", now_ms=T0,
    )  # fmt: skip
    _serve(world, T0, 20, 2)
    evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 2 * MIN)
    reopened = Store(db=Database(world.url), artifacts=LocalArtifactStore(world.home / "a"))
    try:
        found = get_rollout(reopened, rollout.id)
        assert (found.status, found.stage_percent) == ("running", 100)
        assert found.stage_started_at == get_rollout(world.store, rollout.id).stage_started_at
        _serve(world, T0 + 3 * MIN, 20, 2)
        ticked = tick_rollouts(reopened, world.settings, now_ms=T0 + 5 * MIN)
        assert [(r.id, r.status) for r in ticked] == [(rollout.id, "promoted")]
    finally:
        reopened.close()


def test_bad_rollouts_are_refused(world: World) -> None:
    with pytest.raises(InvalidInput, match="stages"):
        start_rollout(world.store, "churn-prod", 2, stages=(50, 10), actor="tester")
    with pytest.raises(InvalidInput, match="accepted: max_error_rate"):
        start_rollout(world.store, "churn-prod", 2, gates={"max_psi": 1}, actor="tester")
    with pytest.raises(InvalidInput, match="already the champion"):
        start_rollout(world.store, "churn-prod", 1, actor="tester")
    start_rollout(world.store, "churn-prod", 2, actor="tester")
    with pytest.raises(Conflict, match="already running"):
        start_rollout(world.store, "churn-prod", 2, actor="tester")


def test_rest_and_cli(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(world.settings, store=world.store)) as client:
        body = {"endpoint": "churn-prod", "version": 2, "min_samples": 5, "min_duration_s": 0}
        created = client.post("/api/v1/rollouts", json=body, headers={"X-Steward-Actor": "a"})
        assert created.status_code == 201, created.text
        rollout_id = created.json()["id"]
        assert created.json()["stage_percent"] == 10
        assert client.get("/api/v1/rollouts").json()["rollouts"][0]["id"] == rollout_id
        shown = client.get(f"/api/v1/rollouts/{rollout_id}").json()
        assert [e["kind"] for e in shown["events"]] == ["started"]
        assert client.get("/api/v1/rollouts/999").status_code == 404
        evaluated = client.post(f"/api/v1/rollouts/{rollout_id}/evaluate").json()
        assert evaluated["status"] == "running"
        assert evaluated["last_evaluation"]["samples"] == 0
        bad = client.post("/api/v1/rollouts", json=body | {"stages": [10, 20]})
        assert bad.status_code == 422
    monkeypatch.setenv("STEWARD_HOME", str(world.home))
    monkeypatch.setenv("STEWARD_DATABASE_URL", world.url)
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["rollouts", "list"])
    assert listed.exit_code == 0
    assert "churn-prod" in listed.output
    shown_cli = runner.invoke(cli_app, ["rollouts", "show", str(rollout_id), "--json"])
    assert shown_cli.exit_code == 0
    assert '"started"' in shown_cli.output
    evaluated_cli = runner.invoke(cli_app, ["rollouts", "evaluate", str(rollout_id)])
    assert evaluated_cli.exit_code == 0
    assert "running" in evaluated_cli.output
    conflict = runner.invoke(cli_app, ["rollouts", "start", "churn-prod", "2"])
    assert conflict.exit_code == 2
    assert "already running" in conflict.output


def test_the_control_plane_scheduler_evaluates_running_rollouts(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(100,), min_samples=0, min_duration_s=0,
        actor="tester",
    )  # fmt: skip
    settings = world.settings.model_copy(
        update={"scheduler_enabled": True, "scheduler_interval_s": 0.05}
    )
    with TestClient(create_app(settings, store=world.store)):
        deadline = time.monotonic() + 20
        while get_rollout(world.store, rollout.id).status == "running":
            assert time.monotonic() < deadline, "the scheduler never evaluated the rollout"
            time.sleep(0.05)
    assert get_rollout(world.store, rollout.id).status == "promoted"
    assert registry.get_alias(world.store, "churn", "champion").version == 2


def test_a_rollback_raises_an_alert_through_the_alert_channels(world: World) -> None:
    monitor = parse_config({"endpoint": "churn-prod", "task": "classification", "window": "1h"})
    create_monitor(world.store, "churn-mon", monitor, actor="tester")
    rollout = start_rollout(world.store, "churn-prod", 2, min_samples=50, actor="tester", now_ms=T0)
    _serve(world, T0, 400, 2, fallback_every=20)
    with WebhookReceiver() as receiver:
        settings = world.settings.model_copy(
            update={"alert_webhook_url": receiver.url, "alert_webhook_attempts": 1}
        )
        rolled = evaluate_rollout(world.store, settings, rollout.id, now_ms=T0 + 10 * MIN)
        received = receiver.wait_for(1, timeout_s=5)
    assert rolled.status == "rolled_back"
    [alert] = list_alerts(world.store, monitor="churn-mon")
    assert (alert.rule, alert.key, alert.state) == (
        "churn-mon-rollout-rollback",
        f"rollout={rollout.id}",
        "firing",
    )
    assert alert.severity == "critical"
    assert len(received) == 1
    assert "rollout.rolled_back" in received[0]["text"]
    # Another rollback fires its own alert; the rule is made once.
    again = start_rollout(world.store, "churn-prod", 2, min_samples=50, actor="t", now_ms=T0)
    _serve(world, T0 + 20 * MIN, 400, 2, fallback_every=20)
    evaluate_rollout(world.store, world.settings, again.id, now_ms=T0 + 30 * MIN)
    keys = sorted(a.key for a in list_alerts(world.store, monitor="churn-mon"))
    assert keys == [f"rollout={rollout.id}", f"rollout={again.id}"]
