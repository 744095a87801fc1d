"""The stored retraining loop as the control plane turns it: each window judged once, a
drift breach retrains, the challenger goes through the policy into a rollout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from distributed import LocalCluster
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from steward import audit, registry
from steward.cli.main import app as cli_app
from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.monitoring.alerts import record_results
from steward.monitoring.metrics import MetricValue
from steward.monitoring.monitors import create_monitor, parse_config
from steward.pipelines import InlineExecutor
from steward.retraining.challenger import train_challenger
from steward.retraining.loop import disable_loop, enable_loop, get_loop, tick_loops
from steward.retraining.rollout import abort_rollout, get_rollout, list_rollouts
from steward.retraining.triggers import parse_trigger_config
from steward.server.app import create_app
from steward.store import Store

H = 3_600_000
D = 24 * H
T0 = 1_700_000_000_000 - 1_700_000_000_000 % H
FEATURES = ["x1", "x2", "x3"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=FEATURES)
    frame["y"] = (frame["x1"] + 0.5 * frame["x2"] + rng.normal(0, 0.5, rows) > 0).astype(int)
    frame["x1x2"] = frame["x1"] * frame["x2"]
    return frame


def _window(store: Store, start: int, drift: float) -> None:
    values = [MetricValue("drift.wasserstein", drift, 2000, feature="x1", drifted=drift > 0.2)]
    record_results(store, "churn-mon", start, start + H, values)


@pytest.fixture
def loop_world(store: Store, tmp_path: Path) -> dict[str, object]:
    """A weak champion (one feature) behind churn-prod, its monitor, a holdout file and the
    loop's config."""
    train = _frame(400, seed=1)
    weak = LogisticRegression().fit(train[["x3"]], train["y"])
    version = registry.register_model(
        store, "churn", weak, sample_input=train[["x3"]].head(5), actor="tester"
    )
    registry.set_alias(store, "churn", "champion", version.version, actor="tester")
    registry.create_endpoint(
        store, "churn-prod", environment="production", model_name="churn", alias="champion",
        actor="tester",
    )  # fmt: skip
    monitor = {"endpoint": "churn-prod", "task": "classification", "window": "1h"}
    create_monitor(store, "churn-mon", parse_config(monitor), actor="tester")
    holdout = tmp_path / "holdout.parquet"
    _frame(400, seed=9).to_parquet(holdout)
    config = {
        "model": "churn",
        "pipeline": "tests.pipelines.example:churn",
        "params": {"rows": 300, "seed": 1},
        "drift": {"monitor": "churn-mon"},
        "guard_rails": {"max_retrains": 5, "period": "7d", "cooldown": "1d"},
        "evaluation": {"path": str(holdout), "label": "y"},
        "rollout": {"endpoint": "churn-prod", "stages": [10, 100], "min_duration": "1m"},
    }
    return {"config": config, "holdout": holdout}


