"""Every SQL statement on the registry's tables: models, versions, aliases, deployments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from steward.registry.entities import Deployment, ModelVersion, RegisteredModel
from steward.store.tables import (
    deployments,
    model_aliases,
    model_versions,
    registered_models,
)

__all__ = [
    "delete_alias",
    "insert_deployment",
    "insert_model",
    "insert_version",
    "lock_model",
    "max_version",
    "model_exists",
    "select_alias",
    "select_aliases",
    "select_current_deployments",
    "select_deployments",
    "select_model",
    "select_model_names",
    "select_models",
    "select_version",
    "select_versions",
    "touch_model",
    "upsert_alias",
]

_MODEL = registered_models.c
_VERSION = model_versions.c
_ALIAS = model_aliases.c
_DEPLOY = deployments.c


def _insert(conn: Connection, table: sa.Table) -> Any:  # Any: the dialect's Insert construct
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# Models ---------------------------------------------------------------------------------


def insert_model(
    conn: Connection, name: str, *, description: str, tags: dict[str, str], now_ms: int
) -> bool:
    """Create the model unless it exists; False when it did (a concurrent creator waits)."""
    statement = _insert(conn, registered_models).values(
        name=name, description=description, tags=tags, created_at_ms=now_ms, updated_at_ms=now_ms
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    inserted = statement.on_conflict_do_nothing().returning(_MODEL.name)
    return conn.execute(inserted).first() is not None


def touch_model(conn: Connection, name: str, now_ms: int) -> bool:
    """Mark the model changed, locking its row until commit; False when there is no such model."""
    statement = registered_models.update().where(_MODEL.name == name)
    touched = statement.values(updated_at_ms=now_ms).returning(_MODEL.name)
    return conn.execute(touched).first() is not None


def lock_model(conn: Connection, name: str) -> bool:
    """Lock the model's row until commit without changing it; False when there is none."""
    query = sa.select(_MODEL.name).where(_MODEL.name == name).with_for_update()
    return conn.execute(query).first() is not None


def select_model(conn: Connection, name: str) -> RegisteredModel | None:
    row = conn.execute(sa.select(registered_models).where(_MODEL.name == name)).first()
    if row is None:
        return None
    return _model(row, select_aliases(conn, name), max_version(conn, name))


def select_models(conn: Connection) -> list[RegisteredModel]:
    newest = sa.select(_VERSION.model_name, sa.func.max(_VERSION.version))
    latest: dict[str, int] = dict(conn.execute(newest.group_by(_VERSION.model_name)).all())
    aliases: dict[str, dict[str, int]] = {}
    for model_name, alias, version in conn.execute(
        sa.select(_ALIAS.model_name, _ALIAS.alias, _ALIAS.version).order_by(_ALIAS.alias)
    ):
        aliases.setdefault(model_name, {})[alias] = version
    rows = conn.execute(sa.select(registered_models).order_by(_MODEL.name))
    return [_model(row, aliases.get(row.name, {}), latest.get(row.name)) for row in rows]


def model_exists(conn: Connection, name: str) -> bool:
    query = sa.select(_MODEL.name).where(_MODEL.name == name)
    return conn.execute(query).first() is not None


def select_model_names(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(_MODEL.name).order_by(_MODEL.name)).scalars())


# Versions -------------------------------------------------------------------------------


def max_version(conn: Connection, name: str) -> int | None:
    query = sa.select(sa.func.max(_VERSION.version)).where(_VERSION.model_name == name)
    result: int | None = conn.execute(query).scalar()
    return result


def insert_version(conn: Connection, version: ModelVersion) -> None:
    conn.execute(
        model_versions.insert().values(
            model_name=version.model_name,
            version=version.version,
            artifact_digest=version.artifact_digest,
            artifact_size_bytes=version.artifact_size_bytes,
            flavor=version.flavor,
            flavor_metadata=version.flavor_metadata,
            input_schema=version.input_schema,
            output_schema=version.output_schema,
            run_id=version.run_id,
            dataset_digests=list(version.dataset_digests),
            contract=version.contract,
            profile=version.profile,
            description=version.description,
            tags=version.tags,
            created_by=version.created_by,
            created_at_ms=_ms(version.created_at),
        )
    )


def select_version(conn: Connection, name: str, version: int) -> ModelVersion | None:
    query = sa.select(model_versions).where(
        _VERSION.model_name == name, _VERSION.version == version
    )
    row = conn.execute(query).first()
    return None if row is None else _version(row, _inverted(select_aliases(conn, name)))


