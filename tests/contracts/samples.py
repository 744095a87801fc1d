"""Frames for the contract tests, built in memory, and converters between frame libraries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

LIBRARIES = ("pandas", "polars", "pyarrow")
PLANS = ("basic", "pro", "team")


def churn_frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """A small churn table with one column of each logical type."""
    rng = np.random.default_rng(seed)
    spend = rng.normal(50.0, 10.0, rows)
    spend[::20] = np.nan  # 5% missing
    return pd.DataFrame(
        {
            "age": rng.integers(18, 91, rows),
            "monthly_spend": spend,
            "plan": pd.Series(rng.choice(PLANS, rows), dtype="str"),
            "is_active": rng.random(rows) < 0.7,
            "signup_at": pd.date_range("2023-01-01", periods=rows, freq="D", tz="UTC"),
            "notes": pd.Series([f"note {i}" for i in range(rows)], dtype="str"),
        }
    )


def as_library(frame: pd.DataFrame, library: str) -> object:
    """The same data as a pandas DataFrame, a polars DataFrame or a PyArrow Table."""
    if library == "pandas":
        return frame
    if library == "polars":
        return pl.from_pandas(frame)
    return pa.Table.from_pandas(frame, preserve_index=False)


def to_pandas(frame: object) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, pl.DataFrame):
        return frame.to_pandas()
    assert isinstance(frame, pa.Table)
    converted: pd.DataFrame = frame.to_pandas()
    return converted


def height(frame: object) -> int:
    return len(to_pandas(frame))
