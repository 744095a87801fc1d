"""Every SQL statement on the `alert_rules`, `alerts` and `alert_events` tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from steward.monitoring.alert_entities import Alert, AlertEvent, AlertRule
from steward.store.context import from_ms
from steward.store.tables import alert_events, alert_rules, alerts

__all__ = [
    "AlertRow",
    "KeyHistory",
    "delete_rule",
    "insert_alert",
    "insert_events",
    "insert_rule",
    "mark_notified",
    "select_alert",
    "select_alerts",
    "select_events",
    "select_firing",
    "select_history",
    "select_rule",
    "select_rule_names",
    "select_rules",
    "update_alert",
    "update_rule",
]

_RULE = alert_rules.c
_ALERT = alerts.c
_EVENT = alert_events.c
_CONFIG_COLUMNS = (
    "name",
    "monitor",
    "metric",
    "feature",
    "segment",
    "comparator",
    "threshold",
    "min_samples",
    "consecutive",
    "cooldown_s",
    "severity",
    "webhook_url",
    "enabled",
)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """The firing alert of one rule and key, as evaluation needs it."""

    id: int
    window_start_ms: int
    value: float | None
    threshold: float


@dataclass(frozen=True, slots=True)
class KeyHistory:
    """The newest window any alert of a rule and key saw, and when the last one resolved."""

    last_window_ms: int
    last_resolved_ms: int | None


# Rules ---------------------------------------------------------------------------------


def insert_rule(conn: Connection, rule: AlertRule, *, now_ms: int, actor: str) -> int | None:
    """The new rule's id, or None when the name is taken."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {name: getattr(rule, name) for name in _CONFIG_COLUMNS}
    values |= {"created_at_ms": now_ms, "updated_at_ms": now_ms, "created_by": actor}
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    statement = dialect.insert(alert_rules).values(**values).on_conflict_do_nothing()
    key = conn.execute(statement.returning(_RULE.id)).scalar()
    return None if key is None else int(key)


def select_rule(conn: Connection, name: str, *, lock: bool = False) -> AlertRule | None:
    """The rule, or None; `lock` holds its row until commit (changes queue on it)."""
    query = sa.select(alert_rules).where(_RULE.name == name)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    return None if row is None else _rule(row)


def select_rules(
    conn: Connection, *, monitor: str | None = None, enabled_only: bool = False, lock: bool = False
) -> list[AlertRule]:
    """Rules by name; `lock` queues concurrent evaluations of the same monitor (PostgreSQL)."""
    query = sa.select(alert_rules).order_by(_RULE.name)
    if monitor is not None:
        query = query.where(_RULE.monitor == monitor)
    if enabled_only:
        query = query.where(_RULE.enabled.is_(True))
    rows = conn.execute(query.with_for_update() if lock else query).mappings()
    return [_rule(row) for row in rows]


def select_rule_names(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(_RULE.name).order_by(_RULE.name)).scalars())


def update_rule(conn: Connection, rule_id: int, rule: AlertRule, *, now_ms: int) -> None:
    values = {name: getattr(rule, name) for name in _CONFIG_COLUMNS if name != "name"}
    conn.execute(
        alert_rules.update().where(_RULE.id == rule_id).values(**values, updated_at_ms=now_ms)
    )


def delete_rule(conn: Connection, rule_id: int) -> None:
    """The rule with its alerts and their events."""
    conn.execute(alert_events.delete().where(_EVENT.rule_id == rule_id))
    conn.execute(alerts.delete().where(_ALERT.rule_id == rule_id))
    conn.execute(alert_rules.delete().where(_RULE.id == rule_id))


def _rule(row: sa.RowMapping) -> AlertRule:
    return AlertRule.model_validate(
        {
            **{name: row[name] for name in _CONFIG_COLUMNS},
            "id": row["id"],
            "created_at": from_ms(row["created_at_ms"]),
            "updated_at": from_ms(row["updated_at_ms"]),
            "created_by": row["created_by"],
        }
    )


# Alerts --------------------------------------------------------------------------------


