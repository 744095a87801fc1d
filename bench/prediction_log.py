"""Prediction-log benchmark: what logging costs the serving path, and how fast compaction is.

    .venv/bin/python bench/prediction_log.py                  # prints the table
    .venv/bin/python bench/prediction_log.py --records 50000 --json out.json

Records look like serving's: 20 numeric features, a class and two probabilities, a segment
key and an entity key. Workloads, each on a fresh folder under the system temp directory:

  default 1/call     `append([record])` per request, the default mode; caller's time per
                     record, then the same plus `close()` (encode, write, fsync included:
                     the background thread's work competes for the GIL with requests)
  default 16/call    the same with 16 records per call (batch scoring)
  durable 1 thread   durable mode, one caller: each append waits for its fsync
  durable 16 threads durable mode, 16 concurrent callers sharing fsyncs (group commit)
  compaction         `compact()` of everything the default 1/call run wrote: records/s
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from steward.predictions import PredictionLog, PredictionRecord, compact, new_prediction_id

FEATURES = 20
DURABLE_SECONDS = 3.0

Row = dict[str, Any]


def make_records(count: int) -> list[PredictionRecord]:
    rng = random.Random(7)
    start_ms = time.time_ns() // 1_000_000
    records = []
    for i in range(count):
        p = rng.random()
        records.append(
            PredictionRecord(
                prediction_id=new_prediction_id(start_ms + i),
                at_ms=start_ms + i,
                endpoint="churn-prod",
                model_name="churn",
                model_version=7,
                route="primary",
                inputs={f"f{j}": rng.random() for j in range(FEATURES)},
                outputs={"prediction": int(p > 0.5), "probabilities": [1 - p, p]},
                latency_ms=0.4,
                entity_key=f"customer-{i % 5000}",
                segment={"country": rng.choice(["FR", "DE", "US"])},
            )
        )
    return records


@contextmanager
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="steward-bench-predictions-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bench_default(records: list[PredictionRecord], per_call: int, keep: Path | None) -> Row:
    with folder() as path:
        directory = keep or path
        log = PredictionLog(directory, compact_on_start=False)
        started = time.perf_counter()
        for i in range(0, len(records), per_call):
            log.append(records[i : i + per_call])
        appended = time.perf_counter()
        log.close()
        closed = time.perf_counter()
    n = len(records)
    return {
        "workload": f"default {per_call}/call",
        "records": n,
        "append_us_per_record": (appended - started) / n * 1e6,
        "with_write_us_per_record": (closed - started) / n * 1e6,
    }


def bench_durable(records: list[PredictionRecord], threads: int) -> Row:
    with folder() as directory:
        log = PredictionLog(directory, durable=True, compact_on_start=False)
        counts = [0] * threads
        deadline = time.perf_counter() + DURABLE_SECONDS

        def worker(index: int) -> None:
            i = index
            while time.perf_counter() < deadline:
                log.append([records[i % len(records)]])
                counts[index] += 1
                i += threads

        started = time.perf_counter()
        run_threads(worker, threads)
        elapsed = time.perf_counter() - started
        log.close()
    n = sum(counts)
    return {
        "workload": f"durable {threads} thread{'s' if threads > 1 else ''}",
        "records": n,
        "append_us_per_record": elapsed / n * 1e6,
        "append_latency_us": elapsed / (n / threads) * 1e6,
        "records_per_s": n / elapsed,
    }


def run_threads(target: Callable[[int], None], count: int) -> None:
    workers = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def bench_compaction(records: list[PredictionRecord]) -> Row:
    with folder() as directory:
        bench_default(records, 1, keep=directory)
        started = time.perf_counter()
        result = compact(directory)
        elapsed = time.perf_counter() - started
    return {
        "workload": "compaction",
        "records": result.records,
        "records_per_s": result.records / elapsed,
        "files": len(result.files),
    }


def show(rows: list[Row]) -> None:
    columns = ["workload", "records", "append_us_per_record", "with_write_us_per_record"]
    columns += ["append_latency_us", "records_per_s"]
    print(" | ".join(f"{c:>24}" for c in columns))
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        print(" | ".join(f"{c:>24.1f}" if isinstance(c, float) else f"{c!s:>24}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    records = make_records(args.records)
    rows = [
        bench_default(records, 1, keep=None),
        bench_default(records, 16, keep=None),
        bench_durable(records, 1),
        bench_durable(records, 16),
        bench_compaction(records),
    ]
    show(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
