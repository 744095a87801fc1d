"""Alerts: evaluate a monitor's rules on a window, keep alert states, notify, read them back.

For each enabled rule and key (a feature and/or segment), a window counts only when its
sample size reaches `min_samples` and its value is not NaN; other windows are skipped and
change nothing. An alert fires when the newest `consecutive` qualifying windows all breach,
and resolves at the first qualifying window that does not. After it resolves, the rule and
key stay quiet for `cooldown_s`, measured on window times so a re-run decides the same.
A window older than the last one an alert of the key saw changes nothing: evaluating the
same window again writes nothing new and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.engine import Connection

from steward.errors import InvalidInput, NotFound
from steward.monitoring import alerts_db as db
from steward.monitoring.alert_entities import (
    ALERT_STATES,
    Alert,
    AlertEvent,
    AlertRule,
    AlertTransition,
    alert_key,
    check_lookup,
    finite_or_none,
)
from steward.monitoring.alert_rules import (
    DEFAULT_RULES,
    create_rule,
    default_rules,
    delete_rule,
    get_rule,
    list_rules,
    update_rule,
)
from steward.monitoring.notifiers import Delivery, Notifier, Notifiers, alert_text, deliver
from steward.monitoring.series import MetricResult, Point, monitor_key, record_results
from steward.monitoring.series import recent_points as _recent_points
from steward.store import Store

__all__ = [
    "DEFAULT_RULES",
    "Alert",
    "AlertEvent",
    "AlertRule",
    "AlertTransition",
    "MetricResult",
    "alert_history",
    "create_rule",
    "default_rules",
    "delete_rule",
    "evaluate_rules",
    "fire_alert",
    "get_alert",
    "get_rule",
    "list_alerts",
    "list_rules",
    "record_results",
    "update_rule",
]

log = logging.getLogger(__name__)


def evaluate_rules(
    store: Store,
    monitor_name: str,
    window_start_ms: int,
    *,
    notifiers: Notifiers | Sequence[Notifier] = (),
) -> list[AlertTransition]:
    """Evaluate the monitor's enabled rules on the window starting at `window_start_ms`.

    Alert rows and their `fired`/`resolved` events are written in one transaction; the
    notifications are sent after it commits and their outcome recorded as `notified` or
    `notify_failed` events. A failing notifier never fails the evaluation.

    Raises:
        NotFound: no monitor of that name.
    """
    channels = notifiers if isinstance(notifiers, Notifiers) else Notifiers(tuple(notifiers))
    with store.db.write() as conn:
        key = monitor_key(conn, monitor_name)
        now = store.clock()
        transitions: list[AlertTransition] = []
        for rule in db.select_rules(conn, monitor=monitor_name, enabled_only=True, lock=True):
            transitions += _evaluate_rule(conn, key, rule, window_start_ms, now)
    for transition in transitions:
        log.info(
            "alert %s rule=%s key=%s value=%s window_start=%s",
            transition.kind,
            transition.rule.name,
            transition.key,
            transition.value,
            transition.window_start.isoformat(),
        )
    _notify(store, channels, transitions)
    return transitions


def fire_alert(
    store: Store,
    rule_name: str,
    *,
    key: str,
    value: float,
    window_start_ms: int,
    window_end_ms: int,
    notifiers: Notifiers | Sequence[Notifier] = (),
) -> AlertTransition | None:
    """Fire an alert of `rule_name` for an event outside the monitor's windows (a rollout
    rolled back, say), recorded and notified like any other; None when an alert of that
    rule and key is already firing.

    Raises:
        NotFound: no rule of that name.
    """
    channels = notifiers if isinstance(notifiers, Notifiers) else Notifiers(tuple(notifiers))
    with store.db.write() as conn:
        rule = db.select_rule(conn, rule_name, lock=True)
        if rule is None or rule.id is None:
            raise NotFound(f"no alert rule {rule_name!r}", field="rule")
        state = _RuleState(
            conn,
            rule,
            rule.id,
            store.clock(),
            db.select_firing(conn, rule.id),
            db.select_history(conn, rule.id),
        )
        if key in state.firing:
            return None
        _fire(state, key, Point("", "", window_start_ms, window_end_ms, value, 1))
    log.warning("alert fired rule=%s key=%s value=%s", rule_name, key, value)
    _notify(store, channels, state.transitions)
    return state.transitions[0]


def list_alerts(store: Store, state: str | None = None, monitor: str | None = None) -> list[Alert]:
    """Alerts newest first, optionally only `firing` or `resolved` ones, of one monitor.

    Raises:
        InvalidInput: a state other than firing or resolved, or a bad monitor name.
    """
    check_lookup(monitor, "monitor")
    if state is not None and state not in ALERT_STATES:
        raise InvalidInput(
            f"alert state {state!r} is not accepted; use one of {', '.join(ALERT_STATES)}",
            field="state",
        )
    with store.db.read() as conn:
        return db.select_alerts(conn, state=state, monitor=monitor)


def get_alert(store: Store, alert_id: int) -> Alert:
    """Raises: NotFound."""
    with store.db.read() as conn:
        return _existing(conn, alert_id)


def alert_history(store: Store, alert_id: int) -> list[AlertEvent]:
    """The alert's events, oldest first: fired, notified, resolved...

    Raises:
        NotFound: no such alert.
    """
    with store.db.read() as conn:
        _existing(conn, alert_id)
        return db.select_events(conn, alert_id)


# Evaluation ----------------------------------------------------------------------------


@dataclass(slots=True)
class _RuleState:
    """What one rule's evaluation reads and writes, in the evaluation's transaction."""

    conn: Connection
    rule: AlertRule
    rule_id: int
    now_ms: int
    firing: dict[str, db.AlertRow]
    history: dict[str, db.KeyHistory]
    transitions: list[AlertTransition] = field(default_factory=list)


def _evaluate_rule(
    conn: Connection, monitor_id: int, rule: AlertRule, window_start_ms: int, now_ms: int
) -> list[AlertTransition]:
    rule_id = rule.id if rule.id is not None else -1
    points = _recent_points(
        conn,
        monitor_id,
        rule.metric,
        upto_ms=window_start_ms,
        feature=rule.feature,
        segment=rule.segment,
        min_samples=rule.min_samples,
        depth=rule.consecutive,
    )
    series: dict[str, list[Point]] = {}
    for point in points:  # newest first per key
        series.setdefault(alert_key(point.feature, point.segment), []).append(point)
    state = _RuleState(
        conn,
        rule,
        rule_id,
        now_ms,
        db.select_firing(conn, rule_id),
        db.select_history(conn, rule_id),
    )
    for key, recent in series.items():
        if recent[0].window_start_ms == window_start_ms:  # a skipped window changes nothing
            _evaluate_key(state, key, recent)
    return state.transitions


def _evaluate_key(state: _RuleState, key: str, recent: list[Point]) -> None:
    rule, point = state.rule, recent[0]
    seen = state.history.get(key)
    if seen is not None and point.window_start_ms < seen.last_window_ms:
        return  # older than what this key's alerts already saw
    firing = state.firing.get(key)
    is_breach = rule.breaches(point.value)
    if firing is not None and is_breach:
        _follow(state, firing, point)
    elif firing is not None:
        _resolve(state, key, firing, point)
    elif is_breach and _may_fire(rule, recent, seen, point):
        _fire(state, key, point)


def _may_fire(
    rule: AlertRule, recent: list[Point], seen: db.KeyHistory | None, point: Point
) -> bool:
    if len(recent) < rule.consecutive or not all(rule.breaches(p.value) for p in recent):
        return False
    if seen is None or seen.last_resolved_ms is None:
        return True
    return point.window_end_ms - seen.last_resolved_ms >= rule.cooldown_s * 1000


def _follow(state: _RuleState, firing: db.AlertRow, point: Point) -> None:
    """A firing alert still breaching: remember the newest window, no event."""
    seen = (firing.window_start_ms, firing.value, firing.threshold)
    now = (point.window_start_ms, point.value, state.rule.threshold)
    if now != seen:
        values = dict(zip(("window_start_ms", "value", "threshold"), now, strict=True))
        db.update_alert(state.conn, firing.id, values)


def _fire(state: _RuleState, key: str, point: Point) -> None:
    values: dict[str, Any] = {  # Any: column values
        "rule_id": state.rule_id,
        "key": key,
        "state": "firing",
        "fired_at_ms": point.window_end_ms,
        "window_start_ms": point.window_start_ms,
        "value": point.value,
        "threshold": state.rule.threshold,
    }
    alert_id = db.insert_alert(state.conn, values)
    _transition(state, "fired", alert_id, key, point)


def _resolve(state: _RuleState, key: str, firing: db.AlertRow, point: Point) -> None:
    values: dict[str, Any] = {  # Any: column values
        "state": "resolved",
        "resolved_at_ms": point.window_end_ms,
        "window_start_ms": point.window_start_ms,
        "value": point.value,
    }
    db.update_alert(state.conn, firing.id, values)
    _transition(state, "resolved", firing.id, key, point)


def _transition(
    state: _RuleState, kind: Literal["fired", "resolved"], alert_id: int, key: str, point: Point
) -> None:
    transition = AlertTransition(
        kind=kind,
        alert_id=alert_id,
        rule=state.rule,
        key=key,
        value=point.value,
        window_start=_at(point.window_start_ms),
        window_end=_at(point.window_end_ms),
        at=_at(state.now_ms),
    )
    event: dict[str, Any] = {  # Any: column values
        "alert_id": alert_id,
        "rule_id": state.rule_id,
        "at_ms": state.now_ms,
        "kind": kind,
        "message": alert_text(transition),
        "details": _details(transition) | {"sample_size": point.sample_size},
    }
    db.insert_events(state.conn, [event])
    state.transitions.append(transition)


# Notification --------------------------------------------------------------------------


def _notify(store: Store, notifiers: Notifiers, transitions: list[AlertTransition]) -> None:
    """Send each transition, then record every outcome in one transaction."""
    events: list[dict[str, Any]] = []  # Any: column values
    delivered: list[int] = []
    for transition in transitions:
        for delivery in deliver(notifiers.for_rule(transition.rule), transition):
            events.append(_delivery_event(transition, delivery))
            if delivery.ok and transition.alert_id is not None:
                delivered.append(transition.alert_id)
    if not events:
        return
    now = store.clock()
    with store.db.write() as conn:
        db.insert_events(conn, [event | {"at_ms": now} for event in events])
        db.mark_notified(conn, delivered, now)


def _delivery_event(transition: AlertTransition, delivery: Delivery) -> dict[str, Any]:
    outcome = "took" if delivery.ok else f"failed: {delivery.error}"
    return {
        "alert_id": transition.alert_id,
        "rule_id": transition.rule.id,
        "kind": "notified" if delivery.ok else "notify_failed",
        "message": f"{delivery.notifier} {outcome} ({transition.kind} alert)",
        "details": {
            "notifier": delivery.notifier,
            "error": delivery.error,
            "transition": transition.kind,
        },
    }


# Helpers -------------------------------------------------------------------------------


def _details(transition: AlertTransition) -> dict[str, Any]:  # Any: JSON values
    rule = transition.rule
    return {
        "rule": rule.name,
        "monitor": rule.monitor,
        "metric": rule.metric,
        "key": transition.key,
        "value": finite_or_none(transition.value),
        "comparator": rule.comparator,
        "threshold": rule.threshold,
        "severity": rule.severity,
        "window_start_ms": round(transition.window_start.timestamp() * 1000),
        "window_end_ms": round(transition.window_end.timestamp() * 1000),
    }


def _existing(conn: Connection, alert_id: int) -> Alert:
    is_id = isinstance(alert_id, int) and 0 < alert_id < 2**63
    alert = db.select_alert(conn, alert_id) if is_id else None
    if alert is None:
        raise NotFound(f"no alert {alert_id!r} (list them: steward alerts list)", field="alert_id")
    return alert


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
