"""Steward's native protocol and MLflow's scoring protocol: request bodies to rows, answers
to bytes.

Bodies are decoded with orjson straight from the raw bytes and checked by hand: a caller's
mistake (malformed JSON, a wrong shape, an unknown field) is an `InvalidInput` naming the
field and what would be accepted, never a 500. The Open Inference Protocol is in `v2.py`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from steward.errors import InvalidInput, StewardError
from steward.serving.inputs import Row
from steward.serving.service import Answer

__all__ = [
    "MLFLOW_FORMATS",
    "NATIVE_FIELDS",
    "UnsupportedMediaType",
    "load_json",
    "mlflow_body",
    "mlflow_error",
    "native_body",
    "native_error",
    "parse_mlflow",
    "parse_native",
    "rows_from_columns",
    "rows_from_records",
    "rows_from_split",
]

NATIVE_FIELDS = frozenset({"instances", "columns", "data", "probabilities"})
MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_MLFLOW_FIELDS = frozenset({*MLFLOW_FORMATS, "params"})
_NATIVE_FORMS = (
    '{"instances": [{"column": value, ...}, ...]} or '
    '{"columns": ["column", ...], "data": [[value, ...], ...]}'
)
_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}


class UnsupportedMediaType(InvalidInput):
    """The request's Content-Type is not one this route reads (HTTP 415)."""

    status_code = 415


def load_json(body: bytes) -> Any:  # Any: whatever JSON the caller sent
    """Raises: InvalidInput: the body is empty or not JSON (the parser's words included)."""
    if not body:
        raise InvalidInput("request body is empty; send a JSON document", field="body")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}", field="body") from None


# Native ---------------------------------------------------------------------------------


def parse_native(body: bytes, features: Sequence[str] | None) -> tuple[list[Row], bool]:
    """The rows of a `POST /predict` body, and whether probabilities are wanted (default yes).

    Raises:
        InvalidInput: not a JSON object, an unknown field, or rows of the wrong shape.
    """
    data = load_json(body)
    if type(data) is not dict:
        raise InvalidInput(f"request body must be {_NATIVE_FORMS}; got {_kind(data)}")
    unknown = data.keys() - NATIVE_FIELDS
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(sorted(map(repr, unknown)))}; accepted: {_NATIVE_FORMS}"
            ', plus "probabilities": true|false',
            field=sorted(unknown)[0],
        )
    probabilities = data.get("probabilities", True)
    if type(probabilities) is not bool:
        raise InvalidInput(
            f"'probabilities' must be true or false, got {probabilities!r}", field="probabilities"
        )
    if "instances" in data:
        if "columns" in data or "data" in data:
            raise InvalidInput(f"send either 'instances' or 'columns' and 'data': {_NATIVE_FORMS}")
        return rows_from_instances(data["instances"], features, "instances"), probabilities
    if "columns" in data and "data" in data:
        return rows_from_split(data["columns"], data["data"], ""), probabilities
    raise InvalidInput(f"request body has no rows; send {_NATIVE_FORMS}", field="instances")


def native_body(answer: Answer) -> bytes:
    body: dict[str, Any] = {
        "predictions": answer.predictions,
        "prediction_ids": answer.prediction_ids,
        "model_name": answer.model_name,
        "model_version": answer.model_version,
        "route": answer.route,
    }
    if answer.probabilities is not None:
        body["probabilities"] = answer.probabilities
    return orjson.dumps(body)


def native_error(exc: StewardError) -> bytes:
    return orjson.dumps(exc.to_dict(), default=str)


# MLflow ---------------------------------------------------------------------------------


def parse_mlflow(
    body: bytes, content_type: str | None, features: Sequence[str] | None
) -> list[Row]:
    """The rows of a `POST /invocations` body, as MLflow's scoring server reads them.

    JSON holds exactly one of `dataframe_split`, `dataframe_records`, `instances`, `inputs`
    (plus optional `params`); `text/csv` is a header line then one line per row.

    Raises:
        InvalidInput: a malformed body (the accepted formats are named).
        UnsupportedMediaType: a Content-Type other than JSON or CSV.
    """
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media == "text/csv":
        return rows_from_csv(body)
    if media != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported; use application/json or text/csv"
        )
    data = load_json(body)
    if type(data) is not dict:
        raise InvalidInput(
            f"request body must be a JSON object with one of {', '.join(MLFLOW_FORMATS)}; "
            f"got {_kind(data)}"
        )
    present = [key for key in MLFLOW_FORMATS if key in data]
    unknown = data.keys() - _MLFLOW_FIELDS
    if len(present) != 1 or unknown:
        raise InvalidInput(
            "request body must hold exactly one of "
            f"{', '.join(MLFLOW_FORMATS)} (and optionally params); got fields "
            f"{', '.join(sorted(data)) or 'none'}"
        )
    return _mlflow_rows(present[0], data[present[0]], features)


def _mlflow_rows(form: str, value: Any, features: Sequence[str] | None) -> list[Row]:
    if form == "dataframe_split":
        if type(value) is not dict:
            raise InvalidInput(
                'dataframe_split must be {"columns": [...], "data": [[...], ...]}; '
                f"got {_kind(value)}",
                field=form,
            )
        return rows_from_split(value.get("columns"), value.get("data"), f"{form}.")
    if form == "dataframe_records":
        return rows_from_records(value, form)
    if type(value) is dict:
        return rows_from_columns(value, form)
    return rows_from_instances(value, features, form)


