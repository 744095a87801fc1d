"""The registry's use cases: models, immutable versions, resolving references, loading.

Every state change writes its audit event in the same transaction as the change, last, so
the two commit together. Alias and deployment use cases live in `aliases.py` and
`deployments.py` and are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from steward import audit, flavors
from steward.errors import Conflict, IntegrityError, InvalidInput, NotFound
from steward.registry import db
from steward.registry.aliases import delete_alias, get_alias, set_alias
from steward.registry.deployments import (
    DEFAULT_ENVIRONMENTS,
    current_deployments,
    list_deployments,
    record_deployment,
)
from steward.registry.entities import ModelVersion, RegisteredModel
from steward.registry.missing import (
    alias_not_found,
    model_not_found,
    no_versions,
    version_not_found,
)
from steward.registry.uris import (
    ACCEPTED_FORMS,
    SCHEME,
    ModelRef,
    parse_model_uri,
    parse_selector,
)
from steward.registry.validation import (
    check_actor,
    check_alias,
    check_digest,
    check_digests,
    check_json,
    check_model_name,
    check_tags,
    check_text,
    check_version,
)
from steward.store import Store
from steward.tracking import db as tracking_db

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "create_model",
    "create_version",
    "current_deployments",
    "delete_alias",
    "get_alias",
    "get_model",
    "get_version",
    "list_deployments",
    "list_models",
    "list_versions",
    "load_version",
    "record_deployment",
    "register_model",
    "resolve",
    "set_alias",
]

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 10_000


def create_model(
    store: Store,
    name: str,
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    actor: str,
) -> RegisteredModel:
    """Register a model name, with no versions yet.

    Raises:
        InvalidInput: a bad name, description, tags or actor.
        Conflict: a model with that name exists.
    """
    check_model_name(name)
    check_actor(actor)
    check_text(description, "description", max_length=MAX_DESCRIPTION)
    clean_tags = check_tags(tags)
    with store.db.write() as conn:
        now = store.clock()
        if not db.insert_model(conn, name, description=description, tags=clean_tags, now_ms=now):
            raise Conflict(
                f"registered model {name!r} already exists (see it: steward models show {name})",
                field="name",
            )
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="model.create",
            target_type="model",
            target_id=name,
            after={"description": description, "tags": clean_tags},
        )
    log.info("model created name=%s actor=%s", name, actor)
    return get_model(store, name)


def get_model(store: Store, name: str) -> RegisteredModel:
    """Raises: NotFound, suggesting close names."""
    with store.db.read() as conn:
        model = db.select_model(conn, name)
        if model is None:
            raise model_not_found(conn, name)
    return model


def list_models(store: Store) -> list[RegisteredModel]:
    """Every registered model, by name."""
    with store.db.read() as conn:
        return db.select_models(conn)


def create_version(
    store: Store,
    name: str,
    *,
    artifact_digest: str,
    flavor: str,
    flavor_metadata: Mapping[str, Any],  # Any: JSON written by the flavor
    input_schema: list[dict[str, Any]],
    output_schema: list[dict[str, Any]],
    run_id: str | None = None,
    dataset_digests: Iterable[str] = (),
    contract: Mapping[str, Any] | None = None,
    profile: Mapping[str, Any] | None = None,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    actor: str,
) -> ModelVersion:
    """Add the next version of a model (registering the model first when it is new).

    Version numbers are dense and never reused: concurrent registrations queue on the
    model's row, so each reads the number the previous one committed.

    Raises:
        InvalidInput: a bad name, digest, flavor, schema, tags, description or actor.
        NotFound: no blob with that digest in the artifact store, or no run `run_id`.
    """
    fields = _version_fields(
        name,
        artifact_digest=artifact_digest,
        flavor=flavor,
        flavor_metadata=flavor_metadata,
        input_schema=input_schema,
        output_schema=output_schema,
        dataset_digests=dataset_digests,
        contract=contract,
        profile=profile,
        description=description,
        tags=tags,
        actor=actor,
    )
    if run_id is not None:
        check_text(run_id, "run_id", max_length=32, required=True)
    size = _artifact_size(store, artifact_digest)
    with store.db.write() as conn:
        if run_id is not None and tracking_db.select_run_status(conn, run_id) is None:
            raise NotFound(f"no run {run_id!r} (list them: steward runs list)", field="run_id")
        now = store.clock()
        is_new_model = db.insert_model(conn, name, description="", tags={}, now_ms=now)
        if not is_new_model:
            db.touch_model(conn, name, now)  # the row lock that queues concurrent registrations
        number = (db.max_version(conn, name) or 0) + 1
        version = ModelVersion(
            model_name=name,
            version=number,
            artifact_size_bytes=size,
            run_id=run_id,
            created_by=actor,
            created_at=datetime.fromtimestamp(now / 1000, tz=UTC),
            **fields,
        )
        db.insert_version(conn, version)
        _audit_new_version(conn, version, now, is_new_model=is_new_model)
    log.info("model version created name=%s version=%d actor=%s", name, number, actor)
    return version


def register_model(
    store: Store,
    name: str,
    model: Any,  # Any: the user's framework object
    *,
    sample_input: Any = None,  # Any: a DataFrame, array or list of dicts
    run_id: str | None = None,
    dataset_digests: Iterable[str] = (),
    contract: Mapping[str, Any] | None = None,
    profile: Mapping[str, Any] | None = None,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    flavor: str | None = None,
    actor: str,
) -> ModelVersion:
    """Save a model object with its flavor, store the blob, and register it as a new version.

    Schemas are inferred from `sample_input` (a few training rows); without one they are
    empty lists.

    Raises:
        InvalidInput: no flavor can save the model, or `create_version` refuses the fields.
        NotFound: `flavor` names no registered flavor, or no run `run_id`.
    """
    check_model_name(name)
    check_actor(actor)
    saved = flavors.save_model(model, flavor)
    digest = store.artifacts.put_bytes(saved.payload)
    has_sample = sample_input is not None
    return create_version(
        store,
        name,
        artifact_digest=digest,
        flavor=saved.flavor,
        flavor_metadata=saved.metadata,
        input_schema=flavors.infer_schema(sample_input) if has_sample else [],
        output_schema=flavors.infer_output_schema(model, sample_input) if has_sample else [],
        run_id=run_id,
        dataset_digests=dataset_digests,
        contract=contract,
        profile=profile,
        description=description,
        tags=tags,
        actor=actor,
    )


def get_version(store: Store, name: str, version: int) -> ModelVersion:
    """Raises: InvalidInput for a version below 1; NotFound naming the versions that exist."""
    check_version(version)
    with store.db.read() as conn:
        record = db.select_version(conn, name, version)
        if record is None:
            raise version_not_found(conn, name, version)
    return record


def list_versions(store: Store, name: str) -> list[ModelVersion]:
    """A model's versions, oldest first. Raises: NotFound for an unknown model."""
    with store.db.read() as conn:
        if not db.model_exists(conn, name):
            raise model_not_found(conn, name)
        return db.select_versions(conn, name)


