"""Alembic environment: runs migrations on the connection Steward hands over."""

from __future__ import annotations

from alembic import context

from steward.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - Steward always passes a connection
    raise RuntimeError("run migrations through steward.store.migrations.upgrade_to_head")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
