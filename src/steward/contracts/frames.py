"""One seam over pandas, polars and PyArrow frames: columns out as Arrow, rows filtered back.

Validation reads each column as an Arrow array (zero-copy for numeric and Arrow-backed
columns) and returns rows in the caller's own frame type. Polars is optional, so it is only
imported once a polars frame has been received.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Protocol, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from steward.errors import InvalidInput

__all__ = ["ColumnSource", "FrameAdapter", "adapter_for"]

# A column as validation reads it: Arrow when the values share one type, else the raw
# Python objects of a pandas object column (e.g. ints mixed with strings).
ColumnSource: TypeAlias = "pa.ChunkedArray | NDArray[np.object_]"


class FrameAdapter(Protocol):
    """What validation needs from a frame library."""

    def column_names(self, frame: object) -> list[str]: ...

    def row_count(self, frame: object) -> int: ...

    def column(self, frame: object, name: str) -> ColumnSource: ...

    def take(self, frame: object, rows: NDArray[np.bool_]) -> object: ...

    def drop(self, frame: object, names: Sequence[str]) -> object: ...


class PandasAdapter:
    def column_names(self, frame: object) -> list[str]:
        return _checked_names(list(_pandas(frame).columns))

    def row_count(self, frame: object) -> int:
        return len(_pandas(frame))

    def column(self, frame: object, name: str) -> ColumnSource:
        series = _pandas(frame)[name]
        is_uniform = series.dtype != object or _is_uniform(series)
        try:
            column: ColumnSource = _chunked(pa.array(series, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            is_uniform = False
        # Mixed Python values are classified one by one in values.py, like a served row:
        # Arrow would quietly coerce some of them (False to 0.0 in a float column).
        return column if is_uniform else series.to_numpy(dtype=object)

    def take(self, frame: object, rows: NDArray[np.bool_]) -> object:
        return _pandas(frame)[rows]

    def drop(self, frame: object, names: Sequence[str]) -> object:
        return _pandas(frame).drop(columns=list(names))


class ArrowAdapter:
    def column_names(self, frame: object) -> list[str]:
        return _checked_names(list(_arrow(frame).column_names))

    def row_count(self, frame: object) -> int:
        return int(_arrow(frame).num_rows)

    def column(self, frame: object, name: str) -> ColumnSource:
        column: ColumnSource = _arrow(frame).column(name)
        return column

    def take(self, frame: object, rows: NDArray[np.bool_]) -> object:
        return _arrow(frame).filter(pa.array(rows, type=pa.bool_()))

    def drop(self, frame: object, names: Sequence[str]) -> object:
        return _arrow(frame).drop_columns(list(names))


class PolarsAdapter:
    # polars is untyped for mypy here (ignore_missing_imports), so frames stay `object`.
    def column_names(self, frame: object) -> list[str]:
        return _checked_names(list(frame.columns))  # type: ignore[attr-defined]

    def row_count(self, frame: object) -> int:
        return int(frame.height)  # type: ignore[attr-defined]

    def column(self, frame: object, name: str) -> ColumnSource:
        try:
            column: ColumnSource = _chunked(frame.get_column(name).to_arrow())  # type: ignore[attr-defined]
        except Exception as exc:  # polars raises its own error types for Object columns
            raise InvalidInput(
                f"column {name!r} has polars type {frame.schema[name]} which a contract "  # type: ignore[attr-defined]
                "cannot read; accepted: numeric, boolean, string, categorical, temporal columns",
                field=name,
            ) from exc
        return column

    def take(self, frame: object, rows: NDArray[np.bool_]) -> object:
        import polars as pl

        return frame.filter(pl.Series(rows))  # type: ignore[attr-defined]

    def drop(self, frame: object, names: Sequence[str]) -> object:
        return frame.drop(list(names))  # type: ignore[attr-defined]


_ADAPTERS: dict[str, FrameAdapter] = {
    "pandas": PandasAdapter(),
    "pyarrow": ArrowAdapter(),
    "polars": PolarsAdapter(),
}


def adapter_for(frame: object) -> FrameAdapter:
    """The adapter for a pandas DataFrame, polars DataFrame or PyArrow Table.

    Raises:
        InvalidInput: naming the type received and the accepted ones.
    """
    if isinstance(frame, pd.DataFrame):
        return _ADAPTERS["pandas"]
    if isinstance(frame, pa.Table):
        return _ADAPTERS["pyarrow"]
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(frame, polars.DataFrame):
        return _ADAPTERS["polars"]
    hint = "; call .collect() first" if type(frame).__name__ == "LazyFrame" else ""
    raise InvalidInput(
        f"cannot read a frame of type {type(frame).__module__}.{type(frame).__qualname__}; "
        f"accepted: pandas.DataFrame, polars.DataFrame, pyarrow.Table{hint}",
        field="frame",
    )


# What pandas may infer for an object column whose values Arrow converts without coercion.
_UNIFORM_OBJECTS = frozenset(
    {
        "string",
        "integer",
        "floating",
        "mixed-integer-float",
        "boolean",
        "decimal",
        "datetime",
        "datetime64",
        "date",
        "empty",
    }
)


def _is_uniform(series: pd.Series) -> bool:  # type: ignore[type-arg]  # any dtype
    return pd.api.types.infer_dtype(series, skipna=True) in _UNIFORM_OBJECTS


def _chunked(array: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _checked_names(names: list[object]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise InvalidInput(
                f"column name {name!r} ({type(name).__name__}) is not a string; "
                "contracts match columns by string name (rename the columns first)",
                field="columns",
            )
        if name in seen:
            raise InvalidInput(
                f"column {name!r} appears twice in the frame; column names must be unique",
                field="columns",
            )
        seen.add(name)
    return [str(name) for name in names]


def _pandas(frame: object) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):  # pragma: no cover - adapter_for picked us
        raise InvalidInput(f"expected a pandas.DataFrame, got {type(frame).__name__}")
    return frame


def _arrow(frame: object) -> pa.Table:
    return frame
