"""Fleets on the local process pool and on a real Dask LocalCluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from distributed import LocalCluster

from steward import registry, tracking
from steward.config import Settings
from steward.pipelines import DaskExecutor, LocalExecutor, run_fleet
from steward.store import open_store
from tests.pipelines import example


def test_a_fleet_of_three_tenants_on_the_local_pool(
    settings: Settings, pool: LocalExecutor
) -> None:
    results = run_fleet(
        example.shops,
        tenants=["0", "1", "99"],
        tenant_key="store_id",
        params={"rows": 600},
        settings=settings,
        executor=pool,
    )
    ok = {r.tenant: r for r in results if r.is_ok}
    assert set(ok) == {"0", "1"}, [(r.tenant, r.error) for r in results]
    failed = results[2]
    assert failed.tenant == "99"
    assert failed.version is None
    assert failed.error is not None
    assert "step 'shop_rows'" in failed.error
    assert "no rows for store '99'" in failed.error
    store = open_store(settings)
    try:
        for tenant, result in ok.items():
            version = result.version
            assert version is not None
            assert (version.model_name, version.version) == (f"shops-{tenant}", 1)
            run = tracking.get_run(store, version.run_id or "")
            assert run.tags["steward.tenant"] == tenant
            assert run.params["store_id"] == tenant
            assert registry.get_version(store, f"shops-{tenant}", 1).run_id == run.id
        assert [m.name for m in registry.list_models(store)] == ["shops-0", "shops-1"]
        # The tenants' different filtered rows are different datasets.
        digests = {r.version.dataset_digests[-1] for r in ok.values() if r.version}
        assert len(digests) == 2
    finally:
        store.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local_cluster:
        yield local_cluster


def test_a_fleet_on_a_dask_local_cluster(settings: Settings, cluster: LocalCluster) -> None:
    with DaskExecutor(cluster.scheduler_address) as executor:
        results = run_fleet(
            example.shops,
            tenants=["0", "1", "2"],
            tenant_key="store_id",
            params={"rows": 600},
            settings=settings,
            executor=executor,
        )
    assert [r.error for r in results] == [None, None, None]
    versions = [r.version for r in results]
    assert [(v.model_name, v.version) for v in versions if v] == [
        ("shops-0", 1),
        ("shops-1", 1),
        ("shops-2", 1),
    ]
    store = open_store(settings)
    try:
        model = registry.load_version(store, "shops-2", 1)
        assert hasattr(model, "predict")
    finally:
        store.close()
