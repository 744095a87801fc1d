"""Every SQL statement on the promotion tables: policies and approvals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from steward.registry.db import _insert
from steward.registry.policy_entities import Approval, Policy
from steward.store.tables import approvals, model_policies

__all__ = [
    "insert_approval",
    "insert_policy",
    "select_approvals",
    "select_policy",
]

_POLICY = model_policies.c
_APPROVAL = approvals.c


def select_policy(
    conn: Connection, name: str, environment: str, version: int | None = None
) -> Policy | None:
    """The policy in force (the highest version), or the given version."""
    query = sa.select(model_policies).where(
        _POLICY.model_name == name, _POLICY.environment == environment
    )
    if version is not None:
        query = query.where(_POLICY.version == version)
    row = conn.execute(query.order_by(_POLICY.version.desc()).limit(1)).first()
    return None if row is None else _policy(row)


def insert_policy(
    conn: Connection,
    name: str,
    environment: str,
    document: dict[str, Any],
    *,
    actor: str,
    now_ms: int,
) -> int:
    """Add the next version of the policy; the caller holds the model's row lock."""
    latest = sa.select(sa.func.max(_POLICY.version)).where(
        _POLICY.model_name == name, _POLICY.environment == environment
    )
    version = (conn.execute(latest).scalar() or 0) + 1
    conn.execute(
        model_policies.insert().values(
            model_name=name,
            environment=environment,
            version=version,
            document=document,
            created_by=actor,
            created_at_ms=now_ms,
        )
    )
    return int(version)


def insert_approval(conn: Connection, approval: Approval) -> bool:
    """Record the approval unless that person already approved; False when they had."""
    statement = _insert(conn, approvals).values(
        model_name=approval.model_name,
        version=approval.version,
        environment=approval.environment,
        approver=approval.approver,
        comment=approval.comment,
        created_at_ms=round(approval.created_at.timestamp() * 1000),
    )
    inserted = statement.on_conflict_do_nothing().returning(_APPROVAL.id)
    return conn.execute(inserted).first() is not None


def select_approvals(
    conn: Connection,
    *,
    name: str | None = None,
    version: int | None = None,
    environment: str | None = None,
) -> list[Approval]:
    """Oldest first."""
    query = sa.select(approvals).order_by(_APPROVAL.id)
    if name is not None:
        query = query.where(_APPROVAL.model_name == name)
    if version is not None:
        query = query.where(_APPROVAL.version == version)
    if environment is not None:
        query = query.where(_APPROVAL.environment == environment)
    return [_approval(row) for row in conn.execute(query)]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _policy(row: sa.Row[Any]) -> Policy:
    return Policy(
        model_name=row.model_name,
        environment=row.environment,
        version=row.version,
        document=row.document,
        created_by=row.created_by,
        created_at=_at(row.created_at_ms),
    )


def _approval(row: sa.Row[Any]) -> Approval:
    return Approval(
        model_name=row.model_name,
        version=row.version,
        environment=row.environment,
        approver=row.approver,
        comment=row.comment,
        created_at=_at(row.created_at_ms),
    )
