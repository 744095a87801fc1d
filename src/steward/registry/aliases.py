"""Aliases: movable names on versions (`champion`, `challenger`, any user name)."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.engine import Connection

from steward import audit
from steward.registry import db
from steward.registry.entities import ModelVersion
from steward.registry.missing import alias_not_found, model_not_found, version_not_found
from steward.registry.validation import check_actor, check_alias, check_version
from steward.store import Store

__all__ = ["delete_alias", "get_alias", "set_alias"]

log = logging.getLogger(__name__)


def set_alias(store: Store, name: str, alias: str, version: int, *, actor: str) -> ModelVersion:
    """Point `alias` at `version`, creating or moving it in one atomic step.

    Readers see the old version or the new one, never neither. The audit event's `before`
    is the version the alias left (None when new); setting it where it already is changes
    nothing and writes no event.

    Raises:
        InvalidInput: a bad alias, version or actor.
        NotFound: no such model or version.
    """
    check_alias(alias)
    check_version(version)
    check_actor(actor)
    with store.db.write() as conn:
        _lock_existing_model(conn, name)
        record = db.select_version(conn, name, version)
        if record is None:
            raise version_not_found(conn, name, version)
        previous = db.select_alias(conn, name, alias)
        if previous == version:
            return record
        now = store.clock()
        db.upsert_alias(conn, name, alias, version, now)
        db.touch_model(conn, name, now)
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="model_alias.set",
            target_type="model_alias",
            target_id=f"{name}@{alias}",
            before=None if previous is None else {"version": previous},
            after={"version": version},
        )
    log.info("alias set model=%s alias=%s version=%d from=%s", name, alias, version, previous)
    return dataclasses.replace(record, aliases=tuple(sorted({*record.aliases, alias})))


def delete_alias(store: Store, name: str, alias: str, *, actor: str) -> None:
    """Remove an alias; the version it pointed at is untouched.

    Raises:
        InvalidInput: a bad alias or actor.
        NotFound: no such model, or the model has no such alias.
    """
    check_alias(alias)
    check_actor(actor)
    with store.db.write() as conn:
        _lock_existing_model(conn, name)
        previous = db.select_alias(conn, name, alias)
        if previous is None:
            raise alias_not_found(conn, name, alias)
        now = store.clock()
        db.delete_alias(conn, name, alias)
        db.touch_model(conn, name, now)
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="model_alias.delete",
            target_type="model_alias",
            target_id=f"{name}@{alias}",
            before={"version": previous},
        )
    log.info("alias deleted model=%s alias=%s was=%d", name, alias, previous)


def get_alias(store: Store, name: str, alias: str) -> ModelVersion:
    """The version the alias points at now.

    Raises:
        InvalidInput: a bad alias.
        NotFound: no such model or alias.
    """
    check_alias(alias)
    with store.db.read() as conn:
        if not db.model_exists(conn, name):
            raise model_not_found(conn, name)
        version = db.select_alias(conn, name, alias)
        if version is None:
            raise alias_not_found(conn, name, alias)
        record = db.select_version(conn, name, version)
        if record is None:  # pragma: no cover - versions are never deleted
            raise version_not_found(conn, name, version)
    return record


def _lock_existing_model(conn: Connection, name: str) -> None:
    # Serialises changes to one model's aliases, so `before` is always the true old value.
    if not db.lock_model(conn, name):
        raise model_not_found(conn, name)
