"""Monitors: a stored, versioned config per endpoint, and the SQL that keeps it.

A monitor's config is its window, delay and optional seasonal period, plus the monitor spec
the engine reads (task, features, tests, segments, KPIs). Every change is a new version and
an audit event; windows record the version that computed them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError, ValidationInfo, field_validator
from sqlalchemy.engine import Connection

from steward import audit, registry
from steward.errors import Conflict, InvalidInput
from steward.monitoring import alert_rules
from steward.monitoring.alert_entities import AlertRule
from steward.monitoring.series import monitor_key
from steward.monitoring.spec import MonitorSpec
from steward.monitoring.windows import parse_duration
from steward.store import Store
from steward.store.tables import monitor_versions, monitors

__all__ = [
    "Monitor",
    "MonitorConfig",
    "create_monitor",
    "get_monitor",
    "list_monitors",
    "parse_config",
    "update_monitor",
]

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class MonitorConfig(MonitorSpec):
    """What a user writes (YAML or JSON): the engine's spec plus where and when to run it.

    Attributes:
        endpoint: the endpoint whose predictions are watched.
        window: window length, e.g. `1h` or `1d`; windows are aligned on the epoch, UTC.
        delay: how long after a window ends it is computed, so late log writes land first.
        seasonal_period: when set, also compare each window with the one a period earlier
            (e.g. `7d` for a weekly pattern); drift against it is `seasonal_drift.*`.
        start: the first window to compute (ISO time); default: the window the monitor was
            created in. Earlier windows can still be computed with `run --from`.
        relabel_lookback: how far back windows are recomputed when new labels arrive.
    """

    endpoint: str
    window: str = "1h"
    delay: str = "2m"
    seasonal_period: str | None = None
    start: datetime | None = None
    relabel_lookback: str = "7d"

    @field_validator("window", "delay", "relabel_lookback", "seasonal_period", mode="before")
    @classmethod
    def _is_duration(cls, value: Any, info: ValidationInfo) -> Any:  # Any: user input
        if value is not None:
            try:
                parse_duration(value, field=str(info.field_name))
            except InvalidInput as exc:
                raise ValueError(exc.message) from None
            return str(value) if isinstance(value, int | float) else value
        return value

    @property
    def window_ms(self) -> int:
        return parse_duration(self.window, field="window")

    @property
    def delay_ms(self) -> int:
        return parse_duration(self.delay, field="delay")

    @property
    def seasonal_period_ms(self) -> int | None:
        if self.seasonal_period is None:
            return None
        return parse_duration(self.seasonal_period, field="seasonal_period")

    @property
    def relabel_lookback_ms(self) -> int:
        return parse_duration(self.relabel_lookback, field="relabel_lookback")


@dataclass(frozen=True, slots=True)
class Monitor:
    name: str
    endpoint: str
    version: int
    config: MonitorConfig
    is_enabled: bool
    created_at_ms: int
    updated_at_ms: int
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "version": self.version,
            "config": self.config.model_dump(mode="json", exclude_none=True),
            "enabled": self.is_enabled,
            "created_at": _iso(self.created_at_ms),
            "updated_at": _iso(self.updated_at_ms),
            "created_by": self.created_by,
        }


def parse_config(document: Any) -> MonitorConfig:  # Any: a parsed JSON/YAML document
    """Raises: InvalidInput naming the first bad field, its value and what is accepted."""
    if isinstance(document, MonitorConfig):
        return document
    if not isinstance(document, dict):
        raise InvalidInput(f"a monitor config must be a mapping, got {type(document).__name__}")
    try:
        return MonitorConfig.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "config"
        value = error.get("input")
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidInput(
            f"monitor config field {field!r}: {message} (got {value!r})",
            field=field,
            details=[{"field": field, "message": e["msg"]} for e in exc.errors()],
        ) from exc


def create_monitor(
    store: Store, name: str, config: MonitorConfig, *, actor: str, default_rules: bool = True
) -> Monitor:
    """Store monitor `name` at version 1 (audited), with the default alert rules unless
    `default_rules` is False (see `steward alerts rules --monitor NAME`).

    Raises:
        InvalidInput: a bad name.
        NotFound: the endpoint does not exist.
        Conflict: a monitor of that name exists (change it with `update_monitor`).
    """
    if not _NAME.match(name):
        raise InvalidInput(
            f"monitor name must be 1-128 letters, digits, '.', '_' or '-', got {name!r}",
            field="name",
        )
    registry.get_endpoint(store, config.endpoint)  # NotFound names close endpoints
    spec = config.model_dump(mode="json", exclude_none=True)
    with store.db.write() as conn:
        now = store.clock()
        if _row(conn, name) is not None:
            raise Conflict(f"monitor {name!r} already exists; update it instead", field="name")
        row = {"name": name, "endpoint": config.endpoint, "version": 1, "spec": spec}
        row |= {"enabled": True, "created_at_ms": now, "updated_at_ms": now}
        inserted = conn.execute(monitors.insert().values(**row, created_by=actor))
        key = int(inserted.inserted_primary_key[0])  # type: ignore[index]  # one-column key
        _insert_version(conn, key, 1, spec, now, actor)
        _audit(conn, now, actor, "monitor.create", name, after={"version": 1, "config": spec})
    log.info("monitor created name=%s endpoint=%s actor=%s", name, config.endpoint, actor)
    if default_rules:
        for rule in alert_rules.default_rules(name, config):
            alert_rules.create_rule(store, _seasonal_rule(rule, config), actor=actor)
    return get_monitor(store, name)


def update_monitor(
    store: Store,
    name: str,
    *,
    actor: str,
    config: MonitorConfig | None = None,
    enabled: bool | None = None,
) -> Monitor:
    """A new version with `config`, and/or enable or pause the monitor; no change, no write.

    Raises:
        NotFound: no such monitor, or the new endpoint does not exist.
    """
    if config is not None:
        registry.get_endpoint(store, config.endpoint)
    with store.db.write() as conn:
        current = _existing(conn, name)
        spec = current.config.model_dump(mode="json", exclude_none=True)
        new_spec = spec if config is None else config.model_dump(mode="json", exclude_none=True)
        is_enabled = current.is_enabled if enabled is None else enabled
        if new_spec == spec and is_enabled == current.is_enabled:
            return current
        now = store.clock()
        version = current.version + (new_spec != spec)
        values = {"version": version, "spec": new_spec, "enabled": is_enabled}
        values |= {"endpoint": new_spec["endpoint"], "updated_at_ms": now}
        conn.execute(monitors.update().where(monitors.c.name == name).values(**values))
        if version != current.version:
            _insert_version(conn, monitor_key(conn, name), version, new_spec, now, actor)
        before = {"version": current.version, "config": spec, "enabled": current.is_enabled}
        after = {"version": version, "config": new_spec, "enabled": is_enabled}
        _audit(conn, now, actor, "monitor.update", name, before=before, after=after)
    return get_monitor(store, name)


def _seasonal_rule(rule: AlertRule, config: MonitorConfig) -> AlertRule:
    """With a seasonal period, drift rules compare with the season, not with training: an
    expected weekly swing is not an alert, a change against last week is."""
    if config.seasonal_period is None or "drift." not in rule.metric:
        return rule
    return rule.model_copy(update={"metric": f"seasonal_{rule.metric}"})


def get_monitor(store: Store, name: str) -> Monitor:
    """Raises: NotFound, listing the monitors there are."""
    with store.db.read() as conn:
        return _existing(conn, name)


def list_monitors(store: Store, endpoint: str | None = None) -> list[Monitor]:
    query = sa.select(monitors).order_by(monitors.c.name)
    if endpoint is not None:
        query = query.where(monitors.c.endpoint == endpoint)
    with store.db.read() as conn:
        return [_entity(row) for row in conn.execute(query).mappings()]


def _existing(conn: Connection, name: str) -> Monitor:
    """Raises: NotFound, naming the monitors there are."""
    key = monitor_key(conn, name)
    return _entity(conn.execute(sa.select(monitors).where(monitors.c.id == key)).mappings().one())


def _row(conn: Connection, name: str) -> sa.RowMapping | None:
    return conn.execute(sa.select(monitors).where(monitors.c.name == name)).mappings().first()


def _entity(row: sa.RowMapping) -> Monitor:
    return Monitor(
        name=row["name"],
        endpoint=row["endpoint"],
        version=row["version"],
        config=MonitorConfig.model_validate(row["spec"]),
        is_enabled=bool(row["enabled"]),
        created_at_ms=row["created_at_ms"],
        updated_at_ms=row["updated_at_ms"],
        created_by=row["created_by"],
    )


def _insert_version(
    conn: Connection, key: int, version: int, spec: dict[str, Any], now: int, actor: str
) -> None:
    conn.execute(
        monitor_versions.insert().values(
            monitor_id=key, version=version, spec=spec, created_at_ms=now, created_by=actor
        )
    )


def _audit(conn: Connection, now: int, actor: str, action: str, name: str, **change: Any) -> None:
    audit.record(
        conn, at_ms=now, actor=actor, action=action, target_type="monitor", target_id=name, **change
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()
