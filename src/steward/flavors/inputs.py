"""Turning the caller's data into what a model expects, and its answer into a NumPy array."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import InvalidInput

__all__ = ["as_features", "as_predictions", "to_table"]

ACCEPTED = "a pandas DataFrame, a 2-D NumPy array or a list of dicts (one per row)"


def to_table(data: Any) -> pd.DataFrame | np.ndarray[Any, Any]:
    """The caller's data as a DataFrame (list of dicts) or a NumPy array, unchanged otherwise.

    Raises:
        InvalidInput: ``data`` is empty or of a type no model accepts.
    """
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not data:
            raise InvalidInput(f"model input is an empty list; expected {ACCEPTED}")
        if all(isinstance(row, Mapping) for row in data):
            return pd.DataFrame.from_records(list(data))
        return np.asarray(data)
    raise InvalidInput(
        f"model input of type {type(data).__name__} is not supported; expected {ACCEPTED}"
    )


def as_features(data: Any, feature_names: Sequence[str] | None) -> Any:
    """The caller's data in the column order the model was trained with.

    A DataFrame has its columns picked in training order (extra columns are dropped); an
    array gets the training names when its width matches. Without training names the data
    goes to the model as given.

    Raises:
        InvalidInput: the data lacks a training column, or an array has the wrong width.
    """
    table = to_table(data)
    if not feature_names:
        return table
    names = list(feature_names)
    if isinstance(table, pd.DataFrame):
        return _reorder(table, names)
    if table.ndim != 2 or table.shape[1] != len(names):
        raise InvalidInput(
            f"model input array has shape {table.shape}; expected 2-D with {len(names)} "
            f"columns in training order ({', '.join(names)}), or a DataFrame with those columns"
        )
    return pd.DataFrame(table, columns=names)


def _reorder(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    columns = [str(column) for column in frame.columns]
    missing = [name for name in names if name not in columns]
    if missing:
        raise InvalidInput(
            f"model input lacks column(s) {', '.join(repr(name) for name in missing)}; "
            f"the model was trained on {', '.join(names)}",
            field=missing[0],
        )
    if columns == names:
        return frame
    renamed = frame.set_axis(columns, axis=1)
    return renamed[names]


def as_predictions(raw: Any) -> np.ndarray[Any, Any]:
    """A model's answer as a 1-D array, or 2-D when it has several outputs per row."""
    if isinstance(raw, pd.DataFrame | pd.Series):
        raw = raw.to_numpy()
    values = np.atleast_1d(np.asarray(raw))
    if values.ndim == 2 and values.shape[1] == 1:
        return values.ravel()
    return values