def select_versions(conn: Connection, name: str) -> list[ModelVersion]:
    query = sa.select(model_versions).where(_VERSION.model_name == name)
    aliases = _inverted(select_aliases(conn, name))
    return [_version(row, aliases) for row in conn.execute(query.order_by(_VERSION.version))]


# Aliases --------------------------------------------------------------------------------


def select_aliases(conn: Connection, name: str) -> dict[str, int]:
    query = sa.select(_ALIAS.alias, _ALIAS.version).where(_ALIAS.model_name == name)
    return dict(conn.execute(query.order_by(_ALIAS.alias)).all())


def select_alias(conn: Connection, name: str, alias: str) -> int | None:
    query = sa.select(_ALIAS.version).where(_ALIAS.model_name == name, _ALIAS.alias == alias)
    result: int | None = conn.execute(query).scalar()
    return result


def upsert_alias(conn: Connection, name: str, alias: str, version: int, now_ms: int) -> None:
    """Point the alias at the version in one statement, whether or not it existed."""
    statement = _insert(conn, model_aliases).values(
        model_name=name, alias=alias, version=version, updated_at_ms=now_ms
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[_ALIAS.model_name, _ALIAS.alias],
            set_={"version": version, "updated_at_ms": now_ms},
        )
    )


def delete_alias(conn: Connection, name: str, alias: str) -> None:
    conn.execute(model_aliases.delete().where(_ALIAS.model_name == name, _ALIAS.alias == alias))


# Deployments ----------------------------------------------------------------------------


def insert_deployment(conn: Connection, deployment: Deployment) -> None:
    conn.execute(
        deployments.insert().values(
            model_name=deployment.model_name,
            version=deployment.version,
            environment=deployment.environment,
            deployed_by=deployment.deployed_by,
            deployed_at_ms=_ms(deployment.deployed_at),
            note=deployment.note,
        )
    )


def select_deployments(
    conn: Connection, *, name: str | None, environment: str | None
) -> list[Deployment]:
    """Newest first."""
    query = sa.select(deployments).order_by(_DEPLOY.deployed_at_ms.desc(), _DEPLOY.id.desc())
    if name is not None:
        query = query.where(_DEPLOY.model_name == name)
    if environment is not None:
        query = query.where(_DEPLOY.environment == environment)
    return [_deployment(row) for row in conn.execute(query)]


def select_current_deployments(conn: Connection, name: str) -> dict[str, Deployment]:
    """The newest deployment record per environment (the highest id: insertion order)."""
    newest = (
        sa.select(sa.func.max(_DEPLOY.id))
        .where(_DEPLOY.model_name == name)
        .group_by(_DEPLOY.environment)
    )
    query = sa.select(deployments).where(_DEPLOY.id.in_(newest.scalar_subquery()))
    return {row.environment: _deployment(row) for row in conn.execute(query)}


# Rows to entities -----------------------------------------------------------------------


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _inverted(aliases: dict[str, int]) -> dict[int, tuple[str, ...]]:
    by_version: dict[int, list[str]] = {}
    for alias, version in sorted(aliases.items()):
        by_version.setdefault(version, []).append(alias)
    return {version: tuple(names) for version, names in by_version.items()}


def _model(row: sa.Row[Any], aliases: dict[str, int], latest: int | None) -> RegisteredModel:
    return RegisteredModel(
        name=row.name,
        description=row.description,
        tags=dict(row.tags),
        created_at=_at(row.created_at_ms),
        updated_at=_at(row.updated_at_ms),
        aliases=aliases,
        latest_version=latest,
    )


def _version(row: sa.Row[Any], aliases: dict[int, tuple[str, ...]]) -> ModelVersion:
    return ModelVersion(
        model_name=row.model_name,
        version=row.version,
        artifact_digest=row.artifact_digest,
        artifact_size_bytes=row.artifact_size_bytes,
        flavor=row.flavor,
        flavor_metadata=row.flavor_metadata,
        input_schema=row.input_schema,
        output_schema=row.output_schema,
        run_id=row.run_id,
        dataset_digests=tuple(row.dataset_digests),
        contract=row.contract,
        profile=row.profile,
        description=row.description,
        tags=dict(row.tags),
        created_by=row.created_by,
        created_at=_at(row.created_at_ms),
        aliases=aliases.get(row.version, ()),
    )


def _deployment(row: sa.Row[Any]) -> Deployment:
    return Deployment(
        model_name=row.model_name,
        version=row.version,
        environment=row.environment,
        deployed_by=row.deployed_by,
        deployed_at=_at(row.deployed_at_ms),
        note=row.note,
    )
