"""Turning decoded request rows into what a model is called with, as cheaply as possible.

A scikit-learn model on a one-row DataFrame spends most of its time in pandas; on a NumPy
array of the same values it is several times faster. `MatrixInput` is that fast path, used
only when every feature is numeric and a probe at load time showed both inputs give the
same answer; `FrameInput` serves every other model through its flavor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from steward.errors import InvalidInput

__all__ = ["FrameInput", "InputBuilder", "MatrixInput", "Row", "check_columns"]

Row = Mapping[str, Any]  # Any: one row of a caller's JSON, column name to value


class InputBuilder(Protocol):
    """Builds a model's input from request rows; raises InvalidInput naming a bad cell."""

    def build(self, rows: Sequence[Row]) -> Any: ...  # Any: an array or a frame


class MatrixInput:
    """A float64 matrix with the columns in training order (numeric models only)."""

    __slots__ = ("features",)

    def __init__(self, features: Sequence[str]) -> None:
        self.features = tuple(features)

    def build(self, rows: Sequence[Row]) -> np.ndarray[Any, Any]:
        """Raises: InvalidInput: a row lacks a feature or holds a value that is no number."""
        features = self.features
        try:
            return np.array([[row[name] for name in features] for row in rows], dtype=np.float64)
        except (KeyError, ValueError, TypeError):
            check_columns(rows, features)
            raise _first_non_number(rows, features) from None


class FrameInput:
    """A DataFrame with the training columns (when known), for the flavor's own predict."""

    __slots__ = ("features",)

    def __init__(self, features: Sequence[str] | None) -> None:
        self.features = None if features is None else list(features)

    def build(self, rows: Sequence[Row]) -> pd.DataFrame:
        """Raises: InvalidInput: a row lacks a training column."""
        if self.features is None:
            return pd.DataFrame.from_records(list(rows))
        check_columns(rows, self.features)
        return pd.DataFrame.from_records(list(rows), columns=self.features)


def check_columns(rows: Sequence[Row], features: Sequence[str]) -> None:
    """Raises: InvalidInput naming the first row and column missing from the request."""
    for index, row in enumerate(rows):
        for name in features:
            if name not in row:
                raise InvalidInput(
                    f"row {index} lacks column {name!r}; the model expects {', '.join(features)}",
                    field=f"row[{index}].{name}",
                    details=[{"row": index, "column": name, "kind": "missing_column"}],
                )


def _first_non_number(rows: Sequence[Row], features: Sequence[str]) -> InvalidInput:
    for index, row in enumerate(rows):
        for name in features:
            value = row[name]
            if value is None:  # NumPy reads null as NaN
                continue
            try:
                float(value)
            except (TypeError, ValueError):
                return InvalidInput(
                    f"row {index}, column {name!r}: value {value!r} is not a number; "
                    "the model takes numbers (or null) for every feature",
                    field=f"row[{index}].{name}",
                    details=[{"row": index, "column": name, "kind": "wrong_type"}],
                )
    return InvalidInput("the rows cannot be read as one table of numbers")
