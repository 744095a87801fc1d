"""Fixtures shared by every test: settings in a temporary home and the store on each backend.

The store fixture runs each test against SQLite and against the real PostgreSQL named by
STEWARD_TEST_POSTGRES_URL (default: the local server with trust auth). Each PostgreSQL test
gets a fresh database cloned from a migrated template, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from steward.config import Settings
from steward.store import Database, LocalArtifactStore, Store

POSTGRES_ADMIN_URL = os.environ.get(
    "STEWARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_TEMPLATE = f"steward_tpl_{os.getpid()}"


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    problem = _postgres_reachable()
    if problem is not None:
        # In CI a missing PostgreSQL is a failure, never a silent skip.
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {problem}")
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{_TEMPLATE}"'))
    Database(_url_for(_TEMPLATE)).dispose()
    yield engine
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
    engine.dispose()


def _url_for(database: str) -> str:
    return sa.make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(False)


@pytest.fixture
def postgres_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"steward_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}"'))
    yield _url_for(name)
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / ".steward"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home, actor="tester", scheduler_enabled=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, home: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{home / 'steward.db'}"


@pytest.fixture
def store(database_url: str, home: Path) -> Iterator[Store]:
    """A migrated store on the parametrised backend, with artifacts under the test's home."""
    database = Database(database_url)
    yield Store(db=database, artifacts=LocalArtifactStore(home / "artifacts"))
    database.dispose()


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    """The real control-plane app in-process, over the parametrised store."""
    from steward.server.app import create_app

    with TestClient(create_app(settings, store=store)) as test_client:
        yield test_client
