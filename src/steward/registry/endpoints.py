"""Endpoints: named serving targets, their traffic split, shadow copies and fallback chain.

A target is `"@ALIAS"` or a version number as text (`"3"`) of the endpoint's model. Targets
must exist when they are written; `resolve_endpoint` turns them into versions at read time,
so moving an alias re-routes every endpoint that follows it. Every change is one write
transaction that bumps the revision (servers poll it) and writes its audit event last.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from steward import audit
from steward.errors import Conflict, NotFound, StewardError
from steward.registry import db
from steward.registry import endpoints_db as edb
from steward.registry.deployments import DEFAULT_ENVIRONMENTS
from steward.registry.endpoints_validation import (
    UPDATABLE_FIELDS,
    Traffic,
    check_changes,
    check_endpoint_name,
    check_traffic,
    initial_traffic,
    parse_target,
)
from steward.registry.entities import (
    ContractMode,
    Endpoint,
    ModelVersion,
    ResolvedEndpoint,
    ResolvedTarget,
)
from steward.registry.missing import alias_not_found, model_not_found, version_not_found
from steward.registry.validation import check_actor, check_environment
from steward.store import Store

__all__ = [
    "UPDATABLE_FIELDS",
    "Traffic",
    "create_endpoint",
    "delete_endpoint",
    "get_endpoint",
    "list_endpoints",
    "parse_target",
    "resolve_endpoint",
    "set_traffic",
    "update_endpoint",
]

log = logging.getLogger(__name__)


def create_endpoint(
    store: Store,
    name: str,
    *,
    environment: str,
    model_name: str,
    alias: str | None = None,
    version: int | None = None,
    traffic: Traffic | None = None,
    shadow: Sequence[str] = (),
    sticky_key: str | None = None,
    fallback: Sequence[str] = (),
    default_response: Any = None,  # a JSON document
    contract_mode: ContractMode = "reject",
    timeout_ms: int = 1000,
    actor: str,
    environments: Sequence[str] = DEFAULT_ENVIRONMENTS,
) -> Endpoint:
    """Create an endpoint serving `model_name` in `environment`, at revision 1.

    Its traffic is exactly one of: `alias` (100% to `@alias`), `version` (100% to that
    version), or `traffic`, e.g. `{"@champion": 90, "@challenger": 10}`.

    Raises:
        InvalidInput: a bad name, environment (the accepted ones are listed), target,
            weights, sticky key, default response, contract mode, timeout or actor; or not
            exactly one of alias, version and traffic.
        NotFound: no such model, or a target names an alias that is not set or a version
            that is not registered.
        Conflict: an endpoint with that name exists.
    """
    check_endpoint_name(name)
    check_environment(environment, environments)
    check_actor(actor)
    fields: dict[str, Any] = {"traffic": initial_traffic(alias, version, traffic)}
    fields |= check_changes(
        {
            "shadow": shadow,
            "fallback": fallback,
            "default_response": default_response,
            "sticky_key": sticky_key,
            "contract_mode": contract_mode,
            "timeout_ms": timeout_ms,
        }
    )
    with store.db.write() as conn:
        _lock_model(conn, model_name)
        _check_targets_exist(conn, model_name, fields)
        now = store.clock()
        endpoint = Endpoint(
            name=name,
            environment=environment,
            model_name=model_name,
            revision=1,
            created_at=_at(now),
            updated_at=_at(now),
            created_by=actor,
            **fields,
        )
        if not edb.insert_endpoint(conn, endpoint):
            raise Conflict(
                f"endpoint {name!r} already exists (see it: steward endpoints show {name})",
                field="name",
            )
        _audit(conn, now, actor, "endpoint.create", name, after=_config(endpoint))
    log.info("endpoint created name=%s model=%s actor=%s", name, model_name, actor)
    return endpoint


def get_endpoint(store: Store, name: str) -> Endpoint:
    """Raises: NotFound, suggesting close names."""
    with store.db.read() as conn:
        return _existing(conn, name)


def list_endpoints(store: Store, environment: str | None = None) -> list[Endpoint]:
    """Every endpoint by name, or those of one environment."""
    with store.db.read() as conn:
        return edb.select_endpoints(conn, environment=environment)


def set_traffic(store: Store, name: str, traffic: Traffic, *, actor: str) -> Endpoint:
    """Replace the endpoint's traffic split (event `endpoint.traffic`).

    Setting the split it already has changes nothing and writes no event.

    Raises:
        InvalidInput: no targets, a malformed target, a duplicate, a weight outside 0-100,
            weights not summing to 100, or a bad actor.
        NotFound: no such endpoint, or a target's alias is not set or version not registered.
    """
    check_actor(actor)
    checked = check_traffic(traffic)
    return _change(store, name, {"traffic": checked}, actor=actor, action="endpoint.traffic")


def update_endpoint(store: Store, name: str, *, actor: str, **changes: Any) -> Endpoint:
    """Change any of `shadow`, `fallback`, `default_response`, `sticky_key`, `contract_mode`,
    `timeout_ms` (event `endpoint.update`, naming only the fields that changed).

    Passing `sticky_key=None` or `default_response=None` clears it. Only the targets being
    written must exist, so a broken endpoint can always be repaired.

    Raises:
        InvalidInput: a field outside that list (traffic has `set_traffic`), or a bad value.
        NotFound: no such endpoint, or a new target does not exist.
    """
    check_actor(actor)
    checked = check_changes(changes)
    return _change(store, name, checked, actor=actor, action="endpoint.update")


def delete_endpoint(store: Store, name: str, *, actor: str) -> None:
    """Remove the endpoint (event `endpoint.delete`, its last configuration as `before`).

    Raises:
        InvalidInput: a bad actor.
        NotFound: no such endpoint.
    """
    check_actor(actor)
    with store.db.write() as conn:
        current = _existing(conn, name, lock=True)
        edb.delete_endpoint(conn, name)
        now = store.clock()
        _audit(conn, now, actor, "endpoint.delete", name, before=_config(current))
    log.info("endpoint deleted name=%s actor=%s", name, actor)


def resolve_endpoint(store: Store, name: str) -> ResolvedEndpoint:
    """The endpoint with every target turned into the version it means now (one snapshot).

    Raises:
        NotFound: no such endpoint, or one of its aliases was deleted since it was written
            (the message names the target and how to repair it).
    """
    with store.db.read() as conn:
        endpoint = _existing(conn, name)
        aliases = db.select_aliases(conn, endpoint.model_name)
        numbers = {t: _resolved_number(endpoint, t, aliases) for t in endpoint.targets}
        records = {n: _version(conn, endpoint.model_name, n) for n in set(numbers.values())}

    def resolved(target: str, weight: float = 0.0) -> ResolvedTarget:
        return ResolvedTarget(target, records[numbers[target]], weight)

    return ResolvedEndpoint(
        endpoint=endpoint,
        traffic=tuple(resolved(t.target, t.weight) for t in endpoint.traffic),
        shadow=tuple(resolved(target) for target in endpoint.shadow),
        fallback=tuple(resolved(target) for target in endpoint.fallback),
        fingerprint=_fingerprint(endpoint, numbers),
    )


# Writing -------------------------------------------------------------------------------


def _change(
    store: Store, name: str, changes: dict[str, Any], *, actor: str, action: str
) -> Endpoint:
    """Apply checked changes under the endpoint's row lock; a no-op writes nothing."""
    with store.db.write() as conn:
        current = _existing(conn, name, lock=True)
        changed = {key: value for key, value in changes.items() if getattr(current, key) != value}
        if not changed:
            return current
        _lock_model(conn, current.model_name)  # queues behind alias moves and deletions
        _check_targets_exist(conn, current.model_name, changed)
        now = store.clock()
        revision = current.revision + 1
        updated = dataclasses.replace(current, **changed, revision=revision, updated_at=_at(now))
        edb.update_endpoint(conn, updated)
        before = {**_jsonable(current, changed), "revision": current.revision}
        after = {**_jsonable(updated, changed), "revision": revision}
        _audit(conn, now, actor, action, name, before=before, after=after)
    log.info(
        "endpoint changed name=%s action=%s revision=%d actor=%s", name, action, revision, actor
    )
    return updated


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
        target_type="endpoint",
        target_id=name,
        before=before,
        after=after,
    )


