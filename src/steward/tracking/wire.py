"""The JSON form of tracking entities, shared by the REST routes and HTTP clients (the SDK).

JSON has no NaN or infinity, so metric values travel as numbers or as the strings "NaN",
"Infinity" and "-Infinity", in both directions. Times travel as ISO 8601 with a UTC offset.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from steward.tracking.entities import (
    Dataset,
    DatasetId,
    DatasetInfo,
    Experiment,
    ExperimentId,
    Metric,
    Run,
    RunArtifact,
    RunId,
    RunInput,
    RunPage,
)
from steward.tracking.validation import metric_value

__all__ = [
    "artifact_from_json",
    "artifact_to_json",
    "dataset_from_json",
    "dataset_info_to_json",
    "dataset_to_json",
    "experiment_from_json",
    "experiment_to_json",
    "metric_from_json",
    "metric_to_json",
    "page_from_json",
    "page_to_json",
    "run_from_json",
    "run_to_json",
    "value_from_json",
    "value_to_json",
]

Json = dict[str, Any]


def value_to_json(value: float) -> float | str:
    """A metric value JSON can carry: the float itself, or "NaN", "Infinity", "-Infinity"."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def value_from_json(value: float | str) -> float:
    """A metric value sent as JSON.

    Raises:
        InvalidInput: neither a number nor a numeric string.
    """
    return metric_value(value, "value")


def experiment_to_json(experiment: Experiment) -> Json:
    return {
        "id": experiment.id,
        "name": experiment.name,
        "tags": experiment.tags,
        "lifecycle": experiment.lifecycle,
        "created_at": experiment.created_at.isoformat(),
    }


def experiment_from_json(body: Json) -> Experiment:
    return Experiment(
        id=ExperimentId(body["id"]),
        name=body["name"],
        tags=dict(body["tags"]),
        created_at=datetime.fromisoformat(body["created_at"]),
        lifecycle=body["lifecycle"],
    )


def metric_to_json(metric: Metric) -> Json:
    return {
        "key": metric.key,
        "value": value_to_json(metric.value),
        "step": metric.step,
        "timestamp_ms": metric.timestamp_ms,
    }


def metric_from_json(body: Json) -> Metric:
    return Metric(
        body["key"], value_from_json(body["value"]), body["step"], body.get("timestamp_ms")
    )


def artifact_to_json(artifact: RunArtifact) -> Json:
    return {"path": artifact.path, "digest": artifact.digest, "size_bytes": artifact.size_bytes}


def artifact_from_json(body: Json) -> RunArtifact:
    return RunArtifact(body["path"], body["digest"], body["size_bytes"])


def run_to_json(run: Run) -> Json:
    return {
        "id": run.id,
        "experiment_id": run.experiment_id,
        "name": run.name,
        "status": run.status,
        "start_time": run.start_time.isoformat(),
        "end_time": run.end_time.isoformat() if run.end_time else None,
        "user": run.user,
        "params": run.params,
        "tags": run.tags,
        "metrics": {key: value_to_json(value) for key, value in run.metrics.items()},
        "code_version": run.code_version,
        "environment": run.environment,
        "inputs": [
            {"dataset_id": i.dataset_id, "name": i.name, "digest": i.digest, "context": i.context}
            for i in run.inputs
        ],
        "artifacts": [artifact_to_json(artifact) for artifact in run.artifacts],
    }


def run_from_json(body: Json) -> Run:
    return Run(
        id=RunId(body["id"]),
        experiment_id=ExperimentId(body["experiment_id"]),
        name=body["name"],
        status=body["status"],
        start_time=datetime.fromisoformat(body["start_time"]),
        end_time=datetime.fromisoformat(body["end_time"]) if body.get("end_time") else None,
        user=body["user"],
        params=dict(body["params"]),
        tags=dict(body["tags"]),
        metrics={key: value_from_json(value) for key, value in body["metrics"].items()},
        code_version=dict(body["code_version"]),
        environment=dict(body["environment"]),
        inputs=[
            RunInput(DatasetId(i["dataset_id"]), i["name"], i["digest"], i["context"])
            for i in body["inputs"]
        ],
        artifacts=[artifact_from_json(artifact) for artifact in body["artifacts"]],
    )


def page_to_json(page: RunPage) -> Json:
    return {
        "runs": [run_to_json(run) for run in page.runs],
        "next_page_token": page.next_page_token,
    }


def page_from_json(body: Json) -> RunPage:
    return RunPage([run_from_json(run) for run in body["runs"]], body.get("next_page_token"))


def dataset_info_to_json(info: DatasetInfo) -> Json:
    return {
        "digest": info.digest,
        "num_rows": info.num_rows,
        "num_columns": info.num_columns,
        "schema": info.schema,
    }


def dataset_to_json(dataset: Dataset) -> Json:
    return {
        "id": dataset.id,
        "name": dataset.name,
        "digest": dataset.digest,
        "num_rows": dataset.num_rows,
        "num_columns": dataset.num_columns,
        "schema": dataset.schema,
        "contract": dataset.contract,
        "profile": dataset.profile,
        "created_at": dataset.created_at.isoformat(),
    }


def dataset_from_json(body: Json) -> Dataset:
    return Dataset(
        id=DatasetId(body["id"]),
        name=body["name"],
        digest=body["digest"],
        num_rows=body["num_rows"],
        num_columns=body["num_columns"],
        schema=list(body["schema"]),
        contract=body.get("contract"),
        profile=body.get("profile"),
        created_at=datetime.fromisoformat(body["created_at"]),
    )
