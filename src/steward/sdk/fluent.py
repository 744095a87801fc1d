"""Module-level SDK calls (`steward.start_run`, `steward.log_metric`...) over a default `Client`."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from steward.config import Settings
from steward.flavors import LoadedModel
from steward.predictions import LabelIngestResult
from steward.registry import ModelVersion
from steward.sdk.client import ActiveRun, Client
from steward.tracking import Dataset, Experiment, Run

__all__ = [
    "active_run",
    "configure",
    "end_run",
    "get_client",
    "get_model_version",
    "get_run",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_labels",
    "log_metric",
    "log_metrics",
    "log_metrics_batch",
    "log_model",
    "log_param",
    "log_params",
    "search_runs",
    "set_alias",
    "set_experiment",
    "set_tags",
    "start_run",
]

_client: Client | None = None
_lock = threading.Lock()


def configure(settings: Settings | None = None) -> Client:
    """Replace the default client (closing the old one), e.g. to point at another store."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = Client(settings)
        return _client


def get_client() -> Client:
    """The default client, built from the environment on first use."""
    global _client
    with _lock:
        if _client is None:
            _client = Client()
        return _client


def set_experiment(name: str) -> Experiment:
    return get_client().set_experiment(name)


def start_run(
    name: str | None = None,
    *,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    experiment: str | None = None,
) -> ActiveRun:
    return get_client().start_run(name, params=params, tags=tags, experiment=experiment)


def active_run() -> ActiveRun | None:
    return get_client().active_run()


def end_run(status: str = "FINISHED") -> None:
    get_client().end_run(status)


def log_param(key: str, value: object) -> None:
    get_client().log_param(key, value)


def log_params(params: Mapping[str, object]) -> None:
    get_client().log_params(params)


def set_tags(tags: Mapping[str, str]) -> None:
    get_client().set_tags(tags)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    get_client().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    get_client().log_metrics(metrics, step)


def log_metrics_batch(metrics: Iterable[tuple[str, float, int]]) -> None:
    get_client().log_metrics_batch(metrics)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> None:
    get_client().log_artifact(local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> None:
    get_client().log_artifacts(local_dir, artifact_path)


def log_dataset(frame: Any, name: str, *, context: str = "training") -> Dataset:
    return get_client().log_dataset(frame, name, context=context)


def log_model(
    model: Any,
    name: str,
    *,
    training_data: Any = None,
    sample_input: Any = None,
    description: str = "",
    tags: Mapping[str, str] | None = None,
) -> ModelVersion:
    return get_client().log_model(
        model,
        name,
        training_data=training_data,
        sample_input=sample_input,
        description=description,
        tags=tags,
    )


def get_run(run_id: str) -> Run:
    return get_client().get_run(run_id)


def search_runs(
    experiment: str | Sequence[str] | None = None,
    *,
    filter: str | None = None,
    order_by: Sequence[str] = (),
    max_results: int = 1000,
) -> list[Run]:
    return get_client().search_runs(
        experiment, filter=filter, order_by=order_by, max_results=max_results
    )


def get_model_version(name: str, version: int | str) -> ModelVersion:
    return get_client().get_model_version(name, version)


def set_alias(name: str, version: int, alias: str) -> ModelVersion:
    return get_client().set_alias(name, version, alias)


def load_model(uri: str) -> LoadedModel:
    return get_client().load_model(uri)


def log_labels(endpoint: str, labels: Any, *, outcomes: Sequence[str] = ()) -> LabelIngestResult:
    return get_client().log_labels(endpoint, labels, outcomes=outcomes)
