"""The migrations build exactly the schema `steward.store.tables` declares, on every backend."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from steward.store import Store
from steward.store.migrations import alembic_config, current_revision
from steward.store.tables import metadata


def _differences(conn: sa.Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_the_table_definitions(store: Store) -> None:
    with store.db.read() as conn:
        assert _differences(conn) == []


def test_monitoring_tables_exist_with_their_firing_index(store: Store) -> None:
    with store.db.read() as conn:
        inspector = sa.inspect(conn)
        tables = set(inspector.get_table_names())
        indexes = {ix["name"]: ix for ix in inspector.get_indexes("alerts")}
    expected = {"monitors", "monitor_versions", "monitor_windows", "monitor_results"}
    assert expected | {"alert_rules", "alerts", "alert_events"} <= tables
    assert indexes["uq_alerts_firing"]["unique"]


def test_monitoring_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "head")
        command.downgrade(alembic_config(conn), "0002")
        conn.commit()
        assert current_revision(conn) == "0002"
        assert not sa.inspect(conn).has_table("alert_rules")
        command.upgrade(alembic_config(conn), "head")
        conn.commit()
        assert sa.inspect(conn).has_table("alert_rules")
    engine.dispose()
