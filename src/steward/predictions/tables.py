"""Decoded prediction records to Arrow tables: the Parquet columns of the prediction log.

Fixed columns come first (`BASE_SCHEMA`). Then, per endpoint and compaction, one `in_<name>`
column per input whose values are all scalars of one kind (numbers, booleans or strings),
and `prediction` when the model's answers are scalars; the JSON columns `inputs` and
`outputs` always hold everything.
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import orjson
import pyarrow as pa

from steward.predictions.layout import DAY_MS

__all__ = ["BASE_SCHEMA", "INPUT_PREFIX", "PREDICTION_COLUMN", "TableBuilder", "split_by_day"]

log = logging.getLogger(__name__)

BASE_SCHEMA: Final = pa.schema(
    [
        ("prediction_id", pa.string()),
        ("at_ms", pa.int64()),
        ("endpoint", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.int64()),
        ("route", pa.string()),
        ("latency_ms", pa.float64()),
        ("entity_key", pa.string()),
        ("segment", pa.string()),  # JSON object text, e.g. {"country":"FR"}
        ("inputs", pa.string()),  # JSON object text: the whole input row
        ("outputs", pa.string()),  # JSON text: the whole answer
    ]
)
INPUT_PREFIX: Final = "in_"
PREDICTION_COLUMN: Final = "prediction"
_JSON_COLUMNS: Final = ("segment", "inputs", "outputs")
_PLAIN_SCHEMA: Final = pa.schema([f for f in BASE_SCHEMA if f.name not in _JSON_COLUMNS])
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError)
_PLAIN_FIELDS: Final = operator.itemgetter(*_PLAIN_SCHEMA.names)


class TableBuilder:
    """One endpoint's records, gathered as small tuples so no decoded record is kept.

    Rows whose inputs have the same names in the same order (nearly all of them) share a
    shape; each shape's rows are transposed into columns at once when the table is built.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._plain: list[tuple[Any, ...]] = []
        self._json = {name: _JsonColumn() for name in _JSON_COLUMNS}
        # input names -> (row numbers, input values of those rows)
        self._shapes: dict[tuple[str, ...], tuple[list[int], list[tuple[Any, ...]]]] = {}
        self._answers: list[Any] = []

    def add(self, record: dict[str, Any]) -> None:
        """Take one decoded record (its JSON values)."""
        try:
            self._plain.append(_PLAIN_FIELDS(record))
        except KeyError:  # not written by this version's writer: keep what is there
            self._plain.append(tuple(record.get(f.name) for f in _PLAIN_SCHEMA))
        for name, column in self._json.items():
            column.append(record.get(name))
        inputs = record.get("inputs")
        if isinstance(inputs, dict):
            rows, values = self._shapes.setdefault(tuple(inputs), ([], []))
            rows.append(self.rows)
            values.append(tuple(inputs.values()))
        outputs = record.get("outputs")
        self._answers.append(
            outputs.get(PREDICTION_COLUMN) if isinstance(outputs, dict) else outputs
        )
        self.rows += 1

    def table(self) -> pa.Table:
        """The rows so far, sorted by `at_ms`."""
        table = _plain_table(self._plain)
        for name, column in self._json.items():
            table = table.append_column(name, column.array())
        for name, values in self._input_columns().items():
            array = _scalar_array(values)
            if array is not None:
                table = table.append_column(f"{INPUT_PREFIX}{name}", array)
        answers = _scalar_array(self._answers)
        if answers is not None:
            table = table.append_column(PREDICTION_COLUMN, answers)
        return table.sort_by("at_ms")

    def _input_columns(self) -> dict[str, list[Any]]:
        """Input name -> one value per row (None where a row lacks the input)."""
        if len(self._shapes) == 1:
            [(names, (rows, values))] = self._shapes.items()
            if len(rows) == self.rows:  # every row has the same inputs: transpose at C speed
                return dict(zip(names, map(list, zip(*values, strict=True)), strict=True))
        columns: dict[str, list[Any]] = {}
        for names, (rows, values) in self._shapes.items():
            for name, column_values in zip(names, zip(*values, strict=True), strict=True):
                column = columns.setdefault(name, [None] * self.rows)
                for row, value in zip(rows, column_values, strict=True):
                    column[row] = value
        return columns


class _JsonColumn:
    """A string column of JSON texts, written into one buffer as they come."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._offsets = [0]
        self._is_valid: list[bool] = []

    def append(self, value: Any) -> None:  # a decoded JSON value
        if value is not None:
            self._data += orjson.dumps(value)
        self._is_valid.append(value is not None)
        self._offsets.append(len(self._data))

    def array(self) -> pa.Array:
        validity = None if all(self._is_valid) else pa.array(self._is_valid).buffers()[1]
        buffers = [
            validity,
            pa.py_buffer(np.array(self._offsets, np.int64)),
            pa.py_buffer(self._data),
        ]
        texts = pa.Array.from_buffers(pa.large_string(), len(self._is_valid), buffers)
        return texts.cast(pa.string())


def split_by_day(table: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """(UTC day since the epoch, rows of that day) of a table sorted by `at_ms`."""
    days = table.column("at_ms").fill_null(0).to_numpy() // DAY_MS
    bounds = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(days)]
    for start, end in itertools.pairwise(bounds):
        if end > start:
            yield int(days[start]), table.slice(start, end - start)


def _scalar_array(values: list[Any]) -> pa.Array | None:
    """The values as one Arrow array of numbers, booleans or strings; None if they are not."""
    try:
        array = pa.array(values)
    except _ARROW_ERRORS:  # mixed kinds (e.g. numbers and strings): JSON column only
        return None
    kind = array.type
    is_scalar = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    return array if is_scalar or pa.types.is_boolean(kind) or pa.types.is_string(kind) else None


def _plain_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """The columns of `_PLAIN_SCHEMA` (every fixed one but the JSON texts) from row tuples."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in _PLAIN_SCHEMA]
    try:
        return pa.Table.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(columns, _PLAIN_SCHEMA, strict=True)],
            schema=_PLAIN_SCHEMA,
        )
    except _ARROW_ERRORS:
        # A writer bug must not jam compaction for good: keep the rows, null what cannot fit.
        log.warning("prediction records have values of the wrong type")
        return pa.Table.from_arrays(
            [
                pa.array([_coerced(v, f.type) for v in c], type=f.type)
                for c, f in zip(columns, _PLAIN_SCHEMA, strict=True)
            ],
            schema=_PLAIN_SCHEMA,
        )


def _coerced(value: Any, kind: pa.DataType) -> Any:  # one decoded JSON value
    try:
        return pa.scalar(value, type=kind).as_py()
    except _ARROW_ERRORS:
        return None
