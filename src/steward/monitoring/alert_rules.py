"""Alert rules: create, change, delete and read them, each change an audit event; defaults.

Rules name their monitor and metric; they are checked when written (the monitor must
exist), evaluated by `steward.monitoring.alerts.evaluate_rules`.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.engine import Connection

from steward import audit
from steward.errors import Conflict, InvalidInput, NotFound
from steward.monitoring import alerts_db as db
from steward.monitoring.alert_entities import (
    SERVER_FIELDS,
    AlertRule,
    Comparator,
    Severity,
    check_lookup,
    parse_rule,
)
from steward.monitoring.series import monitor_key
from steward.registry.validation import check_actor
from steward.store import Store

__all__ = [
    "DEFAULT_RULES",
    "DefaultRule",
    "create_rule",
    "default_rules",
    "delete_rule",
    "get_rule",
    "list_rules",
    "update_rule",
]

log = logging.getLogger(__name__)


def create_rule(store: Store, rule: AlertRule | Mapping[str, Any], *, actor: str) -> AlertRule:
    """Store a new rule (event `alert_rule.create`); store fields in `rule` are ignored.

    Raises:
        InvalidInput: a bad field (named, with what is accepted) or actor.
        NotFound: the rule's monitor does not exist.
        Conflict: a rule of that name exists.
    """
    checked = parse_rule(_given_fields(rule))
    check_actor(actor)
    with store.db.write() as conn:
        monitor_key(conn, checked.monitor)
        now = store.clock()
        if db.insert_rule(conn, checked, now_ms=now, actor=actor) is None:
            raise Conflict(
                f"alert rule {checked.name!r} already exists; change it with "
                f"steward alerts rules --update FILE or PUT /api/v1/alert-rules/{checked.name}",
                field="name",
            )
        _audit(conn, now, actor, "alert_rule.create", checked.name, after=checked.config())
        created = _existing(conn, checked.name)
    log.info("alert rule created name=%s monitor=%s actor=%s", created.name, created.monitor, actor)
    return created


def update_rule(
    store: Store, name: str, changes: AlertRule | Mapping[str, Any], *, actor: str
) -> AlertRule:
    """Change rule `name` (event `alert_rule.update`); fields not given keep their values.

    A rename is refused: delete the rule and create it under the new name. Writing the
    values the rule already has changes nothing and writes no event.

    Raises:
        InvalidInput: a bad field, a different `name`, or a bad actor.
        NotFound: no such rule, or the new monitor does not exist.
    """
    check_actor(actor)
    given = _given_fields(changes)
    if given.get("name", name) != name:
        raise InvalidInput(
            f"alert rule {name!r} cannot be renamed to {given['name']!r}; delete it and "
            "create a rule under the new name",
            field="name",
        )
    with store.db.write() as conn:
        current = _existing(conn, name, lock=True)
        updated = parse_rule({**current.config(), **given, "name": name})
        if updated.config() == current.config():
            return current
        if updated.monitor != current.monitor:
            monitor_key(conn, updated.monitor)
        now = store.clock()
        db.update_rule(conn, _id(current), updated, now_ms=now)
        before, after = current.config(), updated.config()
        changed = [key for key in after if after[key] != before[key]]
        _audit(
            conn,
            now,
            actor,
            "alert_rule.update",
            name,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
        result = _existing(conn, name)
    log.info("alert rule changed name=%s fields=%s actor=%s", name, ",".join(changed), actor)
    return result


def delete_rule(store: Store, name: str, *, actor: str) -> None:
    """Remove rule `name` with its alerts and their events (event `alert_rule.delete`).

    Raises:
        InvalidInput: a bad actor.
        NotFound: no such rule.
    """
    check_actor(actor)
    with store.db.write() as conn:
        current = _existing(conn, name, lock=True)
        db.delete_rule(conn, _id(current))
        _audit(conn, store.clock(), actor, "alert_rule.delete", name, before=current.config())
    log.info("alert rule deleted name=%s actor=%s", name, actor)


def get_rule(store: Store, name: str) -> AlertRule:
    """Raises: NotFound, suggesting close names."""
    with store.db.read() as conn:
        return _existing(conn, name)


def list_rules(store: Store, monitor: str | None = None) -> list[AlertRule]:
    """Every rule by name, or those of one monitor.

    Raises:
        InvalidInput: a monitor name no monitor can have.
    """
    check_lookup(monitor, "monitor")
    with store.db.read() as conn:
        return db.select_rules(conn, monitor=monitor)


# Defaults ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DefaultRule:
    """A rule every new monitor may start with; `task` limits it to one kind of model."""

    suffix: str
    metric: str
    comparator: Comparator
    threshold: float
    min_samples: int
    consecutive: int = 1
    cooldown_s: float = 6 * 3600.0
    severity: Severity = "warning"
    segment: str | None = None
    task: str | None = None


# The one list of defaults, on the engine's recommended measures (monitoring/thresholds.py):
# effect sizes whose stationary noise over 50 windows of 1,000+ rows stays well under the
# line, while a 0.5-standard-deviation shift crosses it in its first window. min_samples
# keeps small windows (nights, weekends) and small segments from firing on noise.
# Performance rules count labelled rows only, so they stay quiet until enough labels land.
DEFAULT_RULES: Final = (
    DefaultRule("input-drift", "drift.wasserstein", "gt", 0.2, min_samples=1000),
    DefaultRule("segment-drift", "drift.wasserstein", "gt", 0.2, min_samples=1000, segment="*"),
    DefaultRule("category-drift", "drift.jensen_shannon", "gt", 0.1, min_samples=1000),
    DefaultRule("prediction-drift", "prediction_drift.psi", "gt", 0.2, min_samples=1000),
    DefaultRule("missing-rate", "missing_rate", "gt", 0.1, min_samples=100, consecutive=2),
    DefaultRule(
        "roc-auc-floor",
        "perf.roc_auc",
        "lt",
        0.6,
        min_samples=200,
        consecutive=2,
        severity="critical",
        task="classification",
    ),
)


def default_rules(monitor_name: str, spec_like: Any = None) -> list[AlertRule]:  # Any: see below
    """The default rules for a monitor, named `<monitor>-<suffix>` (not stored: pass each
    to `create_rule`).

    Args:
        spec_like: the monitor's spec or config (an object or a mapping); only its `task`
            ("classification" or "regression") is read, to pick the performance rules.

    Raises:
        InvalidInput: a monitor name that makes invalid rule names.
    """
    task = spec_like.get("task") if isinstance(spec_like, Mapping) else None
    task = task or getattr(spec_like, "task", None)
    return [
        parse_rule(
            {
                "name": f"{monitor_name}-{default.suffix}",
                "monitor": monitor_name,
                "metric": default.metric,
                "comparator": default.comparator,
                "threshold": default.threshold,
                "min_samples": default.min_samples,
                "consecutive": default.consecutive,
                "cooldown_s": default.cooldown_s,
                "severity": default.severity,
                "segment": default.segment,
            }
        )
        for default in DEFAULT_RULES
        if default.task is None or default.task == task
    ]


# Helpers -------------------------------------------------------------------------------


def _given_fields(changes: AlertRule | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(changes, AlertRule):
        return changes.config()
    if not isinstance(changes, Mapping):
        raise InvalidInput(
            f"alert rule changes must be a mapping of fields, got {type(changes).__name__}",
            field="rule",
        )
    return {key: value for key, value in changes.items() if key not in SERVER_FIELDS}


def _existing(conn: Connection, name: str, *, lock: bool = False) -> AlertRule:
    check_lookup(name, "name")
    rule = db.select_rule(conn, name, lock=lock)
    if rule is None:
        close = difflib.get_close_matches(str(name), db.select_rule_names(conn), n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise NotFound(
            f"no alert rule {name!r}{hint} (list them: steward alerts rules)", field="name"
        )
    return rule


def _id(rule: AlertRule) -> int:
    if rule.id is None:  # pragma: no cover - rules read from the store carry their id
        raise ValueError(f"alert rule {rule.name!r} has no id")
    return rule.id


def _audit(
    conn: Connection,
    now: int,
    actor: str,
    action: str,
    name: str,
    *,
    before: Any = None,  # JSON documents
    after: Any = None,
) -> None:
    audit.record(
        conn,
        at_ms=now,
        actor=actor,
        action=action,
        target_type="alert_rule",
        target_id=name,
        before=before,
        after=after,
    )
