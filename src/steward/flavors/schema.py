"""Input and output schemas of a model version: column names and portable type names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from steward.flavors.inputs import to_table
from steward.flavors.loading import LoadedModel
from steward.flavors.registry import detect_flavor

__all__ = ["infer_output_schema", "infer_schema"]

# NumPy dtype kind -> the portable type name stored in a version's schema.
_KINDS = {
    "b": "boolean",
    "i": "integer",
    "u": "integer",
    "f": "float",
    "c": "complex",
    "M": "datetime",
    "m": "timedelta",
    "U": "string",
    "S": "bytes",
}


def _type_name(values: pd.Series[Any]) -> str:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_string_dtype(values):
        return "string"
    return _KINDS.get(getattr(dtype, "kind", "O"), "object")


def infer_schema(data: Any) -> list[dict[str, str]]:
    """One ``{"name", "type", "dtype"}`` entry per column of a DataFrame, array or list of dicts.

    ``type`` is one of boolean, integer, float, complex, string, bytes, datetime, timedelta,
    category or object; array columns are named by position ("0", "1", ...).

    Raises:
        InvalidInput: ``data`` is empty or of an unsupported type.
    """
    table = to_table(data)
    frame = table if isinstance(table, pd.DataFrame) else _array_frame(table)
    return [
        {"name": str(name), "type": _type_name(frame[name]), "dtype": str(frame[name].dtype)}
        for name in frame.columns
    ]


def _array_frame(array: np.ndarray[Any, Any]) -> pd.DataFrame:
    if array.ndim == 1:
        return pd.DataFrame({0: array})
    return pd.DataFrame(array.reshape(array.shape[0], -1))


def infer_output_schema(model: Any, sample: Any) -> list[dict[str, str]]:
    """The schema of ``model``'s predictions on ``sample`` (a few rows of training data).

    ``model`` is a ``LoadedModel`` or a native model (``Any``: the user's object). A single
    output is named ``prediction``; several are ``prediction_0``, ``prediction_1``...

    Raises:
        InvalidInput: no flavor knows ``model``, or ``sample`` is unusable.
    """
    loaded = (
        model if isinstance(model, LoadedModel) else LoadedModel(detect_flavor(model).name, model)
    )
    predictions = loaded.predict(sample)
    schema = infer_schema(predictions)
    if len(schema) == 1:
        return [{**schema[0], "name": "prediction"}]
    return [{**entry, "name": f"prediction_{entry['name']}"} for entry in schema]
