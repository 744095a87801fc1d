"""Fleet benchmark: 100 per-tenant models trained and registered, on each executor.

    .venv/bin/python bench/fleet.py                 # 100 tenants x 500 rows, all executors
    .venv/bin/python bench/fleet.py --tenants 20 --json fleet.json

Each tenant's pipeline is: load (generated rows of every shop, cached after the first
tenant computes it), select the tenant's 500 rows, fit a LogisticRegression on 8 features,
register `shops-<tenant>` with its run, dataset lineage and input schema. Each executor gets
a fresh SQLite store in a temporary folder. Timed: the `run_fleet` call only (the Dask
cluster's start is reported apart). Per-model overhead is workers x wall / models minus
the mean time spent inside the steps themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from steward.config import Settings
from steward.pipelines import (
    DaskExecutor,
    Executor,
    FleetResult,
    InlineExecutor,
    LocalExecutor,
    Pipeline,
    TrainedModel,
    run_fleet,
    step,
)

FEATURES = [f"x{i}" for i in range(8)]


@step
def load(tenants: int, rows_per_tenant: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = tenants * rows_per_tenant
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    frame["shop"] = np.repeat(np.arange(tenants), rows_per_tenant).astype(str)
    signal = frame["x0"] - 0.5 * frame["x1"] + rng.normal(0, 0.7, rows)
    frame["y"] = (signal > 0).astype(int)
    return frame


@step
def select(load: pd.DataFrame, shop: str) -> pd.DataFrame:
    return load[load["shop"] == shop].reset_index(drop=True)


@step
def fit(select: pd.DataFrame) -> TrainedModel:
    model = LogisticRegression(max_iter=200).fit(select[FEATURES], select["y"])
    accuracy = float(model.score(select[FEATURES], select["y"]))
    return TrainedModel(
        model, sample_input=select[FEATURES].head(3), metrics={"accuracy": accuracy}
    )


shops = Pipeline("shops", [load, select, fit])


def run_mode(
    name: str, executor: Executor, tenants: int, rows: int, workers: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(home=Path(folder) / ".steward", actor="bench")
        started = time.perf_counter()
        results = run_fleet(
            shops,
            tenants=[str(t) for t in range(tenants)],
            tenant_key="shop",
            params={"tenants": tenants, "rows_per_tenant": rows},
            settings=settings,
            executor=executor,
        )
        wall_s = time.perf_counter() - started
    return summarise(name, results, wall_s, workers)


def summarise(name: str, results: list[FleetResult], wall_s: float, workers: int) -> dict[str, Any]:
    failed = [r.error for r in results if not r.is_ok]
    if failed:
        raise SystemExit(f"{name}: {len(failed)} tenants failed, first: {failed[0]}")
    per_tenant = [r.duration_s for r in results]
    in_steps = [sum(s.duration_s for s in r.run.steps) for r in results if r.run]
    models = len(results)
    return {
        "executor": name,
        "workers": workers,
        "models": models,
        "wall_s": round(wall_s, 2),
        "models_per_s": round(models / wall_s, 1),
        "per_model_ms": round(1000 * workers * wall_s / models, 1),
        "tenant_median_ms": round(1000 * statistics.median(per_tenant), 1),
        "in_steps_mean_ms": round(1000 * statistics.mean(in_steps), 1),
        "overhead_ms": round(1000 * (workers * wall_s / models - statistics.mean(in_steps)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--rows", type=int, default=500, help="rows per tenant")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    rows.append(run_mode("inline", InlineExecutor(), args.tenants, args.rows, 1))
    with LocalExecutor(max_workers=args.workers) as pool:
        rows.append(run_mode("local pool", pool, args.tenants, args.rows, args.workers))
    rows.append(run_dask(args))
    print(f"{platform.python_version()} on {os.cpu_count()} CPUs")
    for row in rows:
        print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def run_dask(args: argparse.Namespace) -> dict[str, Any]:
    from distributed import LocalCluster

    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        DaskExecutor(cluster.scheduler_address) as executor,
    ):
        startup_s = time.perf_counter() - started
        row = run_mode("dask LocalCluster", executor, args.tenants, args.rows, args.workers)
    return {**row, "cluster_start_s": round(startup_s, 2)}


if __name__ == "__main__":
    main()
