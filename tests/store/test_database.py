"""The metadata database on every backend: migrations, transactions, concurrent writers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa

from steward.errors import InvalidInput, Unavailable
from steward.store import Database, Store
from steward.store.migrations import HEAD, current_revision, head_revision
from steward.store.tables import audit_events, experiments


def test_migrations_apply_on_first_use(store: Store) -> None:
    with store.db.read() as conn:
        assert current_revision(conn) == head_revision()
        tables = set(sa.inspect(conn).get_table_names())
    assert {"experiments", "runs", "metrics", "model_versions", "audit_events"} <= tables


def test_the_head_known_without_alembic_is_alembics_head() -> None:
    # Opening a store compares with HEAD and loads Alembic only to migrate: a new migration
    # must move HEAD too.
    assert head_revision() == HEAD


def test_opening_twice_is_a_no_op(database_url: str) -> None:
    Database(database_url).dispose()
    again = Database(database_url)
    with again.read() as conn:
        assert current_revision(conn) == head_revision()
    again.dispose()


def test_failed_write_rolls_back(store: Store) -> None:
    row = {"id": "e" * 32, "name": "x", "tags": {}, "created_at_ms": 1, "lifecycle": "active"}

    def insert_then_fail() -> None:
        with store.db.write() as conn:
            conn.execute(experiments.insert().values(**row))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        insert_then_fail()
    with store.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(experiments)).scalar() == 0


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(InvalidInput, match="mysql"):
        Database("mysql://localhost/x")


def test_unreachable_postgres_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="cannot reach"):
        Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def _write_events(url: str, worker: int, count: int) -> None:
    database = Database(url)
    for i in range(count):
        with database.write() as conn:
            seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_events.c.seq), 0)))
            conn.execute(
                audit_events.insert().values(
                    seq=seq.scalar_one() + 1,
                    at_ms=i,
                    actor=f"w{worker}",
                    action="test",
                    target_type="t",
                    target_id=str(i),
                    prev_hash="",
                    hash="",
                )
            )
    database.dispose()


def test_two_processes_write_one_sqlite_file_without_losing_rows(tmp_path: Path) -> None:
    # Read-then-write in one transaction is the pattern that fails with "database is locked"
    # unless writers take the lock up front; it also loses rows if they overlap.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_events, args=(url, w, 150)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    database = Database(url)
    with database.read() as conn:
        seqs = conn.execute(sa.select(audit_events.c.seq)).scalars().all()
    assert sorted(seqs) == list(range(1, 301))