def resolve(
    store: Store, uri_or_name: str, version_or_alias: str | int | None = None
) -> ModelVersion:
    """The version a reference means now.

    Accepts `models:/NAME/VERSION`, `models:/NAME@ALIAS`, `models:/NAME/latest`, or a plain
    name with a version number, an alias or `"latest"`.

    Raises:
        InvalidInput: a malformed URI (the message shows the accepted forms), a bad alias,
            a plain name without `version_or_alias`, or a URI given together with one.
        NotFound: the model, version or alias does not exist.
    """
    ref = _reference(uri_or_name, version_or_alias)
    with store.db.read() as conn:
        number = _version_number(conn, ref)
        record = db.select_version(conn, ref.name, number)
        if record is None:
            raise version_not_found(conn, ref.name, number)
    return record


def load_version(store: Store, name: str, version: int) -> flavors.LoadedModel:
    """Load a registered version, after checking its blob still hashes to the recorded digest.

    Only bytes that match the registry record reach the flavor, so a pickle swapped on
    disk is refused before it can run code.

    Raises:
        NotFound: no such version, or its blob is gone from the artifact store.
        IntegrityError: the blob's sha256 differs from the record (names both digests).
    """
    record = get_version(store, name, version)
    payload = _verified_payload(store, record)
    return flavors.load_model(
        record.flavor, payload, record.flavor_metadata, expected_sha256=record.artifact_digest
    )


