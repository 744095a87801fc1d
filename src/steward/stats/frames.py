"""Frames in, typed columns out: pandas, polars and PyArrow read the same way.

A numeric column becomes a float64 NumPy array (missing values as NaN, a view where the
frame allows it); a categorical column becomes its value counts, computed by Arrow or from
pandas category codes. Nothing here loops over rows in Python.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from steward.errors import InvalidInput

__all__ = [
    "Column",
    "ColumnKind",
    "Frame",
    "ValueCounts",
    "category_codes",
    "column_names",
    "frame_columns",
    "frame_rows",
    "is_frame",
]

# pandas, polars or PyArrow; polars is optional, so it is recognised by module name.
Frame = Any
FloatArray = npt.NDArray[np.float64]


class ColumnKind(enum.StrEnum):
    """How a column is summarised and which drift tests apply to it."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True, slots=True)
class ValueCounts:
    """Distinct non-missing values (as strings) with their counts, and the missing count."""

    values: pa.Array
    counts: npt.NDArray[np.int64]
    missing: int


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a frame, read for profiling; `data` is never written to."""

    name: str
    kind: ColumnKind
    data: FloatArray | ValueCounts | None  # None: a type Steward does not profile
    type_name: str
    rows: pa.Array | pa.ChunkedArray | pd.Series[Any] | None = None  # categorical row values


def is_frame(frame: object) -> bool:
    """Whether `frame` is a pandas or polars DataFrame or a PyArrow Table."""
    return isinstance(frame, pd.DataFrame | pa.Table) or _is_polars(frame)


def frame_rows(frame: Frame) -> int:
    """Number of rows of a supported frame."""
    return int(_as_supported(frame).shape[0])


def column_names(frame: Frame) -> list[str]:
    """Column names, as strings, in frame order."""
    table = _as_supported(frame)
    names = table.column_names if isinstance(table, pa.Table) else table.columns
    return [str(name) for name in names]


def frame_columns(frame: Frame, names: Sequence[str] | None = None) -> Iterator[Column]:
    """Read the named columns (default: all) one at a time, so memory stays per column.

    Raises:
        InvalidInput: `frame` is not a supported frame, or a name is not one of its columns.
    """
    table = _as_supported(frame)
    available = column_names(table)
    wanted = available if names is None else list(names)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise InvalidInput(
            f"columns {unknown} are not in the frame; it has: {', '.join(available)}",
            field="columns",
        )
    for name in wanted:
        if isinstance(table, pd.DataFrame):
            yield _pandas_column(name, table[name])
        else:
            yield _arrow_column(name, table.column(name))


def _is_polars(frame: object) -> bool:
    return type(frame).__module__.split(".")[0] == "polars" and hasattr(frame, "to_arrow")


def _as_supported(frame: Frame) -> pd.DataFrame | pa.Table:
    if isinstance(frame, pd.DataFrame | pa.Table):
        return frame
    if _is_polars(frame):
        table: pa.Table = frame.to_arrow()
        return table
    raise InvalidInput(
        f"frame of type {type(frame).__module__}.{type(frame).__name__} is not supported; "
        "pass a pandas or polars DataFrame or a PyArrow Table",
        field="frame",
    )


def _pandas_column(name: str, series: pd.Series[Any]) -> Column:
    dtype = series.dtype
    type_name = str(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        counts = _category_counts(series)
        return Column(name, ColumnKind.CATEGORICAL, counts, type_name, series)
    if pd.api.types.is_bool_dtype(dtype):
        return _text_column(name, series, pa.array(series, from_pandas=True), type_name)
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return Column(name, ColumnKind.NUMERIC, values, type_name)
    if pd.api.types.is_string_dtype(dtype):
        return _text_column(name, series, _pandas_strings(series), type_name)
    return Column(name, ColumnKind.NUMERIC, None, type_name)


def _text_column(
    name: str, series: pd.Series[Any], values: pa.Array | pa.ChunkedArray, type_name: str
) -> Column:
    # Rows are re-read later only for a sample or a block: keep Arrow-backed data as the
    # (zero-copy) Arrow array, anything else as the Series, never a full converted copy.
    arrow_backed = isinstance(series.dtype, pd.ArrowDtype) or (
        getattr(series.dtype, "storage", None) == "pyarrow"
    )
    rows = values if arrow_backed else series
    return Column(name, ColumnKind.CATEGORICAL, _arrow_counts(values), type_name, rows)


def _pandas_strings(series: pd.Series[Any]) -> pa.Array | pa.ChunkedArray:
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: read them as text
        return pa.array(series.astype("str"), from_pandas=True)


def _category_counts(series: pd.Series[Any]) -> ValueCounts:
    codes = np.asarray(series.cat.codes, dtype=np.int64)
    counts = np.bincount(codes + 1, minlength=len(series.cat.categories) + 1)
    used = np.flatnonzero(counts[1:])
    values = pa.array(np.asarray(series.cat.categories)[used], from_pandas=True)
    return ValueCounts(_as_text(values), counts[1:][used].astype(np.int64), int(counts[0]))


def _arrow_column(name: str, array: pa.Array | pa.ChunkedArray, type_name: str = "") -> Column:
    kind_type = array.type
    type_name = type_name or str(kind_type)
    if pa.types.is_dictionary(kind_type):
        array = array.cast(kind_type.value_type)
        kind_type = array.type
    if pa.types.is_boolean(kind_type) or _is_text(kind_type):
        return Column(name, ColumnKind.CATEGORICAL, _arrow_counts(array), type_name, array)
    if pa.types.is_integer(kind_type) or pa.types.is_floating(kind_type):
        return Column(name, ColumnKind.NUMERIC, _arrow_floats(array), type_name)
    if pa.types.is_decimal(kind_type):
        return Column(name, ColumnKind.NUMERIC, _arrow_floats(array), type_name)
    return Column(name, ColumnKind.NUMERIC, None, type_name)


def _is_text(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    )


def _arrow_floats(array: pa.Array | pa.ChunkedArray) -> FloatArray:
    floats = pc.cast(array, pa.float64())
    if isinstance(floats, pa.ChunkedArray):
        floats = floats.combine_chunks() if floats.num_chunks != 1 else floats.chunk(0)
    values: FloatArray = floats.to_numpy(zero_copy_only=False)
    return values


def _arrow_counts(array: pa.Array | pa.ChunkedArray) -> ValueCounts:
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.large_string())
    missing = int(array.null_count)
    counted = pc.value_counts(array)
    values = counted.field("values")
    counts = counted.field("counts").to_numpy(zero_copy_only=False).astype(np.int64)
    present = pc.is_valid(values).to_numpy(zero_copy_only=False)
    values = values.filter(pa.array(present))
    return ValueCounts(_as_text(values), counts[present], missing)


def _as_text(values: pa.Array) -> pa.Array:
    """Values as Arrow strings, so True, 'True' and a category read the same everywhere."""
    if values.type == pa.large_string():
        return values
    if pa.types.is_boolean(values.type):
        return pc.if_else(values, "True", "False").cast(pa.large_string())
    if _is_text(values.type):
        return values.cast(pa.large_string())
    return pc.cast(values, pa.large_string())


def category_codes(
    column: Column, categories: Sequence[str], rows: npt.NDArray[np.int64] | slice
) -> npt.NDArray[np.int64]:
    """Per row, the position of its value in `categories`; -1 for any other value, -2 if missing.

    Raises:
        InvalidInput: the column is not categorical.
    """
    if column.rows is None:
        raise InvalidInput(f"column {column.name!r} ({column.type_name}) is not categorical")
    wanted = pa.array(list(categories), pa.large_string())
    rows_of = column.rows
    if isinstance(rows_of, pd.Series) and isinstance(rows_of.dtype, pd.CategoricalDtype):
        codes = np.asarray(rows_of.cat.codes, dtype=np.int64)[rows]
        own = _as_text(pa.array(np.asarray(rows_of.cat.categories), from_pandas=True))
        lookup = pc.index_in(own, value_set=wanted).fill_null(-1).to_numpy(zero_copy_only=False)
        table = np.append(lookup.astype(np.int64), -2)  # code -1 (missing) reads table[-1]
        return table[codes]
    if isinstance(rows_of, pd.Series):
        values = _take(_pandas_strings(rows_of.iloc[rows]), slice(None))
    else:
        values = _take(rows_of, rows)
    text = _as_text(values)
    found = pc.index_in(text, value_set=wanted).fill_null(-1)
    codes = np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
    if values.null_count:
        codes[np.asarray(values.is_null().to_numpy(zero_copy_only=False))] = -2
    return codes


def _take(values: pa.Array | pa.ChunkedArray, rows: npt.NDArray[np.int64] | slice) -> pa.Array:
    """The rows (a slice, or sorted positions) as one array, copying only those rows."""
    if isinstance(rows, slice):
        start, stop, _ = rows.indices(len(values))
        part = values.slice(start, stop - start)
        return part.combine_chunks() if isinstance(part, pa.ChunkedArray) else part
    if isinstance(values, pa.Array):
        return values.take(pa.array(rows))
    # A chunked take would first concatenate every chunk: take chunk by chunk instead.
    starts = np.cumsum([0, *(len(chunk) for chunk in values.chunks)])
    bounds = np.searchsorted(rows, starts)
    parts = [
        chunk.take(pa.array(rows[bounds[i] : bounds[i + 1]] - starts[i]))
        for i, chunk in enumerate(values.chunks)
        if bounds[i + 1] > bounds[i]
    ]
    return pa.concat_arrays(parts) if parts else pa.array([], type=values.type)
