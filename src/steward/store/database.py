"""The metadata database: one engine, read and write transactions, migrations on first use.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
`BEGIN IMMEDIATE`: a writer takes the lock up front and waits for it, instead of upgrading a
read lock mid-transaction, which SQLite refuses at once with "database is locked".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from steward.errors import InvalidInput, Unavailable
from steward.store.migrations import upgrade_to_head

__all__ = ["Database"]

log = logging.getLogger(__name__)

_WRITE = "steward_write"


class Database:
    """A SQLAlchemy engine over SQLite or PostgreSQL, migrated to the current schema.

    Args:
        url: SQLAlchemy URL (`sqlite:///path` or `postgresql+psycopg://...`).
        busy_timeout_s: how long a SQLite writer waits for another writer's lock.
        migrate: apply migrations now (default); tests of migrations pass False.

    Raises:
        InvalidInput: the URL names a database kind Steward does not support.
        Unavailable: the database cannot be reached.
    """

    def __init__(self, url: str, *, busy_timeout_s: float = 60.0, migrate: bool = True) -> None:
        self.url = sa.make_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise InvalidInput(
                f"database URL scheme '{self.url.drivername}' is not supported; "
                "use sqlite:///path or postgresql+psycopg://user@host/db",
                field="database_url",
            )
        self.engine = _make_engine(self.url, busy_timeout_s)
        if migrate:
            try:
                upgrade_to_head(self.engine)
            except OperationalError as exc:
                raise Unavailable(
                    f"cannot reach the metadata store at {self.url.render_as_string()}: {exc.orig}"
                ) from exc

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: a consistent snapshot, never blocking writers."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed on exit and rolled back on any error."""
        with self.engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        """Close pooled connections (call before forking, and at shutdown)."""
        self.engine.dispose()


def _make_engine(url: sa.URL, busy_timeout_s: float) -> Engine:
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
        poolclass=NullPool if url.database in (None, "", ":memory:") else None,
    )
    sa.event.listen(engine, "connect", _configure_sqlite)
    sa.event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event, not the driver, decide how a transaction starts.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite(conn: Connection) -> None:
    is_write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if is_write else "BEGIN")
