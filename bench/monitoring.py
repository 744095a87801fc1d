"""Monitoring benchmark: one window of predictions read back, then every metric of it.

    .venv/bin/python bench/monitoring.py                     # 1,000,000 rows, best of 3
    .venv/bin/python bench/monitoring.py --path prejoined    # the window from one file
    .venv/bin/python bench/monitoring.py --rows 100000 --repeats 5 --contract --json out.json

Data (written once per size under bench/.work/monitoring/): a Parquet window (zstd) of `--rows`
predictions with 25 inputs (20 numeric of five shapes, two of them integers and two with
1% missing; 5 string categoricals of 3-12 categories), a binary prediction and its
score, a label on half of the rows, one outcome, and two segment keys (region: 5 values,
device: 3). The baseline is the profile of 200,000 training rows; the prediction baseline
the profile of an earlier window's prediction and score; the contract is inferred from the
training rows. With `--path log` (the default) the same rows are also written as the
prediction log writes them, over one UTC day with three more days around it, and their
labels ingested in batches (see `monitoring_log`).

Each measurement runs in a fresh process. `read` is, with `--path log`, what a monitor run
does: `LabelStore.window` of the day (its partitions, the latest label of each prediction,
score and segment keys from the JSON texts); with `--path prejoined`, a DuckDB `SELECT` of
the columns the monitor needs from the one prejoined file. `evaluate` is `evaluate_window`
with the default spec plus the two segment keys and a conversion KPI. Memory is the
process's RSS before reading, and its high-water mark during each stage (reset before
each, Linux).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

WORK = Path(__file__).resolve().parent / ".work" / "monitoring"
TRAINING_ROWS = 200_000
PREDICTION_BASELINE_ROWS = 100_000
REGIONS = ["EU", "US", "APAC", "LATAM", "MEA"]
DEVICES = ["mobile", "desktop", "tablet"]
SEGMENTS = ("region", "device")
DAY_MS = 86_400_000
LOG_DAY = 20_400  # 2025-11-08: the window's UTC day, days since the epoch


def _inputs(rng: np.random.Generator, rows: int) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for i in range(20):
        shape = i % 5
        values: Any
        if shape == 0:
            values = rng.normal(50, 10, rows)
        elif shape == 1:
            values = rng.lognormal(3, 1, rows)
        elif shape == 2:
            values = rng.exponential(2, rows)
        elif shape == 3:
            values = rng.uniform(-1, 1, rows)
        else:
            values = rng.poisson(4, rows)  # integers
        if i in (1, 2):
            values[rng.random(rows) < 0.01] = np.nan
        columns[f"x{i:02d}"] = values
    for j, size in enumerate([3, 4, 6, 8, 12]):
        weights = np.arange(size, 0, -1, dtype=np.float64)
        names = np.array([f"c{j}_{k}" for k in range(size)])
        columns[f"c{j}"] = names[rng.choice(size, rows, p=weights / weights.sum())]
    return columns


def _window(rng: np.random.Generator, rows: int) -> pa.Table:
    inputs = _inputs(rng, rows)
    logit = (inputs["x00"] - 50) / 10 + (inputs["c0"] == "c0_0") - 0.5
    score = 1 / (1 + np.exp(-logit))
    truth = (rng.random(rows) < score).astype(np.float64)
    labelled = rng.random(rows) < 0.5
    converted = np.where(rng.random(rows) < 0.8, (rng.random(rows) < 0.1).astype(float), np.nan)
    start = 1_760_000_000_000
    return pa.table(
        {
            "prediction_id": pa.array([f"p{i:08d}" for i in range(rows)]),
            "at_ms": np.arange(start, start + rows, dtype=np.int64),
            "model_version": np.full(rows, 3, dtype=np.int64),
            "route": pa.array(np.full(rows, "primary")),
            **{f"in_{name}": pa.array(values, from_pandas=True) for name, values in inputs.items()},
            "prediction": (score > 0.5).astype(np.int64),
            "score": score,
            "label": pa.array(np.where(labelled, truth, np.nan), from_pandas=True),
            "labelled_at_ms": pa.array(np.where(labelled, start + rows, 0), mask=~labelled),
            "outcome_converted": pa.array(converted, from_pandas=True),
            "seg_region": pa.array(
                np.array(REGIONS)[rng.choice(5, rows, p=[0.35, 0.3, 0.2, 0.1, 0.05])]
            ),
            "seg_device": pa.array(np.array(DEVICES)[rng.choice(3, rows, p=[0.6, 0.3, 0.1])]),
        }
    )


def generate(rows: int) -> Path:
    """Write the window, baselines and contract for `rows` once; returns their folder."""
    from steward.contracts import infer_contract
    from steward.stats import profile

    folder = WORK / f"rows={rows}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    # zstd, as the prediction log compacts its partitions
    pq.write_table(_window(rng, rows), folder / "window.parquet", compression="zstd")
    training = pa.table(_inputs(np.random.default_rng(1), TRAINING_ROWS))
    (folder / "baseline.json").write_text(profile(training).to_json())
    earlier = _window(np.random.default_rng(2), PREDICTION_BASELINE_ROWS)
    predictions = profile(earlier.select(["prediction", "score"]), multivariate=False)
    (folder / "prediction_baseline.json").write_text(predictions.to_json())
    (folder / "contract.json").write_text(json.dumps(infer_contract(training).to_dict()))
    (folder / "done").write_text("")
    return folder


def generate_log(rows: int) -> Path:
    """Write the window as the prediction log of `LOG_DAY` and the days around it, with its
    labels, once; returns the log's folder."""
    from monitoring_log import write_log

    folder = generate(rows)
    log = folder / "log"
    if (log / "done").exists():
        return log
    shutil.rmtree(log, ignore_errors=True)
    write_log(pq.read_table(folder / "window.parquet"), log, LOG_DAY)
    (log / "done").write_text("")
    return log


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _prejoined_reader(folder: Path, columns: list[str]) -> Callable[[], pa.Table]:
    """A DuckDB `SELECT` of `columns` from the prejoined window file."""
    import duckdb

    def read() -> pa.Table:
        with duckdb.connect() as conn:
            return conn.sql(
                f"SELECT {', '.join(columns)} FROM read_parquet($path)",
                params={"path": str(folder / "window.parquet")},
            ).to_arrow_table()

    return read


