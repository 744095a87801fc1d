"""Every SQL statement on the audit_events table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from steward.audit.entities import AuditEvent, ChainHead
from steward.store.tables import audit_events

__all__ = ["insert_event", "iter_chain", "lock_chain", "select_events", "select_head"]

# Any constant every Steward process shares; distinct from the migration lock's key.
_PG_CHAIN_LOCK = 0x5374_6577_4175_6474  # "StewAudt"
_STREAM_BATCH = 1000


def lock_chain(conn: Connection) -> None:
    """Serialise appenders until this transaction ends.

    SQLite write transactions already hold the database lock (BEGIN IMMEDIATE).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_CHAIN_LOCK)))


def select_head(conn: Connection) -> ChainHead | None:
    row = conn.execute(
        sa.select(audit_events.c.seq, audit_events.c.hash)
        .order_by(audit_events.c.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else ChainHead(seq=row.seq, hash=row.hash)


def insert_event(conn: Connection, event: AuditEvent) -> None:
    conn.execute(
        audit_events.insert().values(
            seq=event.seq,
            at_ms=event.at_ms,
            actor=event.actor,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            before=event.before,
            after=event.after,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )
    )


def select_events(
    conn: Connection,
    *,
    filters: dict[str, str],
    limit: int,
    after_seq: int | None,
) -> list[AuditEvent]:
    query = sa.select(audit_events).order_by(audit_events.c.seq).limit(limit)
    for column, value in filters.items():
        query = query.where(audit_events.c[column] == value)
    if after_seq is not None:
        query = query.where(audit_events.c.seq > after_seq)
    return [_event(row) for row in conn.execute(query)]


def iter_chain(conn: Connection) -> Iterator[AuditEvent]:
    """Every event in seq order, fetched in batches (a server-side cursor on PostgreSQL)."""
    query = sa.select(audit_events).order_by(audit_events.c.seq)
    result = conn.execution_options(yield_per=_STREAM_BATCH).execute(query)
    for row in result:
        yield _event(row)


def _event(row: sa.Row[Any]) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        at_ms=row.at_ms,
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        before=row.before,
        after=row.after,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