def mlflow_body(answer: Answer) -> bytes:
    return orjson.dumps({"predictions": answer.predictions})


def mlflow_error(exc: StewardError) -> bytes:
    """MLflow's error keys (`error_code`, `message`) next to Steward's `error` object."""
    if exc.status_code < 500:
        code = "BAD_REQUEST"
    else:
        code = "TEMPORARILY_UNAVAILABLE" if exc.status_code == 503 else "INTERNAL_ERROR"
    return orjson.dumps({"error_code": code, "message": exc.message, **exc.to_dict()}, default=str)


# Shapes of rows -------------------------------------------------------------------------


def rows_from_records(value: Any, field: str) -> list[Row]:
    """A list of objects, one per row.

    Raises:
        InvalidInput: not a non-empty list, or an element that is not an object.
    """
    if type(value) is not list or not value:
        raise InvalidInput(
            f"{field!r} must be a non-empty list of rows; got {_kind(value)}", field=field
        )
    for index, row in enumerate(value):
        if type(row) is not dict:
            raise InvalidInput(
                f"{field}[{index}] must be an object of column names to values; got {_kind(row)}",
                field=f"{field}[{index}]",
            )
    return value


def rows_from_instances(value: Any, features: Sequence[str] | None, field: str) -> list[Row]:
    """Objects (one per row), or lists of values in the model's feature order.

    Raises:
        InvalidInput: a wrong shape, or lists when the feature order is unknown.
    """
    if type(value) is list and value and type(value[0]) is list:
        return _positional(value, features, field)
    return rows_from_records(value, field)


def rows_from_split(columns: Any, data: Any, prefix: str) -> list[Row]:
    """Column names plus one list of values per row (pandas' "split" orientation).

    Raises:
        InvalidInput: columns not unique strings, or a row of the wrong length.
    """
    if type(columns) is not list or not columns or set(map(type, columns)) != {str}:
        raise InvalidInput(
            f"'{prefix}columns' must be a non-empty list of column names; got {_kind(columns)}",
            field=f"{prefix}columns",
        )
    if len(set(columns)) != len(columns):
        raise InvalidInput(f"'{prefix}columns' names a column twice", field=f"{prefix}columns")
    if type(data) is not list or not data:
        raise InvalidInput(
            f"'{prefix}data' must be a non-empty list of rows; got {_kind(data)}",
            field=f"{prefix}data",
        )
    width = len(columns)
    for index, row in enumerate(data):
        if type(row) is not list or len(row) != width:
            raise InvalidInput(
                f"{prefix}data[{index}] must be a list of {width} values (one per column); "
                f"got {_kind(row)}",
                field=f"{prefix}data[{index}]",
            )
    return [dict(zip(columns, row, strict=True)) for row in data]


def rows_from_columns(value: Mapping[str, Any], field: str) -> list[Row]:
    """A mapping of column name to a list of values (or one value: a single row).

    Raises:
        InvalidInput: columns of different lengths, or an empty mapping.
    """
    if not value:
        raise InvalidInput(f"{field!r} names no column", field=field)
    columns = {name: v if type(v) is list else [v] for name, v in value.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise InvalidInput(
            f"every column of {field!r} must hold the same, non-zero number of values; "
            f"got lengths {sorted(lengths)}",
            field=field,
        )
    count = lengths.pop()
    return [{name: values[i] for name, values in columns.items()} for i in range(count)]


def rows_from_csv(body: bytes) -> list[Row]:
    """A header line, then one line per row; numbers and booleans are read as such.

    Raises:
        InvalidInput: not UTF-8, no header, no rows, or a line of the wrong width.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"CSV body is not UTF-8 text: {exc}", field="body") from None
    lines = [line for line in csv.reader(io.StringIO(text)) if line]
    if len(lines) < 2:
        raise InvalidInput("CSV body needs a header line and at least one row", field="body")
    header, *data = lines
    for index, line in enumerate(data):
        if len(line) != len(header):
            raise InvalidInput(
                f"CSV row {index} has {len(line)} values; the header names {len(header)} columns",
                field=f"row[{index}]",
            )
    return [dict(zip(header, map(_cell, line), strict=True)) for line in data]


def _positional(value: list[Any], features: Sequence[str] | None, field: str) -> list[Row]:
    if not features:
        raise InvalidInput(
            f"{field!r} holds lists of values but the model's feature order is unknown; "
            "send objects of column names to values",
            field=field,
        )
    width = len(features)
    for index, row in enumerate(value):
        if type(row) is not list or len(row) != width:
            raise InvalidInput(
                f"{field}[{index}] must be a list of {width} values in the order "
                f"{', '.join(features)}; got {_kind(row)}",
                field=f"{field}[{index}]",
            )
    return [dict(zip(features, row, strict=True)) for row in value]


def _cell(text: str) -> Any:  # Any: the value a CSV cell reads as
    if text == "":
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is list:
        return f"a list of {len(value)}"
    return _JSON_TYPES.get(type(value), f"a {type(value).__name__}")
