"""Deployment records: which version went to which environment, by whom, when, and why."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from steward import audit
from steward.registry import db
from steward.registry.entities import Deployment
from steward.registry.missing import model_not_found, version_not_found
from steward.registry.validation import (
    check_actor,
    check_environment,
    check_text,
    check_version,
)
from steward.store import Store

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "current_deployments",
    "list_deployments",
    "record_deployment",
]

log = logging.getLogger(__name__)

DEFAULT_ENVIRONMENTS = ("dev", "staging", "production")
MAX_NOTE = 10_000


def record_deployment(
    store: Store,
    name: str,
    version: int,
    environment: str,
    *,
    actor: str,
    note: str = "",
    environments: Sequence[str] = DEFAULT_ENVIRONMENTS,
) -> Deployment:
    """Record that `version` now runs in `environment`; earlier records stay as history.

    The audit event's `before` is the version the environment had (None for its first).

    Raises:
        InvalidInput: an environment not in `environments` (all listed), a bad version,
            note or actor.
        NotFound: no such model or version.
    """
    check_version(version)
    check_environment(environment, environments)
    check_text(note, "note", max_length=MAX_NOTE)
    check_actor(actor)
    with store.db.write() as conn:
        if not db.lock_model(conn, name):  # serialises one model's deployments for `before`
            raise model_not_found(conn, name)
        if db.select_version(conn, name, version) is None:
            raise version_not_found(conn, name, version)
        previous = db.select_current_deployments(conn, name).get(environment)
        now = store.clock()
        deployment = Deployment(
            model_name=name,
            version=version,
            environment=environment,
            deployed_by=actor,
            deployed_at=datetime.fromtimestamp(now / 1000, tz=UTC),
            note=note,
        )
        db.insert_deployment(conn, deployment)
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="deployment.record",
            target_type="deployment",
            target_id=f"{name}:{environment}",
            before=None if previous is None else {"version": previous.version},
            after={"version": version, "note": note},
        )
    log.info("deployment recorded model=%s version=%d environment=%s", name, version, environment)
    return deployment


def list_deployments(
    store: Store, *, name: str | None = None, environment: str | None = None
) -> list[Deployment]:
    """Deployment records, newest first, optionally for one model and/or one environment.

    Raises:
        NotFound: `name` is given and no such model exists.
    """
    with store.db.read() as conn:
        if name is not None and not db.model_exists(conn, name):
            raise model_not_found(conn, name)
        return db.select_deployments(conn, name=name, environment=environment)


def current_deployments(store: Store, name: str) -> dict[str, Deployment]:
    """Environment -> the newest deployment of the model there (absent when never deployed).

    Raises:
        NotFound: no such model.
    """
    with store.db.read() as conn:
        if not db.model_exists(conn, name):
            raise model_not_found(conn, name)
        return db.select_current_deployments(conn, name)
