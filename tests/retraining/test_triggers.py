"""Retraining triggers: guard rails, the seasonality check, champion vs challenger, retrain()."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

from steward import audit, registry
from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.monitoring.alert_rules import create_rule
from steward.monitoring.alerts import record_results
from steward.monitoring.metrics import MetricValue
from steward.monitoring.monitors import create_monitor, parse_config
from steward.pipelines import InlineExecutor
from steward.retraining.challenger import evaluate_challenger, retrain
from steward.retraining.triggers import (
    TriggerConfig,
    load_trigger_config,
    parse_trigger_config,
    should_retrain,
    trigger_history,
)
from steward.store import Store

H = 3_600_000
D = 24 * H
T0 = 1_700_000_000_000 - 1_700_000_000_000 % H
FEATURES = ["x1", "x2", "x3"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=FEATURES)
    frame["y"] = (frame["x1"] + 0.5 * frame["x2"] + rng.normal(0, 0.8, rows) > 0).astype(int)
    return frame


def _actions(store: Store, model: str) -> list[str]:
    return [e.action for e in trigger_history(store, model)]


def test_guard_rails_limit_retrains_per_period_and_enforce_the_cooldown(
    store: Store, settings: Settings
) -> None:
    config = parse_trigger_config(
        {
            "model": "churn",
            "pipeline": "tests.pipelines.example:churn",
            "guard_rails": {"max_retrains": 2, "period": "7d", "cooldown": "1d"},
        }
    )

    def ask(at: int) -> bool:
        return should_retrain(store, settings, config, reason="manual", now_ms=at).retrain

    assert ask(T0)
    cooled = should_retrain(store, settings, config, reason="manual", now_ms=T0 + H)
    assert not cooled.retrain
    assert cooled.evidence["guard_rail"] == "cooldown"
    assert "cooldown 1d" in cooled.reason
    assert ask(T0 + D)
    capped = should_retrain(store, settings, config, reason="manual", now_ms=T0 + 3 * D)
    assert not capped.retrain
    assert capped.evidence == {"guard_rail": "max_retrains", "recent": 2}
    assert ask(T0 + 7 * D + 1)  # the first retrain left the 7-day period
    assert _actions(store, "churn") == [
        "retrain.triggered",
        "retrain.suppressed",
        "retrain.triggered",
        "retrain.suppressed",
        "retrain.triggered",
    ]
    events = audit.list_events(store, target_type="retraining", action="retrain.triggered")
    assert [e.at_ms for e in events] == [T0, T0 + D, T0 + 7 * D + 1]
    assert events[0].after["trigger"] == "manual"


def test_schedule_is_due_every_interval_and_disabled_triggers_are_refused(
    store: Store, settings: Settings
) -> None:
    config = TriggerConfig(
        model="churn",
        pipeline="tests.pipelines.example:churn",
        manual=False,
        schedule={"every": "1d"},  # type: ignore[arg-type]  # validated by pydantic
        guard_rails={"max_retrains": 10, "cooldown": "1h"},  # type: ignore[arg-type]
    )
    assert should_retrain(store, settings, config, reason="schedule", now_ms=T0).retrain
    early = should_retrain(store, settings, config, reason="schedule", now_ms=T0 + 2 * H)
    assert (early.retrain, early.audit_seq, early.evidence) == (
        False,
        None,
        {"next_due_ms": T0 + D},
    )
    assert should_retrain(store, settings, config, reason="schedule", now_ms=T0 + D).retrain
    with pytest.raises(InvalidInput, match="'manual' is not enabled"):
        should_retrain(store, settings, config, reason="manual", now_ms=T0)
    with pytest.raises(InvalidInput, match="one of manual, schedule, drift, performance"):
        should_retrain(store, settings, config, reason="whim", now_ms=T0)


def test_config_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "retrain.yaml"
    path.write_text(
        "model: churn\npipeline: tests.pipelines.example:churn\nschedule: {every: 2d}\n"
    )
    assert load_trigger_config(path).schedule is not None
    path.write_text("model: churn\npipeline: nocolon\n")
    with pytest.raises(InvalidInput, match="'pipeline'"):
        load_trigger_config(path)
    path.write_text("model: churn\npipeline: a:b\nguard_rails: {cooldown: soon}\n")
    with pytest.raises(InvalidInput, match="duration"):
        load_trigger_config(path)
    with pytest.raises(NotFound):
        load_trigger_config(tmp_path / "absent.yaml")


def _monitored(store: Store, *, seasonal: bool) -> None:
    train = _frame(500, seed=1)
    model = LogisticRegression().fit(train[FEATURES], train["y"])
    version = registry.register_model(
        store, "churn", model, sample_input=train[FEATURES].head(5), actor="tester"
    )
    registry.set_alias(store, "churn", "champion", version.version, actor="tester")
    registry.create_endpoint(
        store, "churn-prod", environment="production", model_name="churn", alias="champion",
        actor="tester",
    )  # fmt: skip
    document = {"endpoint": "churn-prod", "task": "classification", "window": "1h"}
    if seasonal:
        document["seasonal_period"] = "7d"
    create_monitor(store, "churn-mon", parse_config(document), actor="tester")


def _window(store: Store, start: int, *, drift: float, seasonal: float | None) -> None:
    values = [MetricValue("drift.wasserstein", drift, 2000, feature="x1", drifted=drift > 0.2)]
    values.append(MetricValue("drift.wasserstein", 0.01, 2000, feature="x2", drifted=False))
    if seasonal is not None:
        values.append(MetricValue("seasonal_drift.wasserstein", seasonal, 2000, feature="x1"))
    record_results(store, "churn-mon", start, start + H, values)


def test_a_seasonal_shift_does_not_retrain_while_a_real_one_does_once_per_cooldown(
    store: Store, settings: Settings
) -> None:
    _monitored(store, seasonal=True)
    config = parse_trigger_config(
        {
            "model": "churn",
            "pipeline": "tests.pipelines.example:churn",
            "manual": False,
            "drift": {"monitor": "churn-mon", "rule_prefix": "churn-mon-input-drift"},
            "guard_rails": {"max_retrains": 5, "period": "7d", "cooldown": "1d"},
        }
    )
    _window(store, T0, drift=0.02, seasonal=0.01)  # calm
    _window(store, T0 + H, drift=0.6, seasonal=0.05)  # same as a week ago: the season
    _window(store, T0 + 2 * H, drift=0.6, seasonal=0.7)  # new against last week too
    _window(store, T0 + 3 * H, drift=0.7, seasonal=0.8)  # still shifted, inside the cooldown

    def ask(start: int) -> tuple[bool, str]:
        decision = should_retrain(
            store, settings, config, reason="drift", window_start_ms=start, now_ms=start + H
        )
        return decision.retrain, decision.reason

    calm = ask(T0)
    assert calm[0] is False
    assert "no drift rule" in calm[1]
    assert ask(T0 + H) == (False, "seasonal, not retraining")
    shifted = ask(T0 + 2 * H)
    assert shifted[0] is True
    assert "drift.wasserstein[x1]" in shifted[1]
    assert ask(T0 + 3 * H)[0] is False
    assert _actions(store, "churn") == [
        "retrain.skipped_seasonal",
        "retrain.triggered",
        "retrain.suppressed",
    ]
    seasonal_event = trigger_history(store, "churn")[0]
    assert seasonal_event.after["evidence"]["breaches"][0]["seasonal_value"] == 0.05
    # the newest window is judged when none is given
    latest = should_retrain(store, settings, config, reason="drift", now_ms=T0 + 5 * D)
    assert (latest.retrain, latest.window_start_ms) == (True, T0 + 3 * H)


def test_without_a_seasonal_period_drift_always_counts(store: Store, settings: Settings) -> None:
    _monitored(store, seasonal=False)
    config = parse_trigger_config(
        {
            "model": "churn",
            "pipeline": "tests.pipelines.example:churn",
            "drift": {"monitor": "churn-mon"},
        }
    )
    _window(store, T0, drift=0.6, seasonal=0.05)
    decision = should_retrain(store, settings, config, reason="drift", window_start_ms=T0)
    assert decision.retrain
    with pytest.raises(NotFound):
        should_retrain(store, settings, config, reason="drift", monitor="nope")


def test_champion_and_challenger_are_scored_like_scikit_learn_on_one_holdout(
    store: Store,
) -> None:
    train, holdout = _frame(400, seed=3), _frame(300, seed=4)
    champion = LogisticRegression().fit(train[["x1"]], train["y"])
    challenger = LogisticRegression().fit(train[FEATURES], train["y"])
    first = registry.register_model(
        store, "churn", champion, sample_input=train[["x1"]].head(3), actor="tester"
    )
    registry.set_alias(store, "churn", "champion", first.version, actor="tester")
    second = registry.register_model(
        store, "churn", challenger, sample_input=train[FEATURES].head(3), actor="tester"
    )

    comparison = evaluate_challenger(store, "churn", second.version, holdout, "y")

    y = holdout["y"]
    assert comparison.champion_version == first.version
    assert comparison.rows == 300
    assert comparison.champion == {
        "roc_auc": roc_auc_score(y, champion.predict_proba(holdout[["x1"]])[:, 1]),
        "accuracy": accuracy_score(y, champion.predict(holdout[["x1"]])),
    }
    assert comparison.challenger == {
        "roc_auc": roc_auc_score(y, challenger.predict_proba(holdout[FEATURES])[:, 1]),
        "accuracy": accuracy_score(y, challenger.predict(holdout[FEATURES])),
    }
    assert comparison.challenger["roc_auc"] > comparison.champion["roc_auc"]
    assert comparison.as_evaluation() == {
        "challenger": comparison.challenger,
        "champion": comparison.champion,
    }
    with pytest.raises(InvalidInput, match="unknown metric"):
        evaluate_challenger(store, "churn", second.version, holdout, "y", metrics=["vibes"])
    with pytest.raises(InvalidInput, match="label column 'label'"):
        evaluate_challenger(store, "churn", second.version, holdout, "label")


def _holdout(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(400, 3)), columns=FEATURES)
    frame["y"] = (frame["x1"] + 0.5 * frame["x2"] + rng.normal(0, 0.5, 400) > 0).astype(int)
    frame["x1x2"] = frame["x1"] * frame["x2"]
    return frame


def test_retrain_registers_a_challenger_and_compares_it_with_the_champion(
    store: Store, settings: Settings
) -> None:
    config = parse_trigger_config(
        {
            "model": "churn",
            "pipeline": "tests.pipelines.example:churn",
            "params": {"rows": 300, "seed": 1},
            "guard_rails": {"max_retrains": 3, "cooldown": "1d"},
        }
    )
    holdout = _holdout(9)
    with InlineExecutor() as executor:
        first = retrain(
            store, settings, config, reason="manual", holdout=holdout, label_column="y",
            now_ms=T0, executor=executor,
        )  # fmt: skip
        assert first.version is not None
        assert first.comparison is not None
        assert first.comparison.champion_version is None
        assert first.comparison.as_evaluation().keys() == {"challenger"}
        registry.set_alias(store, "churn", "champion", first.version.version, actor="tester")

        blocked = retrain(
            store, settings, config, reason="manual", holdout=holdout, label_column="y",
            now_ms=T0 + H, executor=executor,
        )  # fmt: skip
        assert blocked.run is None
        assert not blocked.decision.retrain

        second = retrain(
            store, settings, config.model_copy(update={"params": {"rows": 200, "seed": 2}}),
            reason="manual", holdout=holdout, label_column="y", now_ms=T0 + D, executor=executor,
        )  # fmt: skip
    assert second.version is not None
    assert second.comparison is not None
    assert (second.version.version, second.comparison.champion_version) == (2, 1)
    assert [v.version for v in registry.list_versions(store, "churn")] == [1, 2]
    columns = [*FEATURES, "x1x2"]
    for side, version in (("champion", 1), ("challenger", 2)):
        native = registry.load_version(store, "churn", version).native
        expected = roc_auc_score(holdout["y"], native.predict_proba(holdout[columns])[:, 1])
        assert second.comparison.as_evaluation()[side]["roc_auc"] == expected


def test_cli_checks_and_runs_a_retrain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from steward.cli.main import app

    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / ".steward"))
    config = tmp_path / "retrain.yaml"
    config.write_text(
        "model: churn\npipeline: tests.pipelines.example:churn\nparams: {rows: 200}\n"
        "guard_rails: {max_retrains: 1, cooldown: 1d}\n"
    )
    holdout = tmp_path / "holdout.csv"
    _holdout(5).to_csv(holdout, index=False)
    runner = CliRunner()

    ran = runner.invoke(
        app, ["retrain", "run", "-c", str(config), "--holdout", str(holdout), "--label", "y"]
    )
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.output)
    assert result["version"] == 1
    assert result["comparison"]["champion_version"] is None
    assert set(result["comparison"]["challenger"]) == {"roc_auc", "accuracy"}

    checked = runner.invoke(app, ["retrain", "check", "-c", str(config)])
    assert checked.exit_code == 0, checked.output
    decision = json.loads(checked.output)
    assert decision["retrain"] is False
    assert decision["evidence"]["guard_rail"] == "max_retrains"


def test_a_cron_schedule_is_due_at_its_next_time_after_the_last_retrain(
    store: Store, settings: Settings
) -> None:
    config = parse_trigger_config(
        {
            "model": "churn",
            "pipeline": "tests.pipelines.example:churn",
            "schedule": {"cron": "0 3 * * *"},  # 03:00 UTC every day
            "guard_rails": {"max_retrains": 10, "cooldown": "1h"},
        }
    )

    def ask(at: int, since: int | None = None) -> tuple[bool, str, dict[str, object]]:
        decision = should_retrain(
            store, settings, config, reason="schedule", now_ms=at, since_ms=since
        )
        return decision.retrain, decision.reason, decision.evidence

    # T0 is 22:00 UTC: counted from it, the next 03:00 is five hours on.
    waiting = ask(T0 + 4 * H, since=T0)
    assert waiting[0] is False
    assert waiting[2] == {"next_due_ms": T0 + 5 * H}
    assert "cron 0 3 * * *" in waiting[1]
    assert ask(T0 + 5 * H, since=T0)[:2] == (True, "scheduled (cron 0 3 * * *)")
    # Counted from that retrain now: not again until the next day's 03:00.
    assert ask(T0 + 6 * H)[0] is False
    assert ask(T0 + 29 * H)[0] is True
    with pytest.raises(InvalidInput, match="cron expression"):
        parse_trigger_config(config.model_dump() | {"schedule": {"cron": "at three"}})
    with pytest.raises(InvalidInput, match="exactly one"):
        parse_trigger_config(
            config.model_dump() | {"schedule": {"cron": "0 3 * * *", "every": "1d"}}
        )
    with pytest.raises(InvalidInput, match="exactly one"):
        parse_trigger_config(config.model_dump() | {"schedule": {}})


def test_a_performance_trigger_waits_for_its_rules_consecutive_windows(
    store: Store, settings: Settings
) -> None:
    _monitored(store, seasonal=False)
    rule = {
        "name": "churn-mon-auc-floor", "monitor": "churn-mon", "metric": "perf.roc_auc",
        "comparator": "lt", "threshold": 0.7, "consecutive": 2, "min_samples": 0,
    }  # fmt: skip
    create_rule(store, rule, actor="tester")
    config = parse_trigger_config(
        {
            "model": "churn",
            "pipeline": "tests.pipelines.example:churn",
            "performance": {"monitor": "churn-mon", "rule_prefix": "churn-mon-auc-floor"},
            "guard_rails": {"max_retrains": 5, "cooldown": "1h"},
        }
    )
    for start, auc in ((T0, 0.9), (T0 + H, 0.6), (T0 + 2 * H, 0.62)):
        record_results(
            store, "churn-mon", start, start + H, [MetricValue("perf.roc_auc", auc, 500)]
        )

    def ask(start: int) -> bool:
        decision = should_retrain(
            store, settings, config, reason="performance", window_start_ms=start, now_ms=start + H
        )
        return decision.retrain

    assert ask(T0 + H) is False  # one window below the floor: an alert would not fire yet
    assert ask(T0 + 2 * H) is True  # the second in a row
