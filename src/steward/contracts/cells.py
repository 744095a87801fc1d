"""The coercion rules, vectorised: which cells of a column are missing, which are the wrong type.

A column arrives as Arrow (one type for every value) or as a pandas object array (any Python
values). Either way it leaves as `Cells`: a null mask, a wrong-type mask and the values the
range and category checks compare, with wrong-typed cells blanked so that a bad cell is
reported once, as the wrong type. The rules themselves are listed in docs/contracts.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from steward.contracts.frames import ColumnSource
from steward.contracts.values import ISO_DATETIME_PATTERN, ValueKind, kind_of_type

__all__ = ["Cells", "arrow_family", "read_cells"]

BoolArray = NDArray[np.bool_]
TEXT_TYPES = ("categorical", "string")


@dataclass(frozen=True, slots=True)
class Cells:
    """One column read for checking.

    Attributes:
        null: missing cells (null, NaN, NaT).
        wrong_type: present cells the logical type does not accept; None when there are none.
        numbers: what range checks compare: float64 for numbers (NaN where not comparable),
            int64 microseconds since the epoch (UTC) for datetimes; None for other types.
        text: the strings category checks look up, null where not comparable.
    """

    null: BoolArray
    wrong_type: BoolArray | None = None
    numbers: NDArray[np.float64] | NDArray[np.int64] | None = None
    text: pa.ChunkedArray | None = None


def read_cells(source: ColumnSource, logical_type: str) -> Cells:
    """Apply the coercion rules of `logical_type` to one column."""
    if isinstance(source, np.ndarray):
        return _read_objects(source, logical_type)
    return _read_arrow(source, logical_type)


def _read_arrow(column: pa.ChunkedArray, logical_type: str) -> Cells:
    if pa.types.is_string_view(_value_type(column.type)):
        column = column.cast(pa.large_string())  # Arrow's lookup kernels lack string views
    if pa.types.is_dictionary(column.type):
        keeps_dictionary = (
            logical_type in TEXT_TYPES and arrow_family(column.type.value_type) == "text"
        )
        if not keeps_dictionary:
            column = column.cast(column.type.value_type)
    family = arrow_family(column.type)
    if family == "null":
        return Cells(null=np.ones(len(column), dtype=np.bool_))
    null = _is_null(column)
    if logical_type in ("integer", "float") and family in ("integer", "float"):
        # Unsafe: integers beyond 2**53 round to the nearest float64 rather than raising.
        return _numbers(column.cast(pa.float64(), safe=False).to_numpy(), logical_type)
    if logical_type == "boolean" and family == "boolean":
        return Cells(null=null)
    if logical_type in TEXT_TYPES and family == "text":
        return Cells(null=null, text=column)
    if logical_type == "datetime" and family == "timestamp":
        return Cells(null=null, numbers=_timestamps_us(column))
    if logical_type == "datetime" and family == "text":
        return _parsed_datetimes(column.to_numpy(zero_copy_only=False), null)
    return Cells(null=null, wrong_type=~null)


def _numbers(
    values: NDArray[np.float64], logical_type: str, null: BoolArray | None = None
) -> Cells:
    """Numbers as float64 (NaN where absent); for an integer column, non-integral or infinite
    floats are the wrong type.

    Integral floats are accepted because pandas stores an integer column with gaps as float64.
    `null` overrides the NaN mask when NaN also marks cells that are not numbers at all.
    """
    absent = np.isnan(values)
    null = absent if null is None else null
    if logical_type == "float":
        return Cells(null=null, numbers=values)
    with np.errstate(invalid="ignore"):
        wrong = ~absent & ~(np.isfinite(values) & (np.trunc(values) == values))
    if not wrong.any():
        return Cells(null=null, numbers=values)
    return Cells(null=null, wrong_type=wrong, numbers=np.where(wrong, np.nan, values))


def _timestamps_us(column: pa.ChunkedArray) -> NDArray[np.int64]:
    """Microseconds since the epoch; naive timestamps and dates count as UTC."""
    timezone = getattr(column.type, "tz", None)
    as_us = column.cast(pa.timestamp("us", timezone), safe=False)
    return np.asarray(as_us.cast(pa.int64()).fill_null(0).to_numpy(), dtype=np.int64)


def _parsed_datetimes(text: NDArray[np.object_], null: BoolArray) -> Cells:
    """ISO 8601 text as datetimes: what JSON bodies and CSV files carry."""
    series = pd.Series(text, dtype=object)
    dated = series.str.fullmatch(ISO_DATETIME_PATTERN, na=False)  # the forms rows accept
    parsed = pd.to_datetime(series.where(dated), utc=True, errors="coerce", format="ISO8601")
    unparsed = parsed.isna().to_numpy()
    numbers = _epoch_us(parsed)
    wrong = unparsed & ~null
    return Cells(null=null, wrong_type=wrong if wrong.any() else None, numbers=numbers)


def _epoch_us(stamps: pd.Series[pd.Timestamp]) -> NDArray[np.int64]:
    """Microseconds since the epoch from an aware UTC datetime Series (NaT gives junk)."""
    naive = stamps.dt.tz_convert(None).dt.as_unit("us")
    return np.asarray(naive.to_numpy().view(np.int64), dtype=np.int64)


def _read_objects(objects: NDArray[np.object_], logical_type: str) -> Cells:
    """A pandas object column: classify each value by the rules a served row follows."""
    kinds = _classify(objects)
    null = kinds == ValueKind.NULL
    if logical_type in ("integer", "float"):
        numeric = (kinds == ValueKind.INTEGER) | (kinds == ValueKind.FLOAT)
        values = np.full(len(objects), np.nan)
        values[numeric] = objects[numeric].astype(np.float64)
        return _with_wrong(_numbers(values, logical_type, null), ~null & ~numeric)
    if logical_type == "boolean":
        return _with_wrong(Cells(null=null), ~null & (kinds != ValueKind.BOOLEAN))
    is_text = kinds == ValueKind.TEXT
    if logical_type in TEXT_TYPES:
        text = pa.chunked_array([pa.array(_only(objects, is_text), type=pa.large_string())])
        return _with_wrong(Cells(null=null, text=text), ~null & ~is_text)
    return _object_datetimes(objects, kinds, null)


def _object_datetimes(
    objects: NDArray[np.object_], kinds: NDArray[np.int8], null: BoolArray
) -> Cells:
    is_time = kinds == ValueKind.TIMESTAMP
    is_text = kinds == ValueKind.TEXT
    numbers = np.zeros(len(objects), dtype=np.int64)
    if is_time.any():
        stamps = pd.to_datetime(pd.Series(objects[is_time]), utc=True)
        numbers[is_time] = _epoch_us(stamps)
    parsed = _parsed_datetimes(_only(objects, is_text), ~is_text)
    if parsed.numbers is not None:
        numbers = np.where(is_text, parsed.numbers, numbers)
    unparsed = parsed.wrong_type if parsed.wrong_type is not None else np.zeros_like(null)
    return _with_wrong(Cells(null=null, numbers=numbers), (~null & ~is_time & ~is_text) | unparsed)


def _only(objects: NDArray[np.object_], keep: BoolArray) -> NDArray[np.object_]:
    """A copy of `objects` with None wherever `keep` is False."""
    kept = objects.copy()
    kept[~keep] = None
    return kept


def _classify(objects: NDArray[np.object_]) -> NDArray[np.int8]:
    """ValueKind codes per value, decided once per distinct Python type present."""
    types = np.fromiter(map(type, objects), dtype=object, count=len(objects))
    positions, distinct = pd.factorize(types)
    codes = np.array([kind_of_type(value_type) for value_type in distinct], dtype=np.int8)
    kinds = codes[positions] if len(objects) else np.zeros(0, dtype=np.int8)
    kinds[pd.isna(objects)] = ValueKind.NULL
    return np.asarray(kinds, dtype=np.int8)


def _with_wrong(cells: Cells, wrong: BoolArray) -> Cells:
    if cells.wrong_type is not None:
        wrong = wrong | cells.wrong_type
    if not wrong.any():
        return cells
    numbers = cells.numbers
    if numbers is not None and numbers.dtype == np.float64:
        numbers = np.where(wrong, np.nan, numbers)
    return Cells(null=cells.null, wrong_type=wrong, numbers=numbers, text=cells.text)


def _is_null(column: pa.ChunkedArray) -> BoolArray:
    if column.null_count == 0:
        return np.zeros(len(column), dtype=np.bool_)
    return np.asarray(column.is_null().to_numpy(), dtype=np.bool_)


def arrow_family(arrow_type: pa.DataType) -> str:
    """Group Arrow types by what a contract can accept them as."""
    types = pa.types
    if types.is_boolean(arrow_type):
        return "boolean"
    if types.is_integer(arrow_type):
        return "integer"
    if types.is_floating(arrow_type) or types.is_decimal(arrow_type):
        return "float"
    if types.is_string(arrow_type) or types.is_large_string(arrow_type):
        return "text"
    if types.is_string_view(arrow_type):
        return "text"
    if types.is_dictionary(arrow_type):
        return "text" if arrow_family(arrow_type.value_type) == "text" else "other"
    if types.is_timestamp(arrow_type) or types.is_date(arrow_type):
        return "timestamp"
    return "null" if types.is_null(arrow_type) else "other"


def _value_type(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