def test_drift_retrains_once_and_the_accepted_challenger_is_rolled_out(
    store: Store, settings: Settings, loop_world: dict[str, object]
) -> None:
    _window(store, T0 - H, drift=0.9)  # history before the loop: not judged
    loop = enable_loop(store, loop_world["config"], actor="tester")  # type: ignore[arg-type]
    assert loop.judged == {"drift:churn-mon": T0 - H - 1}
    with InlineExecutor() as executor:
        # The window present at enabling is judged once; then a calm window; nothing else.
        first = tick_loops(store, settings, now_ms=T0, executor=executor)
        assert len(first) == 1
        outcome = first[0]
        assert outcome.decision.retrain
        assert outcome.version == 2
        assert outcome.accepted is True
        assert outcome.comparison is not None
        assert outcome.comparison.challenger["roc_auc"] > outcome.comparison.champion["roc_auc"]
        assert outcome.rollout is not None
        rollout = get_rollout(store, outcome.rollout.id)
        assert (rollout.status, rollout.stage_percent, rollout.challenger_version) == (
            "running",
            10,
            2,
        )
        assert rollout.evaluation == outcome.comparison.as_evaluation()
        assert tick_loops(store, settings, now_ms=T0 + 1000, executor=executor) == []
        # Drift while the challenger rolls out: the window is claimed, not acted on.
        _window(store, T0, drift=0.9)
        assert tick_loops(store, settings, now_ms=T0 + H, executor=executor) == []
        assert get_loop(store, "churn").judged == {"drift:churn-mon": T0}
        abort_rollout(store, rollout.id, actor="tester")
        # After the rollout, inside the cooldown: held back, and recorded.
        _window(store, T0 + H, drift=0.9)
        held = tick_loops(store, settings, now_ms=T0 + 2 * H, executor=executor)
    assert [o.decision.retrain for o in held] == [False]
    assert "cooldown" in held[0].decision.reason
    actions = [
        e.action for e in audit.list_events(store, target_type="retraining", target_id="churn")
    ]
    assert actions == [
        "retrain.loop_enabled",
        "retrain.triggered",
        "retrain.challenger",
        "retrain.suppressed",
    ]
    [challenger] = audit.list_events(store, action="retrain.challenger")
    assert challenger.after["rollout_id"] == rollout.id
    assert {c["check"] for c in challenger.after["checks"]} == set()  # no policy: no checks


def test_a_challenger_the_policy_refuses_is_registered_but_not_rolled_out(
    store: Store, settings: Settings, loop_world: dict[str, object]
) -> None:
    registry.set_policy(
        store, "churn", "production", "checks:\n  - metric_floor: {metric: roc_auc, min: 0.999}\n",
        actor="lead",
    )  # fmt: skip
    enable_loop(store, loop_world["config"], actor="tester")  # type: ignore[arg-type]
    _window(store, T0, drift=0.9)
    with InlineExecutor() as executor:
        [outcome] = tick_loops(store, settings, now_ms=T0 + H, executor=executor)
    assert outcome.version == 2
    assert outcome.accepted is False
    assert outcome.rollout is None
    assert any("roc_auc" in failure for failure in outcome.failures)
    assert list_rollouts(store) == []
    assert registry.get_alias(store, "churn", "champion").version == 1
    [event] = audit.list_events(store, action="retrain.challenger")
    assert event.after["accepted"] is False


def test_enabling_checks_the_config(
    store: Store, settings: Settings, loop_world: dict[str, object]
) -> None:
    config = dict(loop_world["config"])  # type: ignore[call-overload]
    with pytest.raises(InvalidInput, match="evaluation"):
        enable_loop(store, {k: v for k, v in config.items() if k != "evaluation"}, actor="t")
    with pytest.raises(InvalidInput, match="no drift, performance or schedule"):
        enable_loop(store, {k: v for k, v in config.items() if k != "drift"}, actor="t")
    with pytest.raises(NotFound):
        enable_loop(store, config | {"drift": {"monitor": "absent"}}, actor="t")
    with pytest.raises(NotFound):
        enable_loop(store, config | {"rollout": {"endpoint": "absent"}}, actor="t")
    with pytest.raises(InvalidInput, match="unknown gate"):
        enable_loop(
            store, config | {"rollout": {"endpoint": "churn-prod", "gates": {"max_psi": 1}}},
            actor="t",
        )  # fmt: skip
    with pytest.raises(NotFound):
        get_loop(store, "churn")
    enable_loop(store, config, actor="t")
    assert disable_loop(store, "churn", actor="t").enabled is False
    _window(store, T0, drift=0.9)
    assert tick_loops(store, settings, now_ms=T0 + H) == []  # disabled: nothing judged