def select_firing(conn: Connection, rule_id: int) -> dict[str, AlertRow]:
    """The rule's firing alerts by key."""
    columns = (_ALERT.id, _ALERT.window_start_ms, _ALERT.value, _ALERT.threshold)
    query = sa.select(_ALERT.key, *columns).where(
        _ALERT.rule_id == rule_id, _ALERT.state == "firing"
    )
    return {row.key: AlertRow(*row[1:]) for row in conn.execute(query)}


def select_history(conn: Connection, rule_id: int) -> dict[str, KeyHistory]:
    """Per key of the rule: the newest window evaluated and the last resolution time."""
    query = (
        sa.select(
            _ALERT.key, sa.func.max(_ALERT.window_start_ms), sa.func.max(_ALERT.resolved_at_ms)
        )
        .where(_ALERT.rule_id == rule_id)
        .group_by(_ALERT.key)
    )
    return {key: KeyHistory(int(last), resolved) for key, last, resolved in conn.execute(query)}


def insert_alert(conn: Connection, values: Mapping[str, Any]) -> int:  # Any: column values
    return int(conn.execute(alerts.insert().values(**values).returning(_ALERT.id)).scalar_one())


def update_alert(conn: Connection, alert_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(alerts.update().where(_ALERT.id == alert_id).values(**values))


def mark_notified(conn: Connection, alert_ids: Iterable[int], at_ms: int) -> None:
    ids = sorted(set(alert_ids))
    if ids:
        conn.execute(alerts.update().where(_ALERT.id.in_(ids)).values(last_notified_at_ms=at_ms))


def select_alerts(
    conn: Connection, *, state: str | None = None, monitor: str | None = None
) -> list[Alert]:
    """Newest first."""
    query = _alert_query().order_by(_ALERT.fired_at_ms.desc(), _ALERT.id.desc())
    if state is not None:
        query = query.where(_ALERT.state == state)
    if monitor is not None:
        query = query.where(_RULE.monitor == monitor)
    return [_alert(row) for row in conn.execute(query).mappings()]


def select_alert(conn: Connection, alert_id: int) -> Alert | None:
    row = conn.execute(_alert_query().where(_ALERT.id == alert_id)).mappings().first()
    return None if row is None else _alert(row)


def _alert_query() -> sa.Select[Any]:
    rule = (_RULE.name.label("rule"), _RULE.monitor, _RULE.metric, _RULE.severity)
    return sa.select(alerts, *rule).join(alert_rules, _RULE.id == _ALERT.rule_id)


def _alert(row: sa.RowMapping) -> Alert:
    return Alert(
        id=row["id"],
        rule=row["rule"],
        rule_id=row["rule_id"],
        monitor=row["monitor"],
        metric=row["metric"],
        severity=row["severity"],
        key=row["key"],
        state=row["state"],
        fired_at=_at(row["fired_at_ms"]),
        resolved_at=from_ms(row["resolved_at_ms"]),
        window_start=_at(row["window_start_ms"]),
        value=row["value"],
        threshold=row["threshold"],
        last_notified_at=from_ms(row["last_notified_at_ms"]),
    )


# Events --------------------------------------------------------------------------------


def insert_events(conn: Connection, events: Iterable[Mapping[str, Any]]) -> None:
    """Append events: each with alert_id, rule_id, at_ms, kind, message, details."""
    rows = [dict(event) for event in events]
    if rows:
        conn.execute(alert_events.insert(), rows)


def select_events(conn: Connection, alert_id: int) -> list[AlertEvent]:
    """Oldest first."""
    query = sa.select(alert_events).where(_EVENT.alert_id == alert_id).order_by(_EVENT.id)
    return [
        AlertEvent(
            id=row["id"],
            alert_id=row["alert_id"],
            rule_id=row["rule_id"],
            at=_at(row["at_ms"]),
            kind=row["kind"],
            message=row["message"],
            details=dict(row["details"] or {}),
        )
        for row in conn.execute(query).mappings()
    ]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
