"""Approvals: people with the approver role sign off a model version for an environment."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from steward import audit
from steward.errors import Conflict, Forbidden
from steward.registry import db, policies_db
from steward.registry.deployments import DEFAULT_ENVIRONMENTS
from steward.registry.missing import model_not_found, version_not_found
from steward.registry.policy_entities import Approval
from steward.registry.validation import (
    check_actor,
    check_environment,
    check_text,
    check_version,
)
from steward.store import Store

__all__ = ["approve", "list_approvals"]

log = logging.getLogger(__name__)

MAX_COMMENT = 10_000


def approve(
    store: Store,
    name: str,
    version: int,
    environment: str,
    actor: str,
    comment: str = "",
    *,
    approvers: Collection[str],
    environments: Sequence[str] = DEFAULT_ENVIRONMENTS,
) -> Approval:
    """Record `actor`'s approval of `version` for `environment` (audited as `model.approve`).

    Args:
        approvers: the identities holding the approver role (setting `approvers`).

    Raises:
        InvalidInput: a bad version, environment, comment or actor.
        Forbidden: `actor` is not one of `approvers`.
        NotFound: no such model or version.
        Conflict: `actor` already approved this version for this environment.
    """
    check_version(version)
    check_environment(environment, environments)
    check_text(comment, "comment", max_length=MAX_COMMENT)
    check_actor(actor)
    if actor not in approvers:
        raise Forbidden(
            f"{actor!r} does not hold the approver role, so cannot approve {name} v{version} "
            f"for {environment}; approvers: {', '.join(sorted(approvers)) or 'none configured'} "
            "(setting STEWARD_APPROVERS)",
            field="actor",
        )
    with store.db.write() as conn:
        if not db.lock_model(conn, name):
            raise model_not_found(conn, name)
        if db.select_version(conn, name, version) is None:
            raise version_not_found(conn, name, version)
        now = store.clock()
        approval = Approval(
            name, version, environment, actor, comment, datetime.fromtimestamp(now / 1000, tz=UTC)
        )
        if not policies_db.insert_approval(conn, approval):
            raise Conflict(
                f"{actor!r} already approved {name} v{version} for {environment}; "
                "one approval per person counts (see them: steward approvals list "
                f"{name})",
                field="actor",
            )
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="model.approve",
            target_type="model_version",
            target_id=f"{name}/{version}",
            after={"environment": environment, "comment": comment},
        )
    log.info(
        "approval recorded model=%s version=%d env=%s by=%s", name, version, environment, actor
    )
    return approval


def list_approvals(
    store: Store,
    name: str | None = None,
    *,
    version: int | None = None,
    environment: str | None = None,
) -> list[Approval]:
    """Approvals, oldest first, optionally of one model, version and/or environment.

    Raises:
        NotFound: `name` is given and no such model exists.
    """
    with store.db.read() as conn:
        if name is not None and not db.model_exists(conn, name):
            raise model_not_found(conn, name)
        return policies_db.select_approvals(
            conn, name=name, version=version, environment=environment
        )
