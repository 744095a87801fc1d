"""Drift benchmark: Steward vs Evidently's DataDriftPreset vs NannyML's UnivariateDriftCalculator.

Same synthetic data for all (20 numeric + 5 categorical columns; a 0.5-std mean shift in
3 numeric columns and a 20-point frequency change in 1 categorical), written once to
Parquet; every tool runs in its own process (peers in their venvs under bench/.venvs/,
made by `bench/peers.sh drift`), timed from frames in memory, peak RSS per process.

    .venv/bin/python bench/drift.py                 # 100,000 and 1,000,000 rows
    .venv/bin/python bench/drift.py --rows 100000 --skip-peers
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "drift"
VENVS = HERE / ".venvs"
NUMERIC = [f"x{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
SHIFTED_NUMERIC = ["x00", "x05", "x10"]
SHIFTED_CATEGORICAL = ["c0"]
SHIFT_STD = 0.5
CATEGORY_POINTS = 0.20


def _numeric(rng: np.random.Generator, index: int, rows: int) -> tuple[np.ndarray, float]:
    """A column and its population std: normal, lognormal, exponential or uniform."""
    kind = index % 4
    if kind == 0:
        scale = 1.0 + index
        return rng.normal(10.0 * index, scale, rows), scale
    if kind == 1:
        return rng.lognormal(0.0, 0.5, rows), float(np.sqrt((np.e**0.25 - 1) * np.e**0.25))
    if kind == 2:
        return rng.exponential(2.0, rows), 2.0
    return rng.uniform(-5.0, 5.0, rows), 10.0 / np.sqrt(12.0)


def _categorical(rng: np.random.Generator, index: int, rows: int, shifted: bool) -> pa.Array:
    names = np.array([f"cat{index}_{k}" for k in range(4 + index)])
    weights = np.linspace(2.0, 1.0, names.size)
    shares = weights / weights.sum()
    if shifted:  # move CATEGORY_POINTS of share from the first category to the second
        shares = shares.copy()
        shares[0] -= CATEGORY_POINTS
        shares[1] += CATEGORY_POINTS
    return pa.array(names[rng.choice(names.size, size=rows, p=shares)])


def make_frame(rows: int, *, seed: int, shifted: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for index, name in enumerate(NUMERIC):
        values, std = _numeric(rng, index, rows)
        columns[name] = values + (SHIFT_STD * std if shifted and name in SHIFTED_NUMERIC else 0.0)
    for index, name in enumerate(CATEGORICAL):
        columns[name] = _categorical(rng, index, rows, shifted and name in SHIFTED_CATEGORICAL)
    return pa.table(columns)


def write_data(rows: int) -> tuple[Path, Path]:
    folder = WORK / str(rows)
    folder.mkdir(parents=True, exist_ok=True)
    reference, current = folder / "reference.parquet", folder / "current.parquet"
    if not (reference.exists() and current.exists()):
        pq.write_table(make_frame(rows, seed=1, shifted=False), reference)
        pq.write_table(make_frame(rows, seed=2, shifted=True), current)
    return reference, current


def run_worker(command: list[str]) -> dict[str, Any]:
    """Run one measurement in its own process; it reports its own peak RSS (ru_maxrss)."""
    # Arrow's mimalloc pool keeps ~60 MB of Parquet-reading buffers resident after the
    # frames are built; the system allocator returns them. Same setting for every tool.
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "PYTHONWARNINGS": "ignore",
        "ARROW_DEFAULT_MEMORY_POOL": "system",
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=HERE / "peers")
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"worker failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    record: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return record


def steward_once(reference: Path, current: Path) -> dict[str, Any]:
    script = HERE / "drift_steward.py"
    return run_worker([sys.executable, str(script), str(reference), str(current)])


def summarise_steward(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run by total time, with every run's total and the fastest one."""
    median = dict(sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2])
    median["total_s_runs"] = [round(r["total_s"], 3) for r in runs]
    median["total_s_min"] = min(r["total_s"] for r in runs)
    return median


def peer(name: str, reference: Path, current: Path) -> dict[str, Any]:
    python = VENVS / name / "bin" / "python"
    if not python.exists():
        subprocess.run([str(HERE / "peers.sh"), "drift"], check=True)
    script = HERE / "peers" / f"drift_{name}.py"
    return run_worker(
        [str(python), str(script), str(reference), str(current), ",".join(CATEGORICAL)]
    )


def verdict(rows: int, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours = results["steward"]
    shifted = set(SHIFTED_NUMERIC + SHIFTED_CATEGORICAL)
    summary: dict[str, Any] = {
        "rows": rows,
        "shifted": sorted(shifted),
        "steward_flags_exactly_shifted": set(ours["flagged"]) == shifted,
        "steward_compute_peak_over_frames": ours["compute_peak_rss_bytes"] / ours["frames_bytes"],
    }
    for name, record in results.items():
        if name == "steward":
            continue
        flagged = set(record["flagged"])
        summary[f"speedup_vs_{name}"] = record["total_s"] / ours["total_s"]
        summary[f"speedup_vs_{name}_fastest_run"] = record["total_s"] / ours["total_s_min"]
        summary[f"{name}_shifted_flagged"] = sorted(flagged & shifted)
        summary[f"{name}_unshifted_flagged"] = sorted(flagged - shifted)
        summary[f"steward_flags_what_{name}_flags_of_shifted"] = flagged & shifted <= set(
            ours["flagged"]
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--peers", nargs="+", default=["nannyml", "evidently"])
    parser.add_argument("--out", default=str(WORK / "results.json"))
    parser.add_argument("--repeats", type=int, default=5, help="Steward runs (median kept)")
    args = parser.parse_args()
    report = []
    for rows in args.rows:
        reference, current = write_data(rows)
        # Steward runs interleave with the peers, so a busy spell on the shared machine
        # hits both sides; the median of its runs is reported, with each run's time.
        runs = [steward_once(reference, current)]
        results: dict[str, dict[str, Any]] = {}
        for name in [] if args.skip_peers else args.peers:
            results[name] = peer(name, reference, current)
            runs.append(steward_once(reference, current))
        while len(runs) < args.repeats:
            runs.append(steward_once(reference, current))
        results = {"steward": summarise_steward(runs), **results}
        entry = {"results": results, "verdict": verdict(rows, results)}
        report.append(entry)
        print(json.dumps(entry, indent=2), flush=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print_table(report)


def print_table(report: list[dict[str, Any]]) -> None:
    print(
        "\n| rows | tool | profile/fit s | report/calculate s | total s | peak RSS MB "
        "| frames MB | flagged |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for entry in report:
        for name, r in entry["results"].items():
            print(
                f"| {entry['verdict']['rows']:,} | {name} | {r.get('fit_s', 0):.2f} | "
                f"{r['calculate_s']:.2f} | {r['total_s']:.2f} | "
                f"{r['compute_peak_rss_bytes'] / 2**20:.0f} / {r['peak_rss_bytes'] / 2**20:.0f} | "
                f"{r['frames_bytes'] / 2**20:.0f} | "
                f"{', '.join(r['flagged'])} |"
            )


if __name__ == "__main__":
    main()
