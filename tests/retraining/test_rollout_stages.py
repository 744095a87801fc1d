"""Rollout stages beyond the live percentages: the shadow stage, the prediction-PSI gate, a
rollout aborted by hand, and the promotion policy having the last word at the last stage."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from steward import registry
from steward.audit import list_events
from steward.cli.main import app as cli_app
from steward.errors import Conflict
from steward.predictions import Label, LabelStore, PredictionLog, PredictionRecord, Route
from steward.retraining.rollout import (
    abort_rollout,
    evaluate_rollout,
    get_rollout,
    list_rollout_events,
    start_rollout,
)
from steward.server.app import create_app
from tests.retraining.conftest import World

T0 = 1_700_000_000_000
MIN = 60_000
LOW = [0.1 + 0.3 * i / 199 for i in range(200)]  # scores spread over 0.1-0.4
HIGH = [0.6 + 0.3 * i / 199 for i in range(200)]  # scores spread over 0.6-0.9


def _serve(
    world: World, start_ms: int, scores: Iterable[float], version: int, route: Route = "primary"
) -> None:
    """Log one answer of `version` per score, one second apart from `start_ms`, each with the
    score as its positive-class probability."""
    log = PredictionLog(world.settings.resolved_predictions_dir, compact_on_start=False)
    records = [
        PredictionRecord(
            prediction_id=f"{start_ms}-{version}-{route}-{i}",
            at_ms=start_ms + i * 1000,
            endpoint="churn-prod",
            model_name="churn",
            model_version=version,
            route=route,
            inputs={"x0": float(i), "x1": 0.0},
            outputs={"prediction": int(s > 0.5), "probabilities": [1 - s, s]},
            latency_ms=3.0,
        )
        for i, s in enumerate(scores)
    ]
    log.append(records)
    log.close()


def _traffic(world: World) -> dict[str, float]:
    endpoint = registry.get_endpoint(world.store, "churn-prod")
    return {t.target: t.weight for t in endpoint.traffic}


def _shadow(world: World) -> tuple[str, ...]:
    return registry.get_endpoint(world.store, "churn-prod").shadow


def _champion(world: World) -> int:
    return registry.get_alias(world.store, "churn", "champion").version


def test_the_shadow_stage_mirrors_then_advances_to_live_traffic(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(0, 50, 100), min_samples=40, min_duration_s=60,
        actor="tester", now_ms=T0,
    )  # fmt: skip
    assert rollout.stage_name == "shadow"
    assert _traffic(world) == {"@champion": 100}
    assert "2" in _shadow(world)
    assert list_rollout_events(world.store, rollout.id)[0].message.startswith("a shadow copy")
    _serve(world, T0, LOW[:45], 2, route="shadow")
    _serve(world, T0, LOW[:60], 1)
    _serve(world, T0, LOW[:5], 1, route="fallback")  # not the shadow's doing
    advanced = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 2 * MIN)
    assert (advanced.status, advanced.stage_percent) == ("running", 50)
    assert advanced.last_evaluation is not None
    assert advanced.last_evaluation["samples"] == 45
    assert advanced.last_evaluation["champion_samples"] == 60
    assert advanced.last_evaluation["error_rate"] == 0.0
    assert "2" not in _shadow(world)
    assert _traffic(world) == {"@champion": 50, "2": 50}
    # The live stage counts primary answers only: shadow ones no longer make samples.
    _serve(world, T0 + 3 * MIN, LOW[:45], 2, route="shadow")
    held = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 6 * MIN)
    assert held.stage_percent == 50
    assert held.last_evaluation is not None
    assert held.last_evaluation["samples"] == 0


def test_a_breach_at_the_shadow_stage_removes_the_shadow_copy(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(0, 100), min_samples=10, min_duration_s=60,
        gates={"max_prediction_psi": 0.2}, actor="tester", now_ms=T0,
    )  # fmt: skip
    _serve(world, T0, HIGH, 2, route="shadow")
    _serve(world, T0, LOW, 1)
    rolled = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 5 * MIN)
    assert (rolled.status, rolled.stage_name) == ("rolled_back", "shadow")
    assert rolled.last_evaluation is not None
    assert rolled.last_evaluation["samples"] == 200
    assert "prediction PSI" in rolled.last_evaluation["breaches"][0]
    assert "2" not in _shadow(world)
    assert _traffic(world) == {"@champion": 100}
    assert _champion(world) == 1


def test_a_shifted_prediction_distribution_breaches_the_psi_gate(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(10, 100), min_samples=50, min_duration_s=60,
        gates={"max_prediction_psi": 0.2}, actor="tester", now_ms=T0,
    )  # fmt: skip
    # Below 30 answers a side there is no PSI, so no breach: the stage holds.
    _serve(world, T0, HIGH[:20], 2)
    _serve(world, T0, LOW[:20], 1)
    held = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 30_000)
    assert held.status == "running"
    assert held.last_evaluation is not None
    assert held.last_evaluation["prediction_psi"] is None
    _serve(world, T0 + 40_000, HIGH, 2)
    _serve(world, T0 + 40_000, LOW, 1)
    rolled = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 10 * MIN)
    assert (rolled.status, rolled.stage_percent) == ("rolled_back", 10)
    assert rolled.last_evaluation is not None
    assert rolled.last_evaluation["prediction_psi"] > 0.2
    assert _traffic(world) == {"@champion": 100}
    events = list_rollout_events(world.store, rollout.id)
    assert [e.kind for e in events] == ["started", "rolled_back"]
    assert "prediction PSI" in events[-1].message


def test_a_similar_prediction_distribution_passes_the_psi_gate(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(10, 100), min_samples=50, min_duration_s=60,
        gates={"max_prediction_psi": 0.2}, actor="tester", now_ms=T0,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    _serve(world, T0, rng.beta(2, 5, size=300), 2)
    _serve(world, T0, rng.beta(2, 5, size=300), 1)
    advanced = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 10 * MIN)
    assert (advanced.status, advanced.stage_percent) == ("running", 100)
    assert advanced.last_evaluation is not None
    assert advanced.last_evaluation["prediction_psi"] is not None
    assert advanced.last_evaluation["prediction_psi"] < 0.1
    assert advanced.last_evaluation["breaches"] == []


def test_abort_by_function_sends_traffic_back_and_is_audited(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(0, 50, 100), actor="tester", now_ms=T0
    )
    aborted = abort_rollout(
        world.store, rollout.id, actor="oncall", reason="pager noise", now_ms=T0 + MIN
    )
    assert aborted.status == "aborted"
    assert _traffic(world) == {"@champion": 100}
    assert "2" not in _shadow(world)
    assert _champion(world) == 1
    events = list_rollout_events(world.store, rollout.id)
    assert [e.kind for e in events] == ["started", "aborted"]
    assert "oncall" in events[-1].message
    assert "pager noise" in events[-1].message
    audited = list_events(world.store, action="rollout.abort")
    assert [(e.actor, e.target_id) for e in audited] == [("oncall", str(rollout.id))]
    with pytest.raises(Conflict, match="already aborted"):
        abort_rollout(world.store, rollout.id, actor="oncall")
    # Evaluating a finished rollout changes nothing.
    _serve(world, T0 + 2 * MIN, LOW, 2, route="shadow")
    after = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 20 * MIN)
    assert (after.status, after.stage_percent) == ("aborted", 0)


def test_abort_by_cli(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rollout = start_rollout(world.store, "churn-prod", 2, stages=(20, 100), actor="tester")
    assert _traffic(world) == {"@champion": 80, "2": 20}
    monkeypatch.setenv("STEWARD_HOME", str(world.home))
    monkeypatch.setenv("STEWARD_DATABASE_URL", world.url)
    runner = CliRunner()
    command = ["rollouts", "abort", str(rollout.id), "--reason", "bad canary"]
    first = runner.invoke(cli_app, command)
    assert first.exit_code == 0, first.output
    assert "aborted" in first.output
    assert get_rollout(world.store, rollout.id).status == "aborted"
    assert _traffic(world) == {"@champion": 100}
    assert "bad canary" in list_rollout_events(world.store, rollout.id)[-1].message
    again = runner.invoke(cli_app, command)
    assert again.exit_code == 2
    assert "already aborted" in again.output


def test_abort_by_rest(world: World) -> None:
    rollout = start_rollout(world.store, "churn-prod", 2, stages=(0, 100), actor="tester")
    url = f"/api/v1/rollouts/{rollout.id}/abort"
    with TestClient(create_app(world.settings, store=world.store)) as client:
        aborted = client.post(
            url, json={"reason": "rollback drill"}, headers={"X-Steward-Actor": "sre"}
        )
        assert aborted.status_code == 200, aborted.text
        body = aborted.json()
        assert body["status"] == "aborted"
        assert [e["kind"] for e in body["events"]] == ["started", "aborted"]
        assert "rollback drill" in body["events"][-1]["message"]
        assert _traffic(world) == {"@champion": 100}
        assert "2" not in _shadow(world)
        again = client.post(url)
        assert again.status_code == 409, again.text
        assert again.json()["error"]["type"] == "conflict"
        assert client.post("/api/v1/rollouts/999/abort").status_code == 404
        bad = client.post(url, json={"reason": "x", "extra": 1})
        assert bad.status_code == 422
    assert [e.actor for e in list_events(world.store, action="rollout.abort")] == ["sre"]


def _reach_the_last_stage(world: World, evaluation: dict[str, dict[str, float]]) -> int:
    """Start a 50/100 rollout with `evaluation` and serve it to its last stage; its id."""
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(50, 100), min_samples=20, min_duration_s=60,
        evaluation=evaluation, actor="tester", now_ms=T0,
    )  # fmt: skip
    _serve(world, T0, LOW[:30], 2)
    stage = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 2 * MIN)
    assert (stage.status, stage.stage_percent) == ("running", 100)
    _serve(world, T0 + 3 * MIN, LOW[:30], 2)
    return rollout.id


def test_a_policy_refusal_at_the_last_stage_rolls_back(world: World) -> None:
    policy = "checks:\n  - metric_floor: {metric: roc_auc, min: 0.99}\n"
    registry.set_policy(world.store, "churn", "production", policy, actor="lead")
    rollout_id = _reach_the_last_stage(
        world, {"challenger": {"roc_auc": 0.8}, "champion": {"roc_auc": 0.78}}
    )
    assert _traffic(world) == {"2": 100}
    rolled = evaluate_rollout(world.store, world.settings, rollout_id, now_ms=T0 + 6 * MIN)
    assert (rolled.status, rolled.stage_percent) == ("rolled_back", 100)
    assert _champion(world) == 1
    assert _traffic(world) == {"@champion": 100}
    event = list_rollout_events(world.store, rollout_id)[-1]
    assert event.kind == "rolled_back"
    assert "production policy refused" in event.message
    assert "roc_auc" in event.message
    refused = list_events(world.store, action="model.promote_refused")
    assert [e.target_id for e in refused] == ["churn/2"]
    failed = [c for c in refused[0].after["checks"] if not c["passed"]]
    assert [(c["check"], c["challenger"]) for c in failed] == [("metric_floor[roc_auc]", 0.8)]
    assert list_events(world.store, action="model.promote") == []


def test_a_passing_policy_promotes_with_the_given_evaluation(world: World) -> None:
    policy = (
        "checks:\n"
        "  - metric_floor: {metric: roc_auc, min: 0.7}\n"
        "  - metric_vs_champion: {metric: roc_auc, min_delta: -0.005}\n"
    )
    registry.set_policy(world.store, "churn", "production", policy, actor="lead")
    rollout_id = _reach_the_last_stage(
        world, {"challenger": {"roc_auc": 0.8}, "champion": {"roc_auc": 0.78}}
    )
    assert get_rollout(world.store, rollout_id).evaluation == {
        "challenger": {"roc_auc": 0.8},
        "champion": {"roc_auc": 0.78},
    }
    promoted = evaluate_rollout(world.store, world.settings, rollout_id, now_ms=T0 + 6 * MIN)
    assert promoted.status == "promoted"
    assert _champion(world) == 2
    assert _traffic(world) == {"@champion": 100}
    assert promoted.last_evaluation is not None
    checks = promoted.last_evaluation["policy_checks"]
    assert [(c["check"], c["passed"]) for c in checks] == [
        ("metric_floor[roc_auc]", True),
        ("metric_vs_champion[roc_auc]", True),
    ]
    audited = list_events(world.store, action="model.promote")
    assert [e.target_id for e in audited] == ["churn/2"]
    assert audited[0].after["environment"] == "production"
    assert list_events(world.store, action="model.promote_refused") == []


def test_realised_accuracy_on_late_labels_gates_the_challenger(world: World) -> None:
    rollout = start_rollout(
        world.store, "churn-prod", 2, stages=(10, 100), min_samples=50, min_duration_s=60,
        gates={"max_accuracy_drop": 0.05}, actor="tester", now_ms=T0,
    )  # fmt: skip
    scores = [0.9 if i % 2 else 0.1 for i in range(60)]  # predictions 1, 0, 1, 0, ...
    _serve(world, T0, scores, 1)
    _serve(world, T0, scores, 2)
    labels = LabelStore(world.settings.resolved_predictions_dir)
    # Too few labels yet: no verdict, the stage holds on time.
    truth = [i % 2 for i in range(60)]
    few = [Label(f"{T0}-2-primary-{i}", label=1 - truth[i]) for i in range(10)]
    labels.ingest("churn-prod", few)
    held = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 30_000)
    assert held.status == "running"
    assert held.last_evaluation is not None
    assert held.last_evaluation["accuracy_drop"] is None
    # The champion is right on every labelled answer, the challenger on half of them.
    champion = [Label(f"{T0}-1-primary-{i}", label=truth[i]) for i in range(60)]
    challenger = [
        Label(f"{T0}-2-primary-{i}", label=truth[i] if i < 30 else 1 - truth[i])
        for i in range(10, 60)
    ]
    labels.ingest("churn-prod", champion + challenger)
    rolled = evaluate_rollout(world.store, world.settings, rollout.id, now_ms=T0 + 2 * MIN)
    assert rolled.status == "rolled_back"
    assert rolled.last_evaluation is not None
    assert rolled.last_evaluation["champion_accuracy"] == 1.0
    assert rolled.last_evaluation["accuracy"] == pytest.approx(20 / 60)
    assert "accuracy on labelled answers" in rolled.last_evaluation["breaches"][0]
