"""The demo's code path, as `steward demo` runs it, on a fresh home."""

from __future__ import annotations

from steward import audit, registry, tracking
from steward.config import Settings
from steward.demo.scenario import run_demo
from steward.store import open_store


def test_demo_trains_registers_and_serves_the_champion(settings: Settings) -> None:
    lines: list[str] = []
    result = run_demo(settings, rows=2000, echo=lines.append)

    assert result.holdout_auc > 0.6
    assert any("champion" in line for line in lines)
    assert any("steward server" in line for line in lines)
    store = open_store(settings)
    try:
        first = registry.get_version(store, "churn", result.model_version)
        assert first.run_id == result.run_id
        assert first.contract is not None
        run = tracking.get_run(store, result.run_id)
        assert run.status == "FINISHED"
        assert set(run.metrics) == {"holdout_auc", "train_rows"}
        assert audit.verify(store).is_intact
        endpoint = registry.get_endpoint(store, "churn-prod")
        assert endpoint.environment == "production"
    finally:
        store.close()
    serving = result.serving
    assert serving.requests == 200  # the demo sends 200 of the 500 holdout rows
    assert serving.answered >= 190  # a few real rows may fall outside the training range
    # + /invocations and v2 rows
    assert serving.logged == serving.answered + 5 + 3  # counted before the windows
    runs = serving.monitor_runs
    assert [(r.status, r.rows, r.labelled_rows) for r in runs] == [("ok", 1200, 600)] * 3
    fired = [(t.rule.name, t.key) for r in runs for t in r.transitions if t.kind == "fired"]
    assert [(t.rule.name, t.key) for r in runs[:2] for t in r.transitions] == []  # quiet before
    assert ("churn-prod-input-drift", "feature=tenure_months") in fired
    assert any("tenure_months" in body["text"] for body in serving.webhook_received)
    assert "tenure_months" in serving.rejected_message
    assert any("HTTP 422" in line for line in lines)
    # The closed loop, on its own: drift retrained, the challenger promoted through a
    # rollout, then a bad challenger rolled back at 10% with no client seeing an error.
    loop = serving.loop
    assert loop.retrained_version == result.model_version + 1
    assert loop.retrain_rollout == "promoted"
    assert loop.bad_version == result.model_version + 2
    assert (loop.bad_rollout, loop.bad_rollout_stage) == ("rolled_back", 10)
    assert loop.rollback_alerts == 1
    assert loop.requests > 0
    assert loop.failed_requests == 0
    actions = loop.actions
    for action in ("retrain.triggered", "retrain.challenger", "rollout.advance"):
        assert action in actions
    assert actions.index("retrain.triggered") < actions.index("rollout.promote")
    assert actions[-1] == "rollout.rollback"
    store = open_store(settings)
    try:
        champion = registry.resolve(store, "models:/churn@champion")
        assert champion.version == loop.retrained_version
        assert champion.profile is not None  # the pipeline's version carries its baseline
        assert audit.verify(store).is_intact
    finally:
        store.close()
    # A second run moves the same endpoint instead of failing on it.
    again = run_demo(settings, rows=2000, echo=lines.append)
    assert again.model_version == result.model_version + 3
    # Within the guard rails' cooldown, the drift asks again and is held back.
    assert again.serving.loop.retrain_rollout == "retrain.suppressed"
    assert again.serving.loop.failed_requests == 0
    store = open_store(settings)
    try:
        assert registry.resolve(store, "models:/churn@champion").version == again.model_version
    finally:
        store.close()
