"""MLflow's side of the tracking benchmark; runs inside bench/.venvs/mlflow (bench/peers/setup.sh).

    bench/.venvs/mlflow/bin/python bench/peers/mlflow_tracking.py \
        --mode local --tracking-uri sqlite:////tmp/x/mlflow.db --out result.json

Workloads (bench/tracking.py runs the same ones with Steward and passes the sizes):
  single  N x mlflow.log_metric inside a run; timed: the loop plus ending the run
  batch   M metrics through MlflowClient.log_batch in chunks of 1,000 (MLflow's limit);
          timed: the calls plus ending the run
  create  R runs, each 10 params + 10 metrics through the fluent API
  search  MlflowClient.search_runs over those R runs (mlflow.search_runs, which builds a
          pandas DataFrame, is reported too as search_pandas)
Store set-up (database creation, migrations, the experiment) happens before any timer starts.
This file must not import Steward: it runs in MLflow's own environment.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network during the benchmark
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")  # MLflow's default, stated

import mlflow  # after the environment above, which it reads at import
from mlflow import MlflowClient
from mlflow.entities import Metric

PARAMS_PER_RUN = 10
METRICS_PER_RUN = 10


def value(i: int) -> float:
    """The metric value used by both tools: deterministic, not constant."""
    return math.sin(i) * 0.5 + 0.5


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_single(client: MlflowClient, count: int) -> dict[str, Any]:
    mlflow.set_experiment("bench-single")
    run = mlflow.start_run(run_name="single")

    def work() -> None:
        for i in range(count):
            mlflow.log_metric("loss", value(i), step=i)
        mlflow.end_run()

    seconds, _ = timed(work)
    stored = len(client.get_metric_history(run.info.run_id, "loss"))
    return {"count": count, "stored": stored, "seconds": seconds, "per_s": count / seconds}


def bench_batch(client: MlflowClient, count: int, chunk: int) -> dict[str, Any]:
    experiment = mlflow.set_experiment("bench-batch")
    run_id = client.create_run(experiment.experiment_id, run_name="batch").info.run_id
    now_ms = int(time.time() * 1000)
    # 10 keys x count/10 steps, the shape of a training loop's history.
    metrics = [Metric(f"m{i % 10}", value(i), now_ms, i // 10) for i in range(count)]

    def work() -> None:
        for start in range(0, count, chunk):
            client.log_batch(run_id, metrics=metrics[start : start + chunk])
        client.set_terminated(run_id)  # ending the run is timed for both tools

    seconds, _ = timed(work)
    stored = sum(len(client.get_metric_history(run_id, f"m{k}")) for k in range(10))
    return {
        "count": count,
        "chunk": chunk,
        "stored": stored,
        "seconds": seconds,
        "per_s": count / seconds,
    }


def bench_create_and_search(client: MlflowClient, runs: int) -> dict[str, Any]:
    experiment = mlflow.set_experiment("bench-search")

    def create() -> None:
        for r in range(runs):
            with mlflow.start_run(run_name=f"run-{r}"):
                mlflow.log_params({f"p{k}": r * 100 + k for k in range(PARAMS_PER_RUN)})
                mlflow.log_metrics({f"m{k}": value(r * 100 + k) for k in range(METRICS_PER_RUN)})

    create_s, _ = timed(create)
    ids = [experiment.experiment_id]
    search_s, found = timed(lambda: client.search_runs(ids, max_results=1000))
    pandas_s, frame = timed(lambda: mlflow.search_runs(experiment_ids=ids, max_results=1000))
    filtered_s, top = timed(
        lambda: client.search_runs(
            ids, filter_string="metrics.m0 > 0.5", order_by=["metrics.m1 DESC"], max_results=10
        )
    )
    return {
        "create": {"count": runs, "seconds": create_s, "runs_per_s": runs / create_s},
        "search": {"count": len(found), "seconds": search_s},
        "search_pandas": {"count": len(frame), "seconds": pandas_s},
        "search_filtered": {"count": len(top), "seconds": filtered_s},
        "seconds": create_s + search_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["local", "http"], required=True)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)

    mlflow.set_tracking_uri(args.tracking_uri)
    client = MlflowClient(args.tracking_uri)
    # Warm-up outside every timer: creates/migrates the database or checks the server.
    mlflow.set_experiment("bench-warmup")

    result = {
        "tool": "mlflow",
        "version": mlflow.__version__,
        "python": sys.version.split()[0],
        "mode": args.mode,
        "tracking_uri": args.tracking_uri,
        "single": bench_single(client, args.single),
        "batch": bench_batch(client, args.batch, args.chunk),
        "create_search": bench_create_and_search(client, args.runs),
    }
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
