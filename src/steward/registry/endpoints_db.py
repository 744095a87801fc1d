"""Every SQL statement on the `endpoints` table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from steward.registry.entities import Endpoint, TrafficTarget
from steward.store.tables import endpoints

__all__ = [
    "delete_endpoint",
    "insert_endpoint",
    "select_endpoint",
    "select_endpoint_names",
    "select_endpoints",
    "update_endpoint",
]

_ENDPOINT = endpoints.c


def insert_endpoint(conn: Connection, endpoint: Endpoint) -> bool:
    """Create the endpoint unless the name is taken; False when it was."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(endpoints).values(**_values(endpoint))
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    inserted = statement.on_conflict_do_nothing().returning(_ENDPOINT.name)
    return conn.execute(inserted).first() is not None


def select_endpoint(conn: Connection, name: str, *, lock: bool = False) -> Endpoint | None:
    """The endpoint, or None; `lock` holds its row until commit (changes queue on it)."""
    query = sa.select(endpoints).where(_ENDPOINT.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _endpoint(row)


def select_endpoints(conn: Connection, *, environment: str | None) -> list[Endpoint]:
    """By name, optionally in one environment."""
    query = sa.select(endpoints).order_by(_ENDPOINT.name)
    if environment is not None:
        query = query.where(_ENDPOINT.environment == environment)
    return [_endpoint(row) for row in conn.execute(query)]


def select_endpoint_names(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(_ENDPOINT.name).order_by(_ENDPOINT.name)).scalars())


def update_endpoint(conn: Connection, endpoint: Endpoint) -> None:
    """Store every mutable field, the revision and the update time."""
    values = _values(endpoint)
    for fixed in ("name", "environment", "model_name", "created_by", "created_at_ms"):
        del values[fixed]
    conn.execute(endpoints.update().where(_ENDPOINT.name == endpoint.name).values(**values))


def delete_endpoint(conn: Connection, name: str) -> None:
    conn.execute(endpoints.delete().where(_ENDPOINT.name == name))


def _values(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "environment": endpoint.environment,
        "model_name": endpoint.model_name,
        "traffic": [{"target": t.target, "weight": t.weight} for t in endpoint.traffic],
        "shadow": list(endpoint.shadow),
        "sticky_key": endpoint.sticky_key,
        "fallback": list(endpoint.fallback),
        "default_response": endpoint.default_response,
        "contract_mode": endpoint.contract_mode,
        "timeout_ms": endpoint.timeout_ms,
        "revision": endpoint.revision,
        "created_by": endpoint.created_by,
        "created_at_ms": _ms(endpoint.created_at),
        "updated_at_ms": _ms(endpoint.updated_at),
    }


def _endpoint(row: sa.Row[Any]) -> Endpoint:
    return Endpoint(
        name=row.name,
        environment=row.environment,
        model_name=row.model_name,
        traffic=tuple(TrafficTarget(t["target"], float(t["weight"])) for t in row.traffic),
        shadow=tuple(row.shadow),
        sticky_key=row.sticky_key,
        fallback=tuple(row.fallback),
        default_response=row.default_response,
        contract_mode=row.contract_mode,
        timeout_ms=row.timeout_ms,
        revision=row.revision,
        created_at=_at(row.created_at_ms),
        updated_at=_at(row.updated_at_ms),
        created_by=row.created_by,
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
