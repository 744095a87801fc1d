"""One window of predictions LEFT JOINed to their latest labels, in one DuckDB query.

Only the window's partitions are read, and labels are aggregated only for the window's
prediction ids, so memory follows the window, not the log. For each prediction, each label
field takes the value of the latest label that sent it (by batch sequence, then position
in the batch): a later label that only sends outcomes keeps the earlier label value.

A first, narrow pass reads the window's prediction ids (for the labels to keep) and whether
any row lacks a segment key in its segment; only then is the wide `inputs` text read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from steward.predictions.label_batches import OUTCOME_PREFIX
from steward.predictions.tables import INPUT_PREFIX, PREDICTION_COLUMN

__all__ = ["WindowQuery", "joined_window"]

_EMPTY_PREDICTIONS: Final = (
    "(SELECT NULL::VARCHAR AS prediction_id, NULL::BIGINT AS at_ms, "
    "NULL::BIGINT AS model_version, NULL::VARCHAR AS route, NULL::VARCHAR AS segment, "
    "NULL::VARCHAR AS inputs, NULL::VARCHAR AS outputs WHERE false)"
)
_EMPTY_LABELS: Final = (
    "(SELECT NULL::VARCHAR AS prediction_id, NULL::DOUBLE AS label_value, "
    "NULL::VARCHAR AS label_text, NULL::BIGINT AS labelled_at_ms, NULL::BIGINT AS batch_seq, "
    "NULL::INTEGER AS batch_row WHERE false)"
)
_SOURCE: Final = "read_parquet(${}, hive_partitioning = false, union_by_name = true)"
# The probability of the positive class, for a binary classifier's answer.
_SCORE: Final = (
    "CASE WHEN json_array_length(p.outputs, '$.probabilities') = 2 THEN "
    "TRY_CAST(json_extract_string(p.outputs, '$.probabilities[1]') AS DOUBLE) END"
)
_LATEST_LABEL: Final = "FILTER (WHERE label_text IS NOT NULL)"
_IN_WINDOW: Final = "at_ms >= $start AND at_ms < $end AND list_contains($routes, route)"
# The window's prediction ids from the first pass, so the wide read is not kept twice.
_WINDOW_IDS: Final = "window_ids"


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """What `joined_window` reads: the files, the window and the columns asked for.

    Attributes:
        prediction_files: the endpoint's prediction Parquet files overlapping the window.
        label_files: the endpoint's label files.
        start_ms: window start, inclusive; end_ms: window end, exclusive.
        routes: the routes kept.
        features: input names for `in_<name>` columns; None: every input column.
        segments: segment keys for `seg_<key>` columns.
        outcomes: outcome names for `outcome_<name>` columns; None: every outcome stored.
    """

    prediction_files: Sequence[str]
    label_files: Sequence[str]
    start_ms: int
    end_ms: int
    routes: Sequence[str]
    features: Sequence[str] | None
    segments: Sequence[str]
    outcomes: Sequence[str] | None


def joined_window(query: WindowQuery) -> pa.Table:
    """The window's predictions with their latest labels, oldest first (see `LabelStore.window`)."""
    parameters: dict[str, object] = {
        "start": query.start_ms,
        "end": query.end_ms,
        "routes": list(query.routes),
        **{f"seg{i}": _pointer(key) for i, key in enumerate(query.segments)},
    }
    if query.prediction_files:
        parameters["prediction_files"] = list(query.prediction_files)
    with duckdb.connect() as conn:
        predicted = _columns(conn, query.prediction_files)
        labelled = _columns(conn, query.label_files)
        from_inputs, id_range = _window_ids(conn, query, parameters)
        parameters |= id_range
        if query.label_files:
            parameters["label_files"] = list(query.label_files)
        sql = _sql(query, predicted, labelled, from_inputs)
        table = conn.sql(sql, params=parameters).to_arrow_table()
    return _with_label_column(table)


def _window_ids(
    conn: duckdb.DuckDBPyConnection, query: WindowQuery, parameters: dict[str, object]
) -> tuple[list[bool], dict[str, object]]:
    """Register the window's prediction ids as `_WINDOW_IDS`; returns, per segment key,
    whether some row's segment lacks it, and the ids' range (`first_id`, `last_id`)."""
    missing = [
        f"json_extract_string(segment, $seg{i}) IS NULL AS missing{i}"
        for i in range(len(query.segments))
    ]
    sql = (
        f"SELECT {', '.join(['prediction_id', *missing])} FROM {_predictions(query)} "
        f"WHERE {_IN_WINDOW}"
    )
    ids = conn.sql(sql, params=parameters).to_arrow_table()
    conn.register(_WINDOW_IDS, ids.select(["prediction_id"]))
    from_inputs = [pc.any(ids.column(name)).as_py() is True for name in ids.column_names[1:]]
    # Ids that sort by time (`new_prediction_id`) make this range drop most other labels
    # before the hash join; other ids only make it wide.
    first, last = pc.min_max(ids.column("prediction_id")).values()
    return from_inputs, {"first_id": first.as_py(), "last_id": last.as_py()}


