"""The seam under the SDK: one `Backend` protocol, in-process or over HTTP.

`LocalBackend` calls the services straight on the store; `HttpBackend` (in `http.py`) calls a
`steward server`. The fluent API and `Client` never know which one they hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from steward import registry, tracking
from steward.config import Settings
from steward.flavors import LoadedModel
from steward.predictions import Label, LabelIngestResult, LabelRecord, LabelStore
from steward.registry import ModelVersion
from steward.store import Store
from steward.tracking import Dataset, DatasetInfo, Experiment, Metric, Run, RunPage

__all__ = ["Backend", "LocalBackend"]


class Backend(Protocol):
    """Everything the SDK asks of Steward."""

    def get_or_create_experiment(self, name: str) -> Experiment: ...

    def start_run(
        self,
        experiment_id: str,
        *,
        name: str | None,
        params: Mapping[str, object] | None,
        tags: Mapping[str, str] | None,
        user: str,
        code_version: dict[str, Any],
        environment: dict[str, Any],
    ) -> Run: ...

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None: ...

    def end_run(self, run_id: str, status: str, metrics: Sequence[Metric] = ()) -> None: ...

    def get_run(self, run_id: str) -> Run: ...

    def search_runs(
        self,
        experiment_names: Sequence[str],
        *,
        filter: str | None,
        order_by: Sequence[str],
        max_results: int,
        page_token: str | None,
    ) -> RunPage: ...

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None: ...

    def log_dataset(
        self,
        run_id: str,
        info: DatasetInfo,
        *,
        name: str,
        context: str,
        contract: dict[str, Any] | None,
        profile: dict[str, Any] | None,
    ) -> Dataset: ...

    def register_model(
        self, name: str, model: Any, *, sample_input: Any, lineage: dict[str, Any]
    ) -> ModelVersion: ...

    def resolve(self, uri: str) -> ModelVersion: ...

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion: ...

    def load_model(self, uri: str) -> LoadedModel: ...

    def log_labels(self, endpoint: str, labels: Sequence[Label]) -> LabelIngestResult: ...

    def label_history(self, endpoint: str, prediction_id: str) -> list[LabelRecord]: ...

    def close(self) -> None: ...


class LocalBackend:
    """Straight to the store in this process: no server needed.

    Args:
        store: the metadata store.
        actor: who is recorded in audit events.
        predictions_dir: the prediction log folder labels go to; default: the configured one.
    """

    def __init__(self, store: Store, actor: str, predictions_dir: Path | None = None) -> None:
        self.store = store
        self.actor = actor
        self._predictions_dir = predictions_dir

    def get_or_create_experiment(self, name: str) -> Experiment:
        return tracking.get_or_create_experiment(self.store, name)

    def start_run(
        self,
        experiment_id: str,
        *,
        name: str | None,
        params: Mapping[str, object] | None,
        tags: Mapping[str, str] | None,
        user: str,
        code_version: dict[str, Any],
        environment: dict[str, Any],
    ) -> Run:
        return tracking.start_run(
            self.store,
            experiment_id,
            name=name,
            params=params,
            tags=tags,
            user=user,
            code_version=code_version,
            environment=environment,
        )

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        tracking.log_batch(self.store, run_id, metrics=metrics, params=params, tags=tags)

    def end_run(self, run_id: str, status: str, metrics: Sequence[Metric] = ()) -> None:
        tracking.finish_run(self.store, run_id, status=status, metrics=metrics)

    def get_run(self, run_id: str) -> Run:
        return tracking.get_run(self.store, run_id)

    def search_runs(
        self,
        experiment_names: Sequence[str],
        *,
        filter: str | None,
        order_by: Sequence[str],
        max_results: int,
        page_token: str | None,
    ) -> RunPage:
        ids = [tracking.get_experiment(self.store, name).id for name in experiment_names]
        return tracking.search_runs(
            self.store,
            experiment_ids=ids,
            filter=filter,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        )

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None:
        tracking.log_artifact(self.store, run_id, local_path, artifact_path)

    def log_dataset(
        self,
        run_id: str,
        info: DatasetInfo,
        *,
        name: str,
        context: str,
        contract: dict[str, Any] | None,
        profile: dict[str, Any] | None,
    ) -> Dataset:
        return tracking.log_dataset(
            self.store, run_id, info, name=name, context=context, contract=contract, profile=profile
        )

    def register_model(
        self, name: str, model: Any, *, sample_input: Any, lineage: dict[str, Any]
    ) -> ModelVersion:
        return registry.register_model(
            self.store, name, model, sample_input=sample_input, actor=self.actor, **lineage
        )

    def resolve(self, uri: str) -> ModelVersion:
        return registry.resolve(self.store, uri)

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        return registry.set_alias(self.store, name, alias, version, actor=self.actor)

    def load_model(self, uri: str) -> LoadedModel:
        found = registry.resolve(self.store, uri)
        return registry.load_version(self.store, found.model_name, found.version)

    def log_labels(self, endpoint: str, labels: Sequence[Label]) -> LabelIngestResult:
        registry.get_endpoint(self.store, endpoint)  # NotFound, as over HTTP
        return self._labels().ingest(endpoint, labels)

    def label_history(self, endpoint: str, prediction_id: str) -> list[LabelRecord]:
        registry.get_endpoint(self.store, endpoint)
        return self._labels().history(endpoint, prediction_id)

    def _labels(self) -> LabelStore:
        directory = self._predictions_dir or Settings().resolved_predictions_dir
        return LabelStore(directory)

    def close(self) -> None:
        self.store.close()
