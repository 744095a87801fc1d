"""The monitoring benchmark's window as the prediction log stores it: compacted partitions
and label files, for `LabelStore.window` to read back.

The window's rows are those of the prejoined benchmark window, spread over one UTC day and
written as compaction writes them (`parquet/endpoint=<name>/date=<day>/part-<uuid>.parquet`,
zstd, sorted by `at_ms`, one file per compaction chunk of `ROWS_PER_FILE` rows, the columns of
`tables.BASE_SCHEMA` then `in_<name>` and `prediction`). The same rows, with other ids, fill
the days before and after, so a read that does not prune by window would read all of them.
Half of every day's predictions get a label and most of those an outcome, ingested through
`LabelStore.ingest` in several batches; then some window predictions are relabelled and some
get a later outcome-only label, so the latest-label rules decide their values.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steward.predictions import LabelStore, labels_from_table
from steward.predictions.layout import DAY_MS, partition_dir
from steward.predictions.tables import BASE_SCHEMA

__all__ = ["ENDPOINT", "write_log"]

ENDPOINT: Final = "churn"
ROWS_PER_FILE: Final = 40_000  # about what one 32 MB chunk of write-ahead segments holds
OTHER_DAYS: Final = (-2, -1, 1)  # relative to the window's day
LABEL_BATCHES: Final = 5
RELABELLED: Final = 0.1  # of the window's labels: a second label, the opposite class
OUTCOME_ONLY: Final = 0.05  # of the window's labels: a later label with only an outcome
_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def write_log(window: pa.Table, folder: Path, day: int) -> None:
    """Write `window`'s rows as the log of `day` (days since the epoch) and of the days
    around it under `folder`, then ingest their labels."""
    rng = np.random.default_rng(11)
    labels = []
    for offset in (0, *OTHER_DAYS):
        at_ms = (day + offset) * DAY_MS + np.sort(rng.integers(0, DAY_MS, window.num_rows))
        ids = _prediction_ids(rng, at_ms)
        _write_day(folder, _log_table(rng, window, at_ms, ids), day + offset)
        labels.append(_labels(rng, window, at_ms, ids))
    _ingest(folder, rng, pa.concat_tables(labels), labels[0])


def _log_table(
    rng: np.random.Generator, window: pa.Table, at_ms: np.ndarray, ids: pa.Array
) -> pa.Table:
    rows = window.num_rows
    inputs = [name for name in window.column_names if name.startswith("in_")]
    score = window.column("score")
    columns = {
        "prediction_id": ids,
        "at_ms": pa.array(at_ms),
        "endpoint": pa.repeat(pa.scalar(ENDPOINT), rows),
        "model_name": pa.repeat(pa.scalar(ENDPOINT), rows),
        "model_version": window.column("model_version"),
        "route": window.column("route"),
        "latency_ms": pa.array(rng.gamma(2.0, 0.4, rows)),
        "entity_key": _concat(
            "customer-", pc.cast(pa.array(rng.integers(0, 50_000, rows)), pa.string())
        ),
        "segment": _json_object({key: window.column(f"seg_{key}") for key in ("region", "device")}),
        "inputs": _json_object({name.removeprefix("in_"): window.column(name) for name in inputs}),
        "outputs": _concat(
            '{"prediction":',
            _json_value(window.column("prediction")),
            ',"probabilities":[',
            _json_value(pc.subtract(1.0, score)),
            ",",
            _json_value(score),
            "]}",
        ),
    }
    table = pa.table(columns, schema=BASE_SCHEMA)
    for name in inputs:
        table = table.append_column(name, window.column(name))
    return table.append_column("prediction", window.column("prediction"))


def _write_day(folder: Path, table: pa.Table, day: int) -> None:
    partition = partition_dir(folder, ENDPOINT, day)
    partition.mkdir(parents=True, exist_ok=True)
    for start in range(0, table.num_rows, ROWS_PER_FILE):
        part = table.slice(start, ROWS_PER_FILE)
        pq.write_table(part, partition / f"part-{uuid.uuid4().hex}.parquet", compression="zstd")


def _labels(
    rng: np.random.Generator, window: pa.Table, at_ms: np.ndarray, ids: pa.Array
) -> pa.Table:
    """The labels of one day's labelled predictions, observed up to three days later."""
    label = window.column("label").combine_chunks()
    sent = pc.is_valid(label).to_numpy(zero_copy_only=False)
    delay = rng.integers(60_000, 3 * DAY_MS, len(at_ms))
    return pa.table(
        {
            "prediction_id": ids.filter(sent),
            "label": label.filter(sent),
            "outcome_converted": window.column("outcome_converted").combine_chunks().filter(sent),
            "at_ms": pa.array((at_ms + delay)[sent]),
        }
    )


def _ingest(
    folder: Path, rng: np.random.Generator, labels: pa.Table, window_labels: pa.Table
) -> None:
    """Every label in `LABEL_BATCHES` shuffled batches, then the relabels and late outcomes."""
    store = LabelStore(folder)
    shuffled = labels.take(rng.permutation(labels.num_rows))
    size = -(-shuffled.num_rows // LABEL_BATCHES)
    for start in range(0, shuffled.num_rows, size):
        store.ingest(ENDPOINT, labels_from_table(shuffled.slice(start, size)))
    for batch in _later_labels(rng, window_labels):
        store.ingest(ENDPOINT, labels_from_table(batch))


def _later_labels(rng: np.random.Generator, labels: pa.Table) -> list[pa.Table]:
    """A second label for some of the window's labelled predictions, the opposite class;
    for others, a later label with only an outcome (the first label stays theirs)."""
    relabelled = int(labels.num_rows * RELABELLED)
    outcome_only = int(labels.num_rows * OUTCOME_ONLY)
    picked = labels.take(rng.choice(labels.num_rows, relabelled + outcome_only, replace=False))
    relabel = picked.slice(0, relabelled).select(["prediction_id", "at_ms", "label"])
    relabel = relabel.set_column(2, "label", pc.subtract(1.0, relabel.column("label")))
    late = picked.slice(relabelled).select(["prediction_id", "at_ms"])
    converted = pa.array(rng.random(late.num_rows) < 0.1, pa.float64())
    return [relabel, late.append_column("outcome_converted", converted)]


def _prediction_ids(rng: np.random.Generator, at_ms: np.ndarray) -> pa.Array:
    """Ids shaped like `new_prediction_id`: 12 hex digits of `at_ms`, then 20 random ones."""
    rows = len(at_ms)
    nibbles = np.empty((rows, 32), dtype=np.uint8)
    nibbles[:, :12] = (at_ms[:, None] >> np.arange(44, -4, -4, dtype=np.int64)) & 0xF
    nibbles[:, 12:] = rng.integers(0, 16, (rows, 20), dtype=np.uint8)
    offsets = pa.py_buffer(np.arange(0, 32 * rows + 1, 32, dtype=np.int32))
    return pa.StringArray.from_buffers(rows, offsets, pa.py_buffer(_HEX[nibbles].tobytes()))


def _json_object(fields: dict[str, pa.ChunkedArray]) -> pa.Array:
    """`{"name":value,...}` per row, as the writer's JSON (no spaces; missing values null)."""
    parts: list[str | pa.Array] = []
    for name, values in fields.items():
        parts += [("," if parts else "{") + f'"{name}":', _json_value(values)]
    return _concat(*parts, "}")


def _json_value(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    if pa.types.is_string(values.type):  # the benchmark's texts need no escaping
        return _concat('"', values, '"')
    return pc.cast(values, pa.string()).fill_null("null")


def _concat(*parts: str | pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")