def test_cli_enables_lists_ticks_and_shows_history(
    store: Store,
    loop_world: dict[str, object],
    tmp_path: Path,
    home: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump(loop_world["config"]))
    monkeypatch.setenv("STEWARD_HOME", str(home))
    monkeypatch.setenv("STEWARD_DATABASE_URL", database_url)
    runner = CliRunner()
    enabled = runner.invoke(cli_app, ["retrain", "enable", "--config", str(path)])
    assert enabled.exit_code == 0, enabled.output
    assert "enabled" in enabled.output
    listed = runner.invoke(cli_app, ["retrain", "loops"])
    assert listed.exit_code == 0
    assert "churn" in listed.output
    assert "churn-prod" in listed.output
    ticked = runner.invoke(cli_app, ["retrain", "tick"])
    assert ticked.exit_code == 0
    assert ticked.output.strip() == "[]"  # no window yet
    history = runner.invoke(cli_app, ["retrain", "history", "churn", "--json"])
    assert history.exit_code == 0
    assert "retrain.loop_enabled" in history.output
    disabled = runner.invoke(cli_app, ["retrain", "disable", "churn"])
    assert disabled.exit_code == 0
    assert "disabled" in disabled.output
    missing = runner.invoke(cli_app, ["retrain", "disable", "nope"])
    assert missing.exit_code == 2
    assert "no retraining loop" in missing.output


def test_a_scheduled_loop_counts_from_its_enabling(
    store: Store, settings: Settings, loop_world: dict[str, object]
) -> None:
    config = dict(loop_world["config"])  # type: ignore[call-overload]
    del config["drift"]
    config["schedule"] = {"every": "1h"}
    enable_loop(store, config, actor="tester")
    enabled = audit.list_events(store, action="retrain.loop_enabled")[-1].at_ms
    with InlineExecutor() as executor:
        assert tick_loops(store, settings, now_ms=enabled + 30 * 60_000, executor=executor) == []
        [outcome] = tick_loops(store, settings, now_ms=enabled + H + 1, executor=executor)
    assert outcome.decision.retrain
    assert outcome.decision.reason == "scheduled (every 1h)"
    assert outcome.rollout is not None


def test_rest_enables_lists_disables_and_shows_history(
    store: Store, settings: Settings, loop_world: dict[str, object]
) -> None:
    config = dict(loop_world["config"])  # type: ignore[call-overload]
    headers = {"X-Steward-Actor": "lead"}
    with TestClient(create_app(settings, store=store)) as client:
        enabled = client.put("/api/v1/retraining/loops/churn", json=config, headers=headers)
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["enabled"] is True
        listed = client.get("/api/v1/retraining/loops").json()["loops"]
        assert [(loop["model"], loop["enabled"]) for loop in listed] == [("churn", True)]
        other = client.put("/api/v1/retraining/loops/other", json=config, headers=headers)
        assert other.status_code == 422
        assert "the model in the path" in other.json()["error"]["message"]
        bad = client.put(
            "/api/v1/retraining/loops/churn", json=config | {"drift": {"monitor": "absent"}}
        )
        assert bad.status_code == 404
        disabled = client.post("/api/v1/retraining/loops/churn/disable", headers=headers)
        assert disabled.json()["enabled"] is False
        assert client.post("/api/v1/retraining/loops/nope/disable").status_code == 404
        history = client.get("/api/v1/retraining/churn/history").json()["events"]
    assert [e["action"] for e in history] == ["retrain.loop_enabled", "retrain.loop_disabled"]
    assert history[0]["actor"] == "lead"