def _version_fields(
    name: str,
    *,
    artifact_digest: str,
    flavor: str,
    flavor_metadata: Mapping[str, Any],
    input_schema: list[dict[str, Any]],
    output_schema: list[dict[str, Any]],
    dataset_digests: Iterable[str],
    contract: Mapping[str, Any] | None,
    profile: Mapping[str, Any] | None,
    description: str,
    tags: Mapping[str, str] | None,
    actor: str,
) -> dict[str, Any]:
    """The checked, JSON-clean values of a new version (everything but number and lineage)."""
    check_model_name(name)
    check_actor(actor)
    if flavor not in flavors.FLAVORS:
        raise InvalidInput(
            f"flavor {flavor!r} is unknown; registered flavors: {', '.join(flavors.FLAVORS)}",
            field="flavor",
        )
    return {
        "artifact_digest": check_digest(artifact_digest),
        "flavor": flavor,
        "flavor_metadata": check_json(dict(flavor_metadata), "flavor_metadata", dict),
        "input_schema": check_json(input_schema, "input_schema", list),
        "output_schema": check_json(output_schema, "output_schema", list),
        "dataset_digests": check_digests(dataset_digests),
        "contract": None if contract is None else check_json(dict(contract), "contract", dict),
        "profile": None if profile is None else check_json(dict(profile), "profile", dict),
        "description": check_text(description, "description", max_length=MAX_DESCRIPTION),
        "tags": check_tags(tags),
    }


def _artifact_size(store: Store, digest: str) -> int:
    if not store.artifacts.exists(digest):
        raise NotFound(
            f"no artifact with digest {digest} in the artifact store; upload the model's "
            "bytes first (PUT /api/v1/artifacts) or register the model object with register_model",
            field="artifact_digest",
        )
    return store.artifacts.size(digest)


def _audit_new_version(
    conn: Connection, version: ModelVersion, now: int, *, is_new_model: bool
) -> None:
    actor, name = version.created_by, version.model_name
    if is_new_model:
        after = {"description": "", "tags": {}}
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="model.create",
            target_type="model",
            target_id=name,
            after=after,
        )
    summary = {
        "artifact_digest": version.artifact_digest,
        "artifact_size_bytes": version.artifact_size_bytes,
        "flavor": version.flavor,
        "run_id": version.run_id,
        "dataset_digests": list(version.dataset_digests),
        "description": version.description,
        "tags": version.tags,
    }
    audit.record(
        conn,
        at_ms=now,
        actor=actor,
        action="model_version.create",
        target_type="model_version",
        target_id=f"{name}/{version.version}",
        after=summary,
    )


def _reference(uri_or_name: str, version_or_alias: str | int | None) -> ModelRef:
    if not isinstance(uri_or_name, str):
        raise InvalidInput(f"model reference {uri_or_name!r} is not text", field="uri")
    if uri_or_name.startswith(SCHEME) or any(char in uri_or_name for char in "/@:"):
        if version_or_alias is not None:
            raise InvalidInput(
                f"got both the URI {uri_or_name!r} and {version_or_alias!r}; a URI already "
                "names the version, so pass only the URI",
                field="version_or_alias",
            )
        ref = parse_model_uri(uri_or_name)
    elif version_or_alias is None:
        # Never a silent "latest": loading whatever was registered last must be asked for.
        raise InvalidInput(
            f"model reference {uri_or_name!r} names no version; use {ACCEPTED_FORMS}, "
            "or pass a version number, an alias or 'latest' with the name",
            field="uri",
        )
    else:
        ref = parse_selector(uri_or_name, version_or_alias)
    if ref.alias is not None:
        check_alias(ref.alias)
    return ref


def _version_number(conn: Connection, ref: ModelRef) -> int:
    if not db.model_exists(conn, ref.name):
        raise model_not_found(conn, ref.name)
    if ref.version is not None:
        return ref.version
    if ref.alias is not None:
        number = db.select_alias(conn, ref.name, ref.alias)
        if number is None:
            raise alias_not_found(conn, ref.name, ref.alias)
        return number
    latest = db.max_version(conn, ref.name)
    if latest is None:
        raise no_versions(ref.name)
    return latest


def _verified_payload(store: Store, record: ModelVersion) -> bytes:
    name, version, digest = record.model_name, record.version, record.artifact_digest
    try:
        return store.artifacts.read_bytes(digest)
    except IntegrityError as exc:
        raise IntegrityError(
            f"refusing to load model {name!r} version {version}: its artifact no longer matches "
            f"the registry record (expected sha256 {digest}); {exc.message}",
            details=[{"model": name, "version": version, "expected_sha256": digest}],
        ) from exc
    except NotFound as exc:
        raise NotFound(
            f"model {name!r} version {version}: its artifact {digest} is missing from the "
            "artifact store (restore the blob or register the model again)"
        ) from exc
