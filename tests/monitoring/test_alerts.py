"""Alert evaluation on a real store (SQLite and PostgreSQL): when alerts fire, resolve and
stay quiet, per key, and that evaluating a window again changes nothing."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
import sqlalchemy as sa

from steward.monitoring.alerts import (
    alert_history,
    create_rule,
    evaluate_rules,
    list_alerts,
    update_rule,
)
from steward.monitoring.series import MetricResult, record_results
from steward.store import Store
from steward.store.tables import alerts, monitor_results
from tests.monitoring.alert_support import Recorder, add_monitor, counts, put, start


@pytest.fixture
def churn(store: Store) -> Store:
    add_monitor(store)
    return store


def rule(store: Store, **fields: Any) -> None:
    document = {"name": "drift", "monitor": "churn", "metric": "drift.psi", "threshold": 0.2}
    document |= {"min_samples": 500, "cooldown_s": 0}
    create_rule(store, document | fields, actor="tester")


def run(store: Store, window: int, recorder: Recorder | None = None) -> list[tuple[str, str]]:
    transitions = evaluate_rules(
        store, "churn", start(window), notifiers=[recorder] if recorder else []
    )
    return [(t.kind, t.key) for t in transitions]


def test_fires_after_consecutive_breaches_and_resolves_at_the_first_clear_window(
    churn: Store,
) -> None:
    rule(churn, consecutive=2)
    recorder = Recorder()
    for window, value in enumerate([0.3, 0.4, 0.5, 0.1]):
        put(churn, window, value)
    assert run(churn, 0, recorder) == []
    assert run(churn, 1, recorder) == [("fired", "overall")]
    assert run(churn, 2, recorder) == []
    assert run(churn, 3, recorder) == [("resolved", "overall")]
    assert [t.kind for t in recorder.sent] == ["fired", "resolved"]
    (alert,) = list_alerts(churn)
    assert alert.state == "resolved"
    assert alert.fired_at.timestamp() * 1000 == start(2)  # the end of the window that fired
    assert alert.resolved_at is not None
    assert alert.resolved_at.timestamp() * 1000 == start(4)
    assert alert.value == pytest.approx(0.1)
    kinds = [event.kind for event in alert_history(churn, alert.id)]
    assert kinds == ["fired", "notified", "resolved", "notified"]


def test_a_breach_followed_by_a_clear_window_never_fires(churn: Store) -> None:
    rule(churn, consecutive=2)
    for window, value in enumerate([0.3, 0.1, 0.3, 0.1]):
        put(churn, window, value)
        assert run(churn, window) == []


def test_windows_below_min_samples_neither_breach_nor_clear(churn: Store) -> None:
    rule(churn, consecutive=2)
    put(churn, 0, 0.3)
    put(churn, 1, 0.9, n=10)  # too few rows: skipped
    put(churn, 2, 0.3)
    put(churn, 3, 0.01, n=499)  # too few rows: does not resolve
    put(churn, 4, 0.01)
    assert run(churn, 0) == []
    assert run(churn, 1) == []
    assert run(churn, 2) == [("fired", "overall")]  # windows 0 and 2 are consecutive
    assert run(churn, 3) == []
    assert run(churn, 4) == [("resolved", "overall")]


def test_a_nan_value_is_skipped_like_a_small_window(churn: Store) -> None:
    rule(churn)
    put(churn, 0, math.nan)
    assert run(churn, 0) == []
    put(churn, 1, 0.5)
    assert run(churn, 1) == [("fired", "overall")]
    put(churn, 2, math.nan)
    assert run(churn, 2) == []
    assert list_alerts(churn, state="firing") != []


def test_cooldown_keeps_a_resolved_key_quiet_then_lets_it_fire_again(churn: Store) -> None:
    rule(churn, cooldown_s=2 * 3600)
    recorder = Recorder()
    for window, value in enumerate([0.5, 0.1, 0.5, 0.5, 0.5]):
        put(churn, window, value)
    assert run(churn, 0, recorder) == [("fired", "overall")]
    assert run(churn, 1, recorder) == [("resolved", "overall")]  # resolved at start(2)
    assert run(churn, 2, recorder) == []  # ends at start(3): 1 h after, within the cooldown
    assert run(churn, 3, recorder) == [("fired", "overall")]  # ends 2 h after: fires again
    assert [t.kind for t in recorder.sent] == ["fired", "resolved", "fired"]
    assert [a.state for a in list_alerts(churn)] == ["firing", "resolved"]


def test_every_feature_keeps_its_own_state(churn: Store) -> None:
    rule(churn)  # feature null: every feature
    create_rule(
        churn,
        {"name": "age-only", "monitor": "churn", "metric": "drift.psi", "threshold": 0.2}
        | {"feature": "age", "min_samples": 0},
        actor="tester",
    )
    put(churn, 0, 0.5, feature="income")
    put(churn, 0, 0.05, feature="age")
    put(churn, 1, 0.05, feature="income")
    put(churn, 1, 0.5, feature="age")
    assert sorted(run(churn, 0)) == [("fired", "feature=income")]
    assert sorted(run(churn, 1)) == [
        ("fired", "feature=age"),
        ("fired", "feature=age"),
        ("resolved", "feature=income"),
    ]
    firing = {(a.rule, a.key) for a in list_alerts(churn, state="firing")}
    assert firing == {("drift", "feature=age"), ("age-only", "feature=age")}


def test_segments_overall_every_segment_and_one_segment(churn: Store) -> None:
    rule(churn, name="overall")  # segment null: overall only
    rule(churn, name="per-segment", segment="*")
    rule(churn, name="us-only", segment="region=US")
    put(churn, 0, 0.5, segment="region=EU")
    put(churn, 0, 0.05, segment="region=US")
    put(churn, 0, 0.3)  # overall
    evaluate_rules(churn, "churn", start(0))
    firing = {(a.rule, a.key) for a in list_alerts(churn, state="firing")}
    assert firing == {("overall", "overall"), ("per-segment", "segment=region=EU")}


def test_feature_and_segment_make_one_key(churn: Store) -> None:
    rule(churn, segment="*")
    put(churn, 0, 0.5, feature="income", segment="region=EU")
    assert run(churn, 0) == [("fired", "feature=income,segment=region=EU")]


def test_evaluating_a_window_again_writes_and_sends_nothing_new(churn: Store) -> None:
    rule(churn)
    recorder = Recorder()
    put(churn, 0, 0.5)
    put(churn, 1, 0.1)
    assert run(churn, 0, recorder) == [("fired", "overall")]
    before = counts(churn)
    assert run(churn, 0, recorder) == []
    assert counts(churn) == before
    assert run(churn, 1, recorder) == [("resolved", "overall")]
    after = counts(churn)
    for window in (1, 0, 1):  # the same window, and an older one, again
        assert run(churn, window, recorder) == []
    assert counts(churn) == after
    assert [t.kind for t in recorder.sent] == ["fired", "resolved"]


def test_a_recomputed_window_that_no_longer_breaches_resolves(churn: Store) -> None:
    rule(churn, metric="perf.roc_auc", comparator="lt", threshold=0.7)
    put(churn, 0, 0.6, metric="perf.roc_auc")
    assert run(churn, 0) == [("fired", "overall")]
    put(churn, 0, 0.8, metric="perf.roc_auc")  # late labels: the window is recomputed
    assert run(churn, 0) == [("resolved", "overall")]
    assert run(churn, 0) == []


def test_disabled_rules_and_other_monitors_are_not_evaluated(churn: Store) -> None:
    add_monitor(churn, "fraud")
    rule(churn)
    rule(churn, name="fraud-drift", monitor="fraud")
    put(churn, 0, 0.5)
    put(churn, 0, 0.5, monitor="fraud")
    update_rule(churn, "drift", {"enabled": False}, actor="tester")
    assert run(churn, 0) == []
    assert [(a.rule, a.monitor) for a in list_alerts(churn)] == []
    update_rule(churn, "drift", {"enabled": True}, actor="tester")
    assert run(churn, 0) == [("fired", "overall")]
    assert [a.monitor for a in list_alerts(churn, monitor="churn")] == ["churn"]
    assert list_alerts(churn, monitor="fraud") == []


def test_a_failing_notifier_is_recorded_and_does_not_stop_the_others(churn: Store) -> None:
    class Broken:
        name = "broken"

        def send(self, transition: object) -> None:
            raise RuntimeError("channel down")

    rule(churn)
    recorder = Recorder()
    put(churn, 0, 0.5)
    transitions = evaluate_rules(churn, "churn", start(0), notifiers=[Broken(), recorder])
    assert [t.kind for t in transitions] == ["fired"]
    assert len(recorder.sent) == 1
    (alert,) = list_alerts(churn)
    history = alert_history(churn, alert.id)
    assert [e.kind for e in history] == ["fired", "notify_failed", "notified"]
    assert "channel down" in history[1].message
    assert alert.last_notified_at is not None


def test_only_one_firing_alert_per_rule_and_key(churn: Store) -> None:
    rule(churn)
    put(churn, 0, 0.5)
    run(churn, 0)
    (alert,) = list_alerts(churn)
    row = {"rule_id": alert.rule_id, "key": "overall", "state": "firing", "threshold": 0.2}
    row |= {"fired_at_ms": 1, "window_start_ms": 1}
    with pytest.raises(sa.exc.IntegrityError), churn.db.write() as conn:
        conn.execute(alerts.insert().values(**row))
    with churn.db.write() as conn:  # a resolved one beside it is fine
        conn.execute(alerts.insert().values(**(row | {"state": "resolved"})))


def test_record_results_upserts_and_stores_nan_as_null(churn: Store) -> None:
    first = [MetricResult("drift.psi", 0.5, 100, feature="age"), MetricResult("rows", 7.0, 7)]
    record_results(churn, "churn", start(0), start(1), first)
    again = [MetricResult("drift.psi", math.nan, 90, feature="age", drifted=True)]
    again.append(MetricResult("score", math.inf, 1, feature=None, segment=None))
    assert record_results(churn, "churn", start(0), start(1), again) == 2
    with churn.db.read() as conn:
        query = sa.select(
            monitor_results.c.metric,
            monitor_results.c.feature,
            monitor_results.c.value,
            monitor_results.c.sample_size,
            monitor_results.c.drifted,
        ).order_by(monitor_results.c.metric)
        rows = [tuple(row) for row in conn.execute(query)]
    assert rows == [
        ("drift.psi", "age", None, 90, True),
        ("rows", "", 7.0, 7, None),
        ("score", "", sys.float_info.max, 1, None),
    ]


def test_evaluating_an_unknown_monitor_is_not_found(churn: Store) -> None:
    from steward.errors import NotFound

    with pytest.raises(NotFound, match=r"no monitor 'chrun'.*churn"):
        evaluate_rules(churn, "chrun", start(0))