def _columns(conn: duckdb.DuckDBPyConnection, files: Sequence[str]) -> list[str]:
    """The union of the files' column names (read from their footers only)."""
    if not files:
        return []
    relation = conn.sql(f"SELECT * FROM {_SOURCE.format('files')}", params={"files": list(files)})
    return list(relation.columns)


def _predictions(query: WindowQuery) -> str:
    return _SOURCE.format("prediction_files") if query.prediction_files else _EMPTY_PREDICTIONS


def _sql(
    query: WindowQuery, predicted: list[str], labelled: list[str], from_inputs: list[bool]
) -> str:
    """The window joined to its labels; `from_inputs[i]`: some row's segment lacks key i."""
    inputs = _input_columns(query.features, predicted)
    outcomes = _outcome_columns(query.outcomes, labelled)
    prediction = (
        f"p.{PREDICTION_COLUMN}"
        if PREDICTION_COLUMN in predicted
        else f"NULL::DOUBLE AS {PREDICTION_COLUMN}"
    )
    segments = [
        (
            f"coalesce(json_extract_string(p.segment, $seg{i}), "
            f"json_extract_string(p.inputs, $seg{i}))"
            if from_inputs[i]
            else f"json_extract_string(p.segment, $seg{i})"
        )
        + f" AS {_quote('seg_' + key)}"
        for i, key in enumerate(query.segments)
    ]
    wanted = {c for c in inputs.values() if c is not None}
    kept = ["prediction_id", "at_ms", "model_version", "route", "segment", "outputs"]
    kept += ["inputs"] if any(from_inputs) else []
    kept += [c for c in predicted if c in wanted or c == PREDICTION_COLUMN]
    labels = _SOURCE.format("label_files") if query.label_files else _EMPTY_LABELS
    select = [
        "p.prediction_id",
        "p.at_ms",
        "p.model_version",
        "p.route",
        *(
            f"p.{_quote(column)}" if column else f"NULL::DOUBLE AS {_quote(name)}"
            for name, column in inputs.items()
        ),
        prediction,
        f"{_SCORE} AS score",
        "l.label_value",
        "l.label_text",
        "l.labelled_at_ms",
        *(f"l.{_quote(name)}" for name in outcomes),
        *segments,
    ]
    return f"""
        WITH p AS (
            SELECT {", ".join(_quote(c) for c in kept)} FROM {_predictions(query)}
            WHERE {_IN_WINDOW}
        ),
        l AS (
            SELECT prediction_id,
                {_latest_labels(outcomes, labelled)}
            FROM (
                SELECT *, (batch_seq << 32) + batch_row AS k FROM {labels}
                WHERE prediction_id BETWEEN $first_id AND $last_id
            )
            WHERE prediction_id IN (SELECT prediction_id FROM {_WINDOW_IDS})
            GROUP BY prediction_id
        )
        SELECT {", ".join(select)}
        FROM p LEFT JOIN l ON l.prediction_id = p.prediction_id
        ORDER BY p.at_ms, p.prediction_id
    """


def _input_columns(features: Sequence[str] | None, predicted: list[str]) -> dict[str, str | None]:
    """`in_<name>` -> the column to read, None when no file has it (an all-null column)."""
    if features is None:
        return {c: c for c in predicted if c.startswith(INPUT_PREFIX)}
    names = [f"{INPUT_PREFIX}{feature}" for feature in features]
    return {name: name if name in predicted else None for name in names}


def _outcome_columns(outcomes: Sequence[str] | None, labelled: list[str]) -> list[str]:
    if outcomes is None:
        return [c for c in labelled if c.startswith(OUTCOME_PREFIX)]
    return [f"{OUTCOME_PREFIX}{name}" for name in outcomes]


def _latest_labels(outcomes: list[str], labelled: list[str]) -> str:
    """Per prediction id, each field from the latest label that sent it."""
    fields = [
        f"arg_max(label_value, k) {_LATEST_LABEL} AS label_value",
        f"arg_max(label_text, k) {_LATEST_LABEL} AS label_text",
        f"coalesce(arg_max(labelled_at_ms, k) {_LATEST_LABEL}, arg_max(labelled_at_ms, k)) "
        "AS labelled_at_ms",
    ]
    for name in outcomes:
        column = _quote(name)
        fields.append(
            f"arg_max({column}, k) FILTER (WHERE {column} IS NOT NULL) AS {column}"
            if name in labelled
            else f"NULL::DOUBLE AS {column}"
        )
    return ",\n                ".join(fields)


def _with_label_column(table: pa.Table) -> pa.Table:
    """`label`: the numbers when every label in the window is numeric, else the texts."""
    values, texts = table.column("label_value"), table.column("label_text")
    is_numeric = values.null_count == texts.null_count
    index = table.column_names.index("label_value")
    table = table.set_column(index, "label", values if is_numeric else texts)
    return table.drop_columns(["label_text"])


def _pointer(key: str) -> str:
    """A JSON pointer to the top-level member `key` (any characters allowed)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
