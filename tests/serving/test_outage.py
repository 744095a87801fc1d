"""The metadata store taken away: serving continues; at start-up the local cache serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from steward import registry
from steward.errors import IntegrityError, Unavailable
from steward.serving.app import create_serving_app
from steward.serving.cache import ServingCache
from steward.serving.sources import EndpointSource
from steward.store import Database, LocalArtifactStore, Store
from tests.serving.conftest import register, row
from tests.serving.live import live_app, wait_until
from tests.serving.test_hot_swap import continuous_traffic


def create_churn_prod(
    store: Store, classifier: Any, tree: Any, frame: pd.DataFrame, contract: Any
) -> None:
    register(store, classifier, frame, contract)
    register(store, tree, frame, contract)
    registry.set_alias(store, "churn", "champion", 1, actor="tester")
    registry.create_endpoint(
        store,
        "churn-prod",
        environment="production",
        model_name="churn",
        alias="champion",
        actor="tester",
    )


def set_connections(admin: sa.Engine, database: str, *, allowed: bool) -> None:
    with admin.connect() as conn:
        conn.execute(
            sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        )
        if not allowed:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                ),
                {"d": database},
            )


@pytest.mark.postgres
def test_serving_continues_while_postgres_is_away_and_catches_up_after(
    postgres_url: str,
    postgres_admin: sa.Engine,
    home: Path,
    classifier: Any,
    tree: Any,
    frame: pd.DataFrame,
    contract: Any,
) -> None:
    store = Store(db=Database(postgres_url), artifacts=LocalArtifactStore(home / "artifacts"))
    create_churn_prod(store, classifier, tree, frame, contract)
    database = sa.make_url(postgres_url).database
    assert database is not None
    app = create_serving_app(
        EndpointSource(lambda: store, "churn-prod"),
        cache=ServingCache(home / "serving-cache"),
        poll_interval_s=0.1,
    )
    try:
        with live_app(app) as url, continuous_traffic(url, {"instances": [row(frame)]}) as seen:
            wait_until(lambda: app.runtime.is_ready and len(seen.versions) > 10, what="traffic")
            set_connections(postgres_admin, database, allowed=False)
            wait_until(
                lambda: httpx.get(f"{url}/readyz").json()["store_reachable"] is False,
                what="the follower to notice the outage",
            )
            during = len(seen.versions)
            wait_until(lambda: len(seen.versions) > during + 50, what="answers during the outage")
            readiness = httpx.get(f"{url}/readyz")
            set_connections(postgres_admin, database, allowed=True)
            registry.set_alias(store, "churn", "champion", 2, actor="tester")
            wait_until(lambda: seen.latest() == 2, what="the change made after the outage")
        assert seen.failures == []
        assert readiness.status_code == 200  # still ready: it serves what it has
        assert readiness.json()["last_poll_error"].startswith("OperationalError")
    finally:
        set_connections(postgres_admin, database, allowed=True)
        store.close()


def unreachable_store() -> Store:
    """A PostgreSQL URL with nothing listening: opening the store fails at once."""
    return Store(
        db=Database("postgresql+psycopg://steward@127.0.0.1:9/steward"),
        artifacts=LocalArtifactStore(Path("/nonexistent")),
    )


def test_start_up_with_the_store_down_serves_the_cached_configuration(
    churn: Store, home: Path, frame: pd.DataFrame
) -> None:
    registry.create_endpoint(
        churn,
        "churn-prod",
        environment="production",
        model_name="churn",
        traffic={"@champion": 50, "@challenger": 50},
        actor="tester",
    )
    cache = ServingCache(home / "serving-cache")
    first = create_serving_app(EndpointSource(lambda: churn, "churn-prod"), cache=cache)
    assert first.follower is not None
    first.follower.load_initial()  # the last configuration seen with the store up
    first.shutdown()

    second = create_serving_app(EndpointSource(unreachable_store, "churn-prod"), cache=cache)
    assert second.follower is not None
    second.follower.load_initial()
    with live_app(second) as url:
        versions = {
            httpx.post(f"{url}/predict", json={"instances": [row(frame)]}).json()["model_version"]
            for _ in range(40)
        }
        readiness = httpx.get(f"{url}/readyz").json()
    assert versions == {1, 2}
    assert readiness["origin"] == "cache"
    assert readiness["store_reachable"] is False


def test_start_up_refuses_an_empty_cache_and_a_tampered_one(churn: Store, home: Path) -> None:
    cache = ServingCache(home / "serving-cache")
    offline = create_serving_app(EndpointSource(unreachable_store, "churn-prod"), cache=cache)
    assert offline.follower is not None
    with pytest.raises(Unavailable, match="no configuration for 'endpoint:churn-prod' is cached"):
        offline.follower.load_initial()

    registry.create_endpoint(
        churn,
        "churn-prod",
        environment="production",
        model_name="churn",
        alias="champion",
        actor="tester",
    )
    online = create_serving_app(EndpointSource(lambda: churn, "churn-prod"), cache=cache)
    assert online.follower is not None
    online.follower.load_initial()
    blob = cache.blobs.path_of(registry.get_version(churn, "churn", 1).artifact_digest)
    blob.write_bytes(blob.read_bytes() + b"tampered")
    with pytest.raises(IntegrityError, match="is corrupt"):
        offline.follower.load_initial()