def test_a_challenger_waits_for_its_approvals_then_rolls_out(
    store: Store, settings: Settings, loop_world: dict[str, object]
) -> None:
    registry.set_policy(
        store, "churn", "production", "approvals: {count: 1, role: approver}\n", actor="lead"
    )
    with_approvers = settings.model_copy(update={"approvers": ["alice"]})
    enable_loop(store, loop_world["config"], actor="tester")  # type: ignore[arg-type]
    _window(store, T0, drift=0.9)
    with InlineExecutor() as executor:
        [waiting] = tick_loops(store, with_approvers, now_ms=T0 + H, executor=executor)
        assert (waiting.version, waiting.accepted, waiting.awaiting_approval) == (2, False, True)
        assert waiting.rollout is None
        assert get_loop(store, "churn").pending == {
            "version": 2,
            "evaluation": waiting.comparison.as_evaluation(),  # type: ignore[union-attr]
        }
        # Still waiting: drift in the meantime is claimed, not retrained on.
        _window(store, T0 + H, drift=0.9)
        assert tick_loops(store, with_approvers, now_ms=T0 + 2 * H, executor=executor) == []
        assert get_loop(store, "churn").judged == {"drift:churn-mon": T0 + H}
        registry.approve(store, "churn", 2, "production", "alice", approvers=["alice"])
        [released] = tick_loops(store, with_approvers, now_ms=T0 + 3 * H, executor=executor)
    assert released.accepted is True
    assert released.rollout is not None
    assert get_rollout(store, released.rollout.id).challenger_version == 2
    assert get_loop(store, "churn").pending is None
    actions = [e.action for e in audit.list_events(store, target_type="retraining")]
    assert actions[-2:] == ["retrain.challenger", "retrain.approved"]
    assert [r.challenger_version for r in list_rollouts(store)] == [2]


def test_one_model_of_a_fleet_has_its_own_loop(
    store: Store, settings: Settings, loop_world: dict[str, object], tmp_path: Path
) -> None:
    monitor = {"endpoint": "churn-prod", "task": "classification", "window": "1h"}
    create_monitor(store, "berlin-mon", parse_config(monitor), actor="tester")
    config = dict(loop_world["config"])  # type: ignore[call-overload]
    config |= {"model": "churn-berlin", "tenant": "berlin", "drift": {"monitor": "berlin-mon"}}
    with pytest.raises(InvalidInput, match="serves model 'churn', not 'churn-berlin'"):
        enable_loop(store, config, actor="t")
    del config["rollout"]
    enable_loop(store, config, actor="tester")
    _window_of(store, "berlin-mon", T0, drift=0.9)
    with InlineExecutor() as executor:
        [outcome] = tick_loops(store, settings, now_ms=T0 + H, executor=executor)
    # The tenant's first version: no champion to compare with, promoted at once.
    assert (outcome.version, outcome.accepted, outcome.promoted) == (1, True, True)
    assert registry.get_alias(store, "churn-berlin", "champion").version == 1
    assert registry.get_alias(store, "churn", "champion").version == 1  # untouched
    wrong = parse_trigger_config(config | {"tenant": "paris"})
    with pytest.raises(InvalidInput, match="registers model 'churn-paris'"):
        train_challenger(store, settings, wrong, _frame(50, 3), "y", executor=InlineExecutor())


def _window_of(store: Store, monitor: str, start: int, drift: float) -> None:
    values = [MetricValue("drift.wasserstein", drift, 2000, feature="x1", drifted=drift > 0.2)]
    record_results(store, monitor, start, start + H, values)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as local_cluster:  # fmt: skip
        yield local_cluster


def test_a_loop_retrains_on_the_dask_cluster_its_config_names(
    store: Store, settings: Settings, loop_world: dict[str, object], cluster: LocalCluster
) -> None:
    config = dict(loop_world["config"])  # type: ignore[call-overload]
    with pytest.raises(InvalidInput, match="executor_address"):
        enable_loop(store, config | {"executor": "dask"}, actor="t")
    address = cluster.scheduler_address
    enable_loop(store, config | {"executor": "dask", "executor_address": address}, actor="t")
    _window(store, T0, drift=0.9)
    scheduler = cluster.scheduler
    assert scheduler is not None
    before = scheduler.transition_counter
    [outcome] = tick_loops(store, settings, now_ms=T0 + H)  # no executor given: the config's
    assert outcome.version == 2
    assert outcome.rollout is not None
    assert scheduler.transition_counter > before  # the steps ran on the cluster