def _log_reader(folder: Path) -> Callable[[], pa.Table]:
    """The window read as a monitor run reads it (`steward.monitoring.runs`)."""
    from monitoring_log import ENDPOINT
    from steward.predictions import LabelStore

    store = LabelStore(folder / "log")
    start = LOG_DAY * DAY_MS
    return lambda: store.window(ENDPOINT, start, start + DAY_MS, segments=SEGMENTS)


def measure(folder: Path, path: str, use_contract: bool, profile_top: int) -> dict[str, Any]:
    """One read + evaluate in this process; stage times and memory."""
    from steward.contracts import Contract
    from steward.monitoring.engine import evaluate_window
    from steward.monitoring.spec import Kpi, MonitorSpec
    from steward.stats import Profile

    started = time.perf_counter()
    baseline = Profile.from_json((folder / "baseline.json").read_text())
    reference = Profile.from_json((folder / "prediction_baseline.json").read_text())
    contract = (
        Contract.from_dict(json.loads((folder / "contract.json").read_text()))
        if use_contract
        else None
    )
    spec = MonitorSpec(
        task="classification",
        segments=SEGMENTS,
        kpis=(Kpi(name="conversion", field="converted"),),
    )
    load_s = time.perf_counter() - started
    wanted = [f'"in_{name}"' for name in baseline.columns]
    wanted += ["prediction", "score", "label", "outcome_converted", "seg_region", "seg_device"]
    read = _log_reader(folder) if path == "log" else _prejoined_reader(folder, wanted)
    idle = _rss("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    started = time.perf_counter()
    table = read()
    read_s = time.perf_counter() - started
    table_bytes = table.nbytes
    read_peak, after_read = _rss("VmHWM"), _rss("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    started = time.perf_counter()
    if profile_top:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(
            evaluate_window, table, spec, baseline, prediction_baseline=reference, contract=contract
        )
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(profile_top)
    else:
        result = evaluate_window(
            table, spec, baseline, prediction_baseline=reference, contract=contract
        )
    evaluate_s = time.perf_counter() - started
    return {
        "rows": table.num_rows,
        "load_baselines_s": load_s,
        "read_s": read_s,
        "evaluate_s": evaluate_s,
        "total_s": read_s + evaluate_s,
        "metrics": len(result.metrics),
        "groups": 1 + len(result.segments),
        "table_bytes": table_bytes,
        "idle_rss_bytes": idle,
        "read_peak_rss_bytes": read_peak,
        "after_read_rss_bytes": after_read,
        "evaluate_peak_rss_bytes": _rss("VmHWM"),
        "peak_rss_bytes": max(read_peak, _rss("VmHWM")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--path",
        choices=["log", "prejoined"],
        default="log",
        help="read the window from the prediction log and its labels, or from one Parquet file",
    )
    parser.add_argument("--contract", action="store_true", help="also check the contract")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--json", type=Path, help="write the runs here")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        run = measure(args.measure, args.path, args.contract, args.profile)
        sys.stdout.write(json.dumps(run) + "\n")
        return
    started = time.perf_counter()
    folder = generate(args.rows)
    if args.path == "log":
        generate_log(args.rows)
    print(f"data ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    runs = []
    for _ in range(args.repeats):
        command = [
            sys.executable,
            __file__,
            "--measure",
            str(folder),
            "--path",
            args.path,
            "--profile",
            str(args.profile),
        ]
        if args.contract:
            command.append("--contract")
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        if args.profile:
            sys.stderr.write(done.stderr)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    _print(runs, args.path, args.contract)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


def _print(runs: list[dict[str, Any]], path: str, contract: bool) -> None:
    best = min(runs, key=lambda run: run["total_s"])
    mb = 1024 * 1024
    print(
        f"rows {best['rows']:,}  groups {best['groups']}  metrics {best['metrics']}  "
        f"contract {'yes' if contract else 'no'}  path {path}"
    )
    for stage in ("read_s", "evaluate_s", "total_s"):
        values = ", ".join(f"{run[stage]:.3f}" for run in runs)
        median = statistics.median(run[stage] for run in runs)
        print(f"{stage:<11} best {best[stage]:.3f} s  median {median:.3f} s  ({values})")
    peak = {key: max(run[key] for run in runs) / mb for key in runs[0] if key.endswith("rss_bytes")}
    print(
        f"table {best['table_bytes'] / mb:.0f} MB"
        f"  RSS before reading {peak['idle_rss_bytes']:.0f} MB"
        f"  peak while reading {peak['read_peak_rss_bytes']:.0f} MB"
        f"  after reading {peak['after_read_rss_bytes']:.0f} MB"
        f"  peak while evaluating {peak['evaluate_peak_rss_bytes']:.0f} MB"
    )


if __name__ == "__main__":
    main()
