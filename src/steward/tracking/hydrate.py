"""Rows into entities: a page of runs is filled in with one query per related table, never
one per run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from steward.store.context import from_ms
from steward.tracking import db
from steward.tracking.entities import (
    Dataset,
    DatasetId,
    Experiment,
    ExperimentId,
    Metric,
    Run,
    RunArtifact,
    RunId,
    RunInput,
)

__all__ = [
    "artifact_from_row",
    "dataset_from_row",
    "experiment_from_row",
    "hydrate",
    "load_runs",
    "metric_from_row",
    "run_from_row",
]

_NAN = float("nan")


def experiment_from_row(row: Mapping[Any, Any]) -> Experiment:
    return Experiment(
        id=ExperimentId(row["id"]),
        name=row["name"],
        tags=dict(row["tags"]),
        created_at=_time(row["created_at_ms"]),
        lifecycle=row["lifecycle"],
    )


def metric_from_row(row: db.Record) -> Metric:
    key, value, is_nan, step, timestamp_ms = row
    return Metric(key, _NAN if is_nan else value, step, timestamp_ms)


def artifact_from_row(row: db.Record) -> RunArtifact:
    return RunArtifact(path=row.path, digest=row.digest, size_bytes=row.size_bytes)


def dataset_from_row(row: db.Record) -> Dataset:
    return Dataset(
        id=DatasetId(row.id),
        name=row.name,
        digest=row.digest,
        num_rows=row.num_rows,
        num_columns=row.num_columns,
        schema=list(row.schema),
        contract=row.contract,
        profile=row.profile,
        created_at=_time(row.created_at_ms),
    )


def run_from_row(run: Mapping[Any, Any], **related: Any) -> Run:
    """A run from its `runs` row plus any of params, tags, metrics, inputs, artifacts."""
    return Run(
        id=RunId(run["id"]),
        experiment_id=ExperimentId(run["experiment_id"]),
        name=run["name"],
        status=run["status"],
        start_time=_time(run["start_ms"]),
        end_time=from_ms(run["end_ms"]),
        user=run["user"],
        code_version=dict(run["code_version"]),
        environment=dict(run["environment"]),
        **related,
    )


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """The runs with these ids that exist, in the order given."""
    by_id = {row.id: row for row in db.select_runs(conn, run_ids)}
    return hydrate(conn, [by_id[run_id] for run_id in run_ids if run_id in by_id])


def hydrate(conn: Connection, rows: Sequence[db.Record]) -> list[Run]:
    """Full runs for a page of `runs` rows, in the same order: five queries whatever the size."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    params = _by_run(db.select_params(conn, ids))
    tags = _by_run(db.select_tags(conn, ids))
    metrics: dict[str, dict[str, float]] = defaultdict(dict)
    for run_id, key, value, is_nan in db.select_latest_metrics(conn, ids):
        metrics[run_id][key] = _NAN if is_nan else value
    inputs: dict[str, list[RunInput]] = defaultdict(list)
    for run_id, context, dataset_id, name, digest in db.select_run_inputs(conn, ids):
        inputs[run_id].append(RunInput(DatasetId(dataset_id), name, digest, context))
    artifacts: dict[str, list[RunArtifact]] = defaultdict(list)
    for row in db.select_artifacts(conn, ids):
        artifacts[row.run_id].append(artifact_from_row(row))
    return [
        run_from_row(
            row._mapping,
            params=params.get(row.id, {}),
            tags=tags.get(row.id, {}),
            metrics=metrics.get(row.id, {}),
            inputs=inputs.get(row.id, []),
            artifacts=artifacts.get(row.id, []),
        )
        for row in rows
    ]


def _by_run(rows: Sequence[db.Record]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = defaultdict(dict)
    for run_id, key, value in rows:
        grouped[run_id][key] = value
    return grouped


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