def _lock_model(conn: Connection, model_name: str) -> None:
    if not isinstance(model_name, str) or not db.lock_model(conn, model_name):
        error = model_not_found(conn, str(model_name))
        raise NotFound(error.message, field="model_name")


def _check_targets_exist(conn: Connection, model_name: str, fields: Mapping[str, Any]) -> None:
    """Raises: NotFound for an alias that is not set or a version that is not registered."""
    latest = db.max_version(conn, model_name) or 0
    for field, target in _named_targets(fields):
        alias, version = parse_target(target, field)
        error: StewardError | None = None
        if alias is not None and db.select_alias(conn, model_name, alias) is None:
            error = alias_not_found(conn, model_name, alias)
        if version is not None and version > latest:  # numbers are dense and never reused
            error = version_not_found(conn, model_name, version)
        if error is not None:
            raise NotFound(f"{field} {target!r}: {error.message}", field=field)


def _named_targets(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    named = [
        (f"traffic[{index}].target", t.target) for index, t in enumerate(fields.get("traffic", ()))
    ]
    for key in ("shadow", "fallback"):
        named += [(f"{key}[{index}]", t) for index, t in enumerate(fields.get(key, ()))]
    return named


# Reading -------------------------------------------------------------------------------


def _existing(conn: Connection, name: str, *, lock: bool = False) -> Endpoint:
    endpoint = edb.select_endpoint(conn, name, lock=lock) if isinstance(name, str) else None
    if endpoint is None:
        close = difflib.get_close_matches(str(name), edb.select_endpoint_names(conn), n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise NotFound(
            f"no endpoint {name!r}{hint} (list them: steward endpoints list)", field="name"
        )
    return endpoint


def _resolved_number(endpoint: Endpoint, target: str, aliases: Mapping[str, int]) -> int:
    alias, version = parse_target(target)
    if version is not None:
        return version
    if alias is not None and alias in aliases:
        return aliases[alias]
    raise NotFound(
        f"endpoint {endpoint.name!r} routes to {target} but model {endpoint.model_name!r} "
        f"has no alias {alias!r} any more; set it again (steward models alias set "
        f"{endpoint.model_name} {alias} VERSION) or change the endpoint "
        f"(steward endpoints set-traffic {endpoint.name} ...)",
        field="target",
    )


def _version(conn: Connection, model_name: str, number: int) -> ModelVersion:
    record = db.select_version(conn, model_name, number)
    if record is None:  # pragma: no cover - versions are never deleted
        raise version_not_found(conn, model_name, number)
    return record


def _fingerprint(endpoint: Endpoint, numbers: Mapping[str, int]) -> str:
    document = {
        **_config(endpoint),
        "name": endpoint.name,
        "created_at": endpoint.created_at.isoformat(),
        "resolved": sorted(numbers.items()),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _config(endpoint: Endpoint) -> dict[str, Any]:
    """The endpoint's configuration as JSON (`Any`: JSON values), for audit and fingerprint."""
    fields = ("environment", "model_name", "traffic", *UPDATABLE_FIELDS, "revision")
    return _jsonable(endpoint, fields)


def _jsonable(endpoint: Endpoint, fields: Sequence[str] | Mapping[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key in fields:
        value = getattr(endpoint, key)
        if key == "traffic":
            value = [{"target": t.target, "weight": t.weight} for t in value]
        document[key] = list(value) if isinstance(value, tuple) else value
    return document


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
