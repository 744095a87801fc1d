"""Input datasets: a content fingerprint of a data frame, and its link to the runs that read it.

The fingerprint is the same for the same data whichever library holds it (pandas, pyarrow,
polars, NumPy): the table goes through Arrow, its types are put in a canonical form (string
and binary widths, dictionaries decoded, NaN counted as missing), and each column is hashed
as its validity mask plus its non-missing values in Arrow IPC form. Row order, column order
and column names count; a pandas index does not.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from steward.errors import InvalidInput, NotFound
from steward.store import Store, new_id
from steward.tracking import db
from steward.tracking.entities import Dataset, DatasetInfo
from steward.tracking.hydrate import dataset_from_row
from steward.tracking.lifecycle import logging_to
from steward.tracking.validation import check_integer, check_json, check_name

__all__ = ["MAX_CONTEXT_CHARS", "fingerprint_frame", "get_dataset", "log_dataset"]

MAX_CONTEXT_CHARS = 64
_DIGEST = re.compile(r"[0-9a-f]{64}")
_CANONICAL = {
    pa.string(): pa.large_string(),
    pa.string_view(): pa.large_string(),
    pa.binary(): pa.large_binary(),
    pa.binary_view(): pa.large_binary(),
}
_SHOWN = {pa.large_string(): "string", pa.large_binary(): "binary"}


def fingerprint_frame(frame: Any) -> DatasetInfo:  # Any: a frame of any supported library
    """The content digest (sha256), shape and schema of a data frame.

    Accepts a pandas DataFrame or Series, a pyarrow Table or RecordBatch, a polars
    DataFrame, or a 1-d / 2-d NumPy array (columns named "0", "1", ...).

    Raises:
        InvalidInput: another kind of object, or a column Arrow cannot represent.
    """
    table = _canonical(_to_arrow(frame))
    digest = hashlib.sha256()
    schema = [{"name": f.name, "type": _SHOWN.get(f.type, str(f.type))} for f in table.schema]
    digest.update(repr(schema).encode())
    for column in table.columns:
        _hash_column(digest, column.combine_chunks())
    return DatasetInfo(digest.hexdigest(), table.num_rows, table.num_columns, schema)


def log_dataset(
    store: Store,
    run_id: str,
    info_or_frame: DatasetInfo | Any,  # Any: a frame, as fingerprint_frame accepts
    *,
    name: str,
    context: str = "training",
    contract: Mapping[str, Any] | None = None,
    profile: Mapping[str, Any] | None = None,
) -> Dataset:
    """Record that a running run read a dataset, registering the dataset if it is new.

    Datasets are unique by (name, digest): logging the same data again reuses the record.
    A contract or profile fills in one the record lacks; an existing one is kept.

    Raises:
        InvalidInput: a bad name, context, fingerprint, contract or profile.
        NotFound: no such run.
        Conflict: the run has ended.
    """
    info = (
        info_or_frame
        if isinstance(info_or_frame, DatasetInfo)
        else fingerprint_frame(info_or_frame)
    )
    row = _dataset_row(store, _checked_info(info), name, contract, profile)
    check_name(context, "context", "dataset context", MAX_CONTEXT_CHARS)
    with logging_to(store, run_id) as conn:
        stored = db.insert_dataset(conn, row)
        missing = {k: row[k] for k in ("contract", "profile") if row[k] and not stored._mapping[k]}
        if missing:
            db.update_dataset_documents(conn, stored.id, missing)
        db.link_run_input(conn, run_id, stored.id, context)
        found = db.select_dataset(conn, stored.id)
    if found is None:  # pragma: no cover - selected in the same transaction
        raise NotFound(f"dataset {stored.id} vanished while being logged")
    return dataset_from_row(found)


def get_dataset(store: Store, dataset_id: str) -> Dataset:
    """A dataset by id, with its contract and profile.

    Raises:
        NotFound: no such dataset.
    """
    with store.db.read() as conn:
        row = db.select_dataset(conn, dataset_id)
    if row is None:
        raise NotFound(f"no dataset {dataset_id!r}", field="dataset_id")
    return dataset_from_row(row)


def _dataset_row(
    store: Store,
    info: DatasetInfo,
    name: str,
    contract: Mapping[str, Any] | None,
    profile: Mapping[str, Any] | None,
) -> dict[str, Any]:
    for field, document in (("contract", contract), ("profile", profile)):
        if document is not None and not isinstance(document, Mapping):
            raise InvalidInput(f"{field} must be a JSON object", field=field)
    return {
        "id": new_id(),
        "name": check_name(name, "name", "dataset name"),
        "digest": info.digest,
        "num_rows": info.num_rows,
        "num_columns": info.num_columns,
        "schema": info.schema,
        "contract": None if contract is None else dict(check_json(contract, "contract")),
        "profile": None if profile is None else dict(check_json(profile, "profile")),
        "created_at_ms": store.clock(),
    }


def _checked_info(info: DatasetInfo) -> DatasetInfo:
    """A fingerprint sent by a client: a sha256 digest, counts, a list of {name, type}."""
    if not isinstance(info.digest, str) or not _DIGEST.fullmatch(info.digest):
        raise InvalidInput(
            f"dataset digest {info.digest!r} is not a sha256 hex digest (64 characters 0-9a-f)",
            field="digest",
        )
    for field, count in (("num_rows", info.num_rows), ("num_columns", info.num_columns)):
        if check_integer(count, field, field) < 0:
            raise InvalidInput(f"{field} {count} is negative", field=field)
    is_schema = isinstance(info.schema, list) and all(
        isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("type"), str)
        for c in info.schema
    )
    if not is_schema:
        raise InvalidInput(
            'dataset schema must be a list of {"name": str, "type": str}', field="schema"
        )
    return info


def _to_arrow(frame: Any) -> pa.Table:  # Any: see fingerprint_frame
    try:
        if isinstance(frame, pa.Table):
            return frame
        if isinstance(frame, pa.RecordBatch):
            return pa.Table.from_batches([frame])
        if isinstance(frame, pd.Series):
            frame = frame.to_frame()
        if isinstance(frame, pd.DataFrame):
            return pa.Table.from_pandas(frame, preserve_index=False)
        if type(frame).__module__.split(".")[0] == "polars" and hasattr(frame, "to_arrow"):
            table: pa.Table = frame.to_arrow()
            return table
        if isinstance(frame, np.ndarray) and frame.ndim in (1, 2):
            columns = frame.reshape(len(frame), -1).T
            return pa.table({str(i): column for i, column in enumerate(columns)})
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InvalidInput(f"the data cannot be fingerprinted: {exc}", field="data") from None
    raise InvalidInput(
        f"cannot fingerprint a {type(frame).__module__}.{type(frame).__name__}; pass a "
        "pandas, pyarrow or polars data frame, or a 1-d or 2-d NumPy array",
        field="data",
    )


def _canonical(table: pa.Table) -> pa.Table:
    columns = [_canonical_column(column.combine_chunks()) for column in table.columns]
    # A fresh table drops pandas and polars metadata from the schema.
    return pa.table(columns, names=table.column_names)


def _canonical_column(array: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if array.type in _CANONICAL:
        array = array.cast(_CANONICAL[array.type])
    if pa.types.is_floating(array.type):
        # pandas turns NaN into a null on the way to Arrow; do the same for everyone.
        array = pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
    return array


def _hash_column(digest: Any, array: pa.Array) -> None:  # Any: a hashlib hash object
    validity = array.is_valid().to_numpy(zero_copy_only=False)
    digest.update(np.packbits(validity).tobytes())
    values = array.filter(validity) if array.null_count else array
    sink = pa.BufferOutputStream()
    batch = pa.record_batch([values], names=["v"])
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    digest.update(sink.getvalue())
