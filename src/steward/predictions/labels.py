"""`LabelStore`: ground truth and business outcomes that arrive late, by prediction id.

Each ingest writes one Parquet file per endpoint under `<directory>/labels/` (see
`label_files`), so labels never touch the prediction partitions and history is kept: a
second label for a prediction wins in reads, the first stays in `history`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from steward.errors import InvalidInput
from steward.predictions import label_files
from steward.predictions.entities import ROUTES
from steward.predictions.label_batches import OUTCOME_PREFIX, label_table, validate_labels
from steward.predictions.label_entities import (
    MAX_UNKNOWN_IDS,
    Label,
    LabelIngestResult,
    LabelRecord,
)
from steward.predictions.label_join import WindowQuery, joined_window
from steward.predictions.layout import fsync_dir
from steward.predictions.reading import PredictionStore
from steward.store.context import Clock, now_ms

__all__ = ["DEFAULT_ROUTES", "LabelStore"]

log = logging.getLogger(__name__)

DEFAULT_ROUTES: Final = ("primary", "fallback", "batch")
_SOURCE: Final = "read_parquet(${}, hive_partitioning = false, union_by_name = true)"


class LabelStore:
    """Labels of the prediction log under `directory` (`Settings.resolved_predictions_dir`).

    Args:
        directory: the prediction log's root folder.
        clock: epoch milliseconds; stamps `received_at_ms`.
    """

    def __init__(self, directory: Path, *, clock: Clock = now_ms) -> None:
        self.directory = Path(directory)
        self._clock = clock

    def ingest(self, endpoint: str, labels: Sequence[Label]) -> LabelIngestResult:
        """Store a batch of labels for the endpoint's predictions, as one file, atomically.

        Labels for predictions not compacted yet (or never logged) are stored all the same
        and reported as unknown. A label for an id labelled before wins from now on.

        Raises:
            InvalidInput: the endpoint name is empty, or any label is malformed (the error
                names its index, field and value); nothing is stored then.
            OSError: the file cannot be written; nothing is stored then.
        """
        _check_endpoint(endpoint)
        validate_labels(labels)
        if not labels:
            return LabelIngestResult(accepted=0, updated=0, unknown=0)
        folder = label_files.endpoint_labels_dir(self.directory, endpoint)
        ids = pa.table(
            {"prediction_id": list(dict.fromkeys(label.prediction_id for label in labels))}
        )
        with label_files.locked(folder):
            files = label_files.label_files(folder)
            updated, unknown = self._check_ids(endpoint, ids, files)
            sequence = label_files.next_sequence(files)
            batch_id = uuid.uuid4().hex
            table = label_table(
                labels, received_at_ms=self._clock(), batch_id=batch_id, sequence=sequence
            )
            label_files.write_atomically(table, label_files.batch_path(folder, sequence, batch_id))
        log.info(
            "labels ingested endpoint=%s batch=%s sequence=%d labels=%d updated=%d unknown=%d",
            endpoint,
            batch_id,
            sequence,
            len(labels),
            updated,
            len(unknown),
        )
        return LabelIngestResult(
            accepted=len(labels),
            updated=updated,
            unknown=len(unknown),
            unknown_ids=tuple(unknown[:MAX_UNKNOWN_IDS]),
        )

    def history(self, endpoint: str, prediction_id: str) -> list[LabelRecord]:
        """Every label stored for the prediction, oldest first; empty when it has none."""
        files = self._label_paths(endpoint)
        if not files:
            return []
        sql = (
            f"SELECT * FROM {_SOURCE.format('files')} WHERE prediction_id = $id "
            "ORDER BY batch_seq, batch_row"
        )
        with duckdb.connect() as conn:
            rows = conn.sql(sql, params={"files": files, "id": prediction_id}).to_arrow_table()
        return [_record(row) for row in rows.to_pylist()]

    def last_received_ms(self, endpoint: str) -> int | None:
        """When the endpoint's latest label batch was stored (epoch ms), None if never: what
        tells a monitor that windows it computed may have new labels."""
        files = self._label_paths(endpoint)
        if not files:
            return None
        sql = f"SELECT max(received_at_ms) FROM {_SOURCE.format('files')}"
        with duckdb.connect() as conn:
            [(latest,)] = conn.sql(sql, params={"files": files}).fetchall()
        return None if latest is None else int(latest)

    def window(
        self,
        endpoint: str,
        start_ms: int,
        end_ms: int,
        *,
        features: Sequence[str] | None = None,
        segments: Sequence[str] = (),
        outcomes: Sequence[str] | None = None,
        routes: Sequence[str] = DEFAULT_ROUTES,
    ) -> pa.Table:
        """The endpoint's predictions with `start_ms <= at_ms < end_ms`, each with its latest
        label, oldest first; predictions without a label have null label columns.

        Columns: `prediction_id`, `at_ms`, `model_version`, `route`, `in_<feature>`,
        `prediction`, `score` (a binary classifier's positive-class probability: the last of
        two `probabilities`; else null), `label` (float64 when every label in the window is
        numeric, else the label texts), `labelled_at_ms`, `outcome_<name>`, `seg_<key>`
        (text, from the prediction's segment, else its input of that name).

        Args:
            endpoint: the endpoint name.
            start_ms: window start, epoch ms UTC, inclusive.
            end_ms: window end, exclusive.
            features: input names for `in_<name>` columns (all-null when never logged);
                None: every input column.
            segments: segment keys for `seg_<key>` columns.
            outcomes: outcome names for `outcome_<name>` columns; None: every one stored.
            routes: routes kept; shadow answers are left out by default.

        Raises:
            InvalidInput: the window ends before it starts, or a route, feature, segment
                key or outcome name is not a non-empty string (routes: one of `ROUTES`).
        """
        _check_window(start_ms, end_ms)
        _check_names(routes=routes, features=features, segments=segments, outcomes=outcomes)
        query = WindowQuery(
            prediction_files=PredictionStore(self.directory).files(endpoint, start_ms, end_ms),
            label_files=self._label_paths(endpoint),
            start_ms=start_ms,
            end_ms=end_ms,
            routes=tuple(routes),
            features=None if features is None else tuple(features),
            segments=tuple(segments),
            outcomes=None if outcomes is None else tuple(outcomes),
        )
        return joined_window(query)

    def compact_labels(self, endpoint: str) -> int:
        """Merge the endpoint's label files into one, keeping every label; returns how many
        files were merged (0 when there was nothing to merge).

        Safe at any time: ingests wait for it, readers see either the old files or the new
        one, and a crash in the middle is finished by the next call.

        Raises:
            OSError: a file cannot be read or written; the old files stay in use then.
        """
        folder = label_files.endpoint_labels_dir(self.directory, endpoint)
        if not folder.is_dir():
            return 0
        with label_files.locked(folder):
            _delete(label_files.covered_files(folder))
            files = label_files.label_files(folder)
            if len(files) < 2:
                return 0
            merged = label_files.merge_files(folder, files)
            _delete([f.path for f in files])
        log.info("labels compacted endpoint=%s files=%d into=%s", endpoint, len(files), merged)
        return len(files)

    def _check_ids(
        self, endpoint: str, ids: pa.Table, files: list[label_files.LabelFile]
    ) -> tuple[int, list[str]]:
        """(ids already labelled, ids not in the compacted predictions, in batch order)."""
        predictions = PredictionStore(self.directory).files(endpoint)
        with duckdb.connect() as conn:
            conn.register("batch", ids)
            updated = 0
            if files:
                # Only the prediction_id column is read (projection pushdown).
                found = conn.sql(
                    f"SELECT count(*) FROM batch SEMI JOIN {_SOURCE.format('files')} AS l "
                    "ON batch.prediction_id = l.prediction_id",
                    params={"files": [str(f.path) for f in files]},
                ).fetchall()
                updated = int(found[0][0])
            if not predictions:
                return updated, ids.column("prediction_id").to_pylist()
            unknown = conn.sql(
                f"SELECT batch.prediction_id FROM batch ANTI JOIN {_SOURCE.format('files')} AS p "
                "ON batch.prediction_id = p.prediction_id",
                params={"files": predictions},
            ).fetchall()
        missing = {row[0] for row in unknown}
        return updated, [i for i in ids.column("prediction_id").to_pylist() if i in missing]

    def _label_paths(self, endpoint: str) -> list[str]:
        folder = label_files.endpoint_labels_dir(self.directory, endpoint)
        return [str(f.path) for f in label_files.label_files(folder)] if folder.is_dir() else []


def _record(row: dict[str, Any]) -> LabelRecord:  # Any: one label file row
    value, text = row["label_value"], row["label_text"]
    return LabelRecord(
        prediction_id=row["prediction_id"],
        label=value if value is not None else text,
        label_text=text,
        outcomes={
            name.removeprefix(OUTCOME_PREFIX): number
            for name, number in row.items()
            if name.startswith(OUTCOME_PREFIX) and number is not None
        },
        labelled_at_ms=row["labelled_at_ms"],
        received_at_ms=row["received_at_ms"],
        batch_id=row["batch_id"],
        sequence=row["batch_seq"],
    )


def _delete(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
    if paths:
        fsync_dir(paths[0].parent)


def _check_endpoint(endpoint: str) -> None:
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidInput(f"endpoint expects a non-empty name, got {endpoint!r}", field="endpoint")


def _check_window(start_ms: int, end_ms: int) -> None:
    for field, value in (("start_ms", start_ms), ("end_ms", end_ms)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(
                f"{field} expects an integer of epoch milliseconds, got {value!r}", field=field
            )
    if end_ms < start_ms:
        raise InvalidInput(
            f"window ends before it starts: end_ms {end_ms} < start_ms {start_ms}",
            field="end_ms",
        )


def _check_names(**groups: Sequence[str] | None) -> None:
    for field, names in groups.items():
        if names is None:
            continue
        if isinstance(names, str):
            raise InvalidInput(
                f"{field} expects a list of names, got the string {names!r}", field=field
            )
        bad: list[object] = [n for n in names if not isinstance(n, str) or not n]
        if field == "routes":
            bad = [name for name in names if name not in ROUTES]
        if bad:
            accepted = f"one of {list(ROUTES)}" if field == "routes" else "non-empty strings"
            raise InvalidInput(f"{field} expects {accepted}, got {bad!r}", field=field)
