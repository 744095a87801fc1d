"""Infer a contract from training data: types from the column dtypes, limits from the values.

The defaults and the reasoning behind them are in docs/contracts.md.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from steward.contracts.cells import Cells, arrow_family, read_cells
from steward.contracts.entities import (
    DEFAULT_RANGE_TOLERANCE,
    EXTRA_COLUMNS,
    ColumnContract,
    Contract,
    ExtraColumns,
    LogicalType,
)
from steward.contracts.frames import ColumnSource, adapter_for
from steward.errors import InvalidInput

__all__ = ["DEFAULT_MAX_CATEGORIES", "infer_contract"]

DEFAULT_MAX_CATEGORIES = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPE_BY_FAMILY: dict[str, LogicalType] = {
    "integer": "integer",
    "float": "float",
    "boolean": "boolean",
    "timestamp": "datetime",
    "null": "string",  # an all-missing column says nothing about its type
}


def infer_contract(
    frame: object,
    *,
    name: str | None = None,
    range_tolerance: float = DEFAULT_RANGE_TOLERANCE,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    extra_columns: ExtraColumns = "allow",
) -> Contract:
    """The contract a pandas DataFrame, polars DataFrame or PyArrow Table satisfies (version 1).

    Every column becomes required. Types come from the dtype: integer, float (also decimal),
    boolean, datetime (timestamps and dates); text is categorical with up to
    `max_categories` distinct values, free-text "string" above that.

    Args:
        frame: the training data.
        name: the contract's label in messages, e.g. the dataset or model name.
        range_tolerance: how far beyond the observed [min, max] validation accepts, as a
            fraction of the span on each side.
        max_categories: the most distinct values a text column may have to be categorical.
        extra_columns: the policy for columns the contract does not list.

    Raises:
        InvalidInput: the frame is of an unsupported type, has no rows or no columns, has a
            column mixing value types or of a type a contract cannot describe, or an
            option is out of range.
    """
    _check_options(range_tolerance, max_categories, extra_columns)
    adapter = adapter_for(frame)
    names = adapter.column_names(frame)
    total = adapter.row_count(frame)
    if total == 0 or not names:
        raise InvalidInput(
            f"cannot infer a contract from an empty frame ({total} rows, {len(names)} columns); "
            "pass the training data with at least one row and one column",
            field="frame",
        )
    columns = tuple(
        _infer_column(column, adapter.column(frame, column), range_tolerance, max_categories)
        for column in names
    )
    return Contract(columns, tuple(names), extra_columns, name)


def _infer_column(
    name: str, source: ColumnSource, range_tolerance: float, max_categories: int
) -> ColumnContract:
    column = _arrow_column(name, source)
    family = arrow_family(column.type)
    categories = _categories(column, max_categories) if family == "text" else None
    if family == "text":
        logical_type: LogicalType = "categorical" if categories is not None else "string"
    elif family in _TYPE_BY_FAMILY:
        logical_type = _TYPE_BY_FAMILY[family]
    else:
        raise InvalidInput(
            f"column {name!r} has type {column.type}, which a contract cannot describe; "
            "accepted: integer, float, decimal, boolean, string, categorical, timestamp, date",
            field=name,
        )
    cells = read_cells(column, logical_type)
    missing = int(np.count_nonzero(cells.null))
    minimum, maximum = _observed_range(column, cells, logical_type)
    return ColumnContract(
        name=name,
        logical_type=logical_type,
        nullable=missing > 0,
        # Rounded up to 6 places: readable in YAML, never below what was observed.
        missing_rate=min(1.0, math.ceil(missing / len(cells.null) * 1e6) / 1e6),
        minimum=minimum,
        maximum=maximum,
        range_tolerance=range_tolerance,
        categories=categories,
    )


def _arrow_column(name: str, source: ColumnSource) -> pa.ChunkedArray:
    if isinstance(source, np.ndarray):
        kinds = sorted({value_type.__name__ for value_type in pd.Series(source).map(type).unique()})
        raise InvalidInput(
            f"column {name!r} mixes Python value types ({', '.join(kinds)}); a contract needs "
            "one type per column: clean or cast the column before inferring",
            field=name,
        )
    if pa.types.is_dictionary(source.type) or pa.types.is_string_view(source.type):
        value_type = getattr(source.type, "value_type", pa.large_string())
        return source.cast(pa.large_string() if pa.types.is_string_view(value_type) else value_type)
    return source


def _categories(column: pa.ChunkedArray, max_categories: int) -> tuple[str, ...] | None:
    distinct = pc.unique(column).drop_null()
    if len(distinct) > max_categories or len(distinct) == 0:
        return None
    return tuple(sorted(distinct.to_pylist()))


def _observed_range(
    column: pa.ChunkedArray, cells: Cells, logical_type: LogicalType
) -> tuple[int | float | datetime | None, int | float | None]:
    """Observed [min, max]; a datetime column keeps only its minimum (see docs/contracts.md)."""
    present = ~cells.null
    if cells.numbers is None or not present.any():
        return None, None
    if logical_type == "integer":
        bounds = pc.min_max(column)
        return int(bounds["min"].as_py()), int(bounds["max"].as_py())
    values = cells.numbers[present]
    if logical_type == "datetime":
        return _EPOCH + timedelta(microseconds=int(values.min())), None
    return _finite(float(values.min())), _finite(float(values.max()))


def _finite(value: float) -> float | None:
    """An infinite extreme means no bound on that side; JSON has no infinity anyway."""
    return value if math.isfinite(value) else None


def _check_options(range_tolerance: float, max_categories: int, extra_columns: str) -> None:
    if (
        isinstance(range_tolerance, bool)
        or not isinstance(range_tolerance, int | float)
        or not math.isfinite(range_tolerance)
        or range_tolerance < 0
    ):
        raise InvalidInput(
            f"range_tolerance must be a finite number >= 0 (a fraction of the observed span), "
            f"got {range_tolerance!r}",
            field="range_tolerance",
        )
    if (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, int)
        or max_categories < 1
    ):
        raise InvalidInput(
            f"max_categories must be an integer >= 1, got {max_categories!r}",
            field="max_categories",
        )
    if extra_columns not in EXTRA_COLUMNS:
        raise InvalidInput(
            f"extra_columns {extra_columns!r} is not accepted; "
            f"accepted: {', '.join(EXTRA_COLUMNS)}",
            field="extra_columns",
        )
