"""Contract validation benchmark: one row of 25 columns, and 1,000,000 rows x 25 columns.

Run: .venv/bin/python bench/contracts.py [--rows 1000000] [--row-iterations 200000]

The frame has 20 numeric columns (15 float, 5 integer) and 5 categorical string columns. The
contract is inferred from the clean frame; the dirty frame has ~1% of rows broken (values out
of range, unseen categories, strings in a float column). Bars (issue 3): <= 20 us per row,
< 1 s per 1M-row frame.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from steward.contracts import Contract, compile_row_validator, infer_contract, validate

FLOATS, INTEGERS, CATEGORICALS = 15, 5, 5
PLANS = ("basic", "pro", "team", "enterprise", "trial", "student", "nonprofit", "legacy")


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(FLOATS):
        data[f"f{i}"] = rng.normal(i, 1 + i, rows)
    for i in range(INTEGERS):
        data[f"i{i}"] = rng.integers(0, 1000 * (i + 1), rows)
    for i in range(CATEGORICALS):
        data[f"c{i}"] = pd.Series(rng.choice(PLANS, rows), dtype="str")
    return pd.DataFrame(data)


def make_dirty(frame: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """~1% of rows broken: out of range, unseen category, a string in a float column."""
    rng = np.random.default_rng(seed)
    dirty = frame.copy()
    rows = len(frame)
    dirty.loc[rng.choice(rows, rows // 300, replace=False), "f0"] = 1e9
    dirty.loc[rng.choice(rows, rows // 300, replace=False), "c0"] = "gold"
    f1 = dirty["f1"].astype(object)
    f1.iloc[rng.choice(rows, rows // 300, replace=False)] = "n/a"
    dirty["f1"] = f1
    return dirty


def best_of(repeats: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def time_rows(contract: Contract, frame: pd.DataFrame, iterations: int) -> tuple[float, float]:
    """Median microseconds per row over 5 rounds, for validate() and check()."""
    validator = compile_row_validator(contract)
    records = [
        {str(key): value for key, value in record.items()}
        for record in frame.head(1000).to_dict(orient="records")
    ]
    sample = [records[i % len(records)] for i in range(iterations)]
    rounds_validate, rounds_check = [], []
    for _ in range(5):
        start = time.perf_counter()
        for row in sample:
            validator.validate(row)
        rounds_validate.append((time.perf_counter() - start) / iterations * 1e6)
        start = time.perf_counter()
        for row in sample:
            validator.check(row)
        rounds_check.append((time.perf_counter() - start) / iterations * 1e6)
    return statistics.median(rounds_validate), statistics.median(rounds_check)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--row-iterations", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    frame = make_frame(args.rows)
    contract = infer_contract(frame, name="bench")
    dirty = make_dirty(frame)
    per_row, per_check = time_rows(contract, frame, args.row_iterations)

    results: list[tuple[str, float, str]] = [
        ("one row, 25 columns: RowValidator.validate", per_row, "us/row (bar 20)"),
        ("one row, 25 columns: RowValidator.check", per_check, "us/row (bar 20)"),
    ]
    frames = {
        "pandas": frame,
        "polars": pl.from_pandas(frame),
        "pyarrow": pa.Table.from_pandas(frame, preserve_index=False),
    }
    for library, data in frames.items():
        seconds = best_of(args.repeats, partial(validate, data, contract))
        results.append((f"{args.rows:,} x 25 clean, {library}, reject", seconds, "s (bar 1)"))
    seconds = best_of(args.repeats, lambda: validate(dirty, contract, mode="drop"))
    results.append((f"{args.rows:,} x 25 ~1% dirty, pandas, drop", seconds, "s (bar 1)"))
    seconds = best_of(1, lambda: infer_contract(frame))
    results.append((f"infer_contract {args.rows:,} x 25, pandas", seconds, "s"))

    print(f"{'case':<52} {'figure':>10}  unit")
    for case, value, unit in results:
        print(f"{case:<52} {value:>10.3f}  {unit}")


if __name__ == "__main__":
    main()
