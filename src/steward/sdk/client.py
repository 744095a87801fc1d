"""`Client`: the SDK's state (current experiment, active runs, metric buffers) over a backend."""

from __future__ import annotations

import atexit
import functools
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from steward import tracking
from steward.config import Settings
from steward.contracts import infer_contract
from steward.errors import InvalidInput, NotFound
from steward.flavors import LoadedModel
from steward.predictions import (
    Label,
    LabelIngestResult,
    LabelRecord,
    labels_from_rows,
    labels_from_table,
    validate_labels,
)
from steward.registry import ModelVersion
from steward.sdk.backends import Backend, LocalBackend
from steward.sdk.buffer import MetricBuffer
from steward.stats import profile
from steward.store import now_ms, open_store
from steward.tracking import Dataset, Metric, Run

__all__ = ["ActiveRun", "Client", "make_backend"]

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "default"
SCHEMA_SAMPLE_ROWS = 100


def make_backend(settings: Settings) -> Backend:
    """HTTP to `settings.tracking_url` when set, otherwise the store in this process."""
    if settings.tracking_url:
        from steward.sdk.http import HttpBackend  # httpx only when a server is used

        return HttpBackend(
            settings.tracking_url, actor=settings.actor, timeout_s=settings.http_timeout_s
        )
    return LocalBackend(
        open_store(settings),
        actor=settings.actor,
        predictions_dir=settings.resolved_predictions_dir,
    )


class ActiveRun:
    """A started run; as a context manager it ends FINISHED, or FAILED on an exception."""

    def __init__(self, client: Client, run: Run) -> None:
        self._client = client
        self.run = run

    @property
    def id(self) -> str:
        return self.run.id

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.end_run("FINISHED" if exc_type is None else "FAILED", run_id=self.id)


class Client:
    """One SDK session. The module-level functions in `steward` use a default instance.

    Args:
        settings: where to write (store or server) and buffering; read from the environment
            when omitted.
        backend: an explicit backend (tests, embedding); built from settings when omitted.
    """

    def __init__(self, settings: Settings | None = None, backend: Backend | None = None) -> None:
        self.settings = settings or Settings()
        self.backend = backend or make_backend(self.settings)
        self._experiment_name = DEFAULT_EXPERIMENT
        self._experiments: dict[str, tracking.Experiment] = {}
        self._runs: list[ActiveRun] = []
        self._buffers: dict[str, MetricBuffer] = {}
        self._lock = threading.Lock()
        atexit.register(self._at_exit)

    # experiments and runs

    def set_experiment(self, name: str) -> tracking.Experiment:
        experiment = self._experiment(name)
        self._experiment_name = experiment.name
        return experiment

    def start_run(
        self,
        name: str | None = None,
        *,
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
        experiment: str | None = None,
    ) -> ActiveRun:
        """Start a run in the current (or named) experiment, recording code and environment."""
        target = self._experiment(experiment or self._experiment_name)
        run = self.backend.start_run(
            target.id,
            name=name,
            params=params,
            tags=tags,
            user=self.settings.actor,
            code_version=_provenance()[0],
            environment=_provenance()[1],
        )
        active = ActiveRun(self, run)
        self._runs.append(active)
        return active

    def active_run(self) -> ActiveRun | None:
        return self._runs[-1] if self._runs else None

    def end_run(self, status: str = "FINISHED", *, run_id: str | None = None) -> None:
        """Flush the run's metrics and end it (the active run by default; none: a no-op)."""
        target = run_id or (self._runs[-1].id if self._runs else None)
        if target is None:
            return
        buffer = self._buffers.pop(target, None)
        remaining = buffer.close() if buffer is not None else []
        self._runs = [r for r in self._runs if r.id != target]
        self.backend.end_run(target, status, remaining)

    def get_run(self, run_id: str) -> Run:
        self._flush(run_id)
        return self.backend.get_run(run_id)

    def search_runs(
        self,
        experiment: str | Sequence[str] | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] = (),
        max_results: int = 1000,
    ) -> list[Run]:
        """Runs matching the filter, across pages (see docs/tracking.md for the grammar)."""
        names = [experiment] if isinstance(experiment, str) else list(experiment or [])
        names = names or [self._experiment_name]
        runs: list[Run] = []
        token: str | None = None
        while len(runs) < max_results:
            page = self.backend.search_runs(
                names,
                filter=filter,
                order_by=order_by,
                max_results=min(1000, max_results - len(runs)),
                page_token=token,
            )
            runs.extend(page.runs)
            token = page.next_page_token
            if not token:
                break
        return runs

    # params, metrics, artifacts

    def log_params(self, params: Mapping[str, object]) -> None:
        self.backend.log_batch(self._require_run(), params=params)

    def log_param(self, key: str, value: object) -> None:
        self.log_params({key: value})

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.backend.log_batch(self._require_run(), tags=tags)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Buffer metrics for the active run; they are written in batches."""
        at = now_ms()
        batch = [Metric(key, _as_float(key, v), step or 0, at) for key, v in metrics.items()]
        self._buffer(self._require_run()).add(batch)

    def log_metrics_batch(self, metrics: Iterable[tuple[str, float, int]]) -> None:
        """Write many (key, value, step) metrics now, in one call."""
        at = now_ms()
        batch = [Metric(key, _as_float(key, v), int(step), at) for key, v, step in metrics]
        run_id = self._require_run()
        self._flush(run_id)
        self.backend.log_batch(run_id, metrics=batch)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        self.backend.log_artifact(self._require_run(), Path(local_path), artifact_path)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> None:
        path = Path(local_dir)
        if not path.is_dir():
            raise InvalidInput(f"log_artifacts expects a directory, got {str(path)!r}")
        self.log_artifact(path, artifact_path)

    def log_dataset(
        self, frame: Any, name: str, *, context: str = "training", with_baseline: bool = True
    ) -> Dataset:
        """Record a data snapshot as an input of the active run: fingerprint, and by default
        its inferred contract and profile (the drift baseline)."""
        info = tracking.fingerprint_frame(frame)
        contract = infer_contract(frame, name=name).to_dict() if with_baseline else None
        baseline = profile(frame).to_dict() if with_baseline else None
        return self.backend.log_dataset(
            self._require_run(),
            info,
            name=name,
            context=context,
            contract=contract,
            profile=baseline,
        )

    # models

    def log_model(
        self,
        model: Any,
        name: str,
        *,
        training_data: Any = None,
        sample_input: Any = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register `model` as a new version of `name`, linked to the active run (if any).

        With `training_data`, the data is fingerprinted and logged as the run's training
        input, and its contract and profile are stored with the version.
        """
        run = self.active_run()
        lineage: dict[str, Any] = {"description": description, "tags": dict(tags or {})}
        lineage["run_id"] = run.id if run else None
        if training_data is not None:
            if run is None:
                raise InvalidInput("log_model with training_data needs an active run (start_run)")
            dataset = self.log_dataset(training_data, f"{name}-training")
            lineage.update(
                dataset_digests=[dataset.digest], contract=dataset.contract, profile=dataset.profile
            )
            if sample_input is None:  # a few rows are enough to infer the schemas
                sample_input = training_data[:SCHEMA_SAMPLE_ROWS]
        return self.backend.register_model(name, model, sample_input=sample_input, lineage=lineage)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.backend.resolve(f"models:/{name}/{version}")

    def set_alias(self, name: str, version: int, alias: str) -> ModelVersion:
        return self.backend.set_alias(name, alias, int(version))

    def load_model(self, uri: str) -> LoadedModel:
        """Load a registered version (`models:/name@alias`, `models:/name/3`), hash-verified."""
        return self.backend.load_model(uri)

    # labels

    def log_labels(
        self, endpoint: str, labels: Any, *, outcomes: Sequence[str] = ()
    ) -> LabelIngestResult:
        """Post ground truth and business outcomes for an endpoint's predictions.

        Everything is checked before anything is sent; more than `label_batch_max` labels
        go in several batches. A later label for a prediction wins; the earlier stays in
        its history. Ids not (yet) in the compacted predictions are stored and reported.

        Args:
            endpoint: the endpoint that served the predictions.
            labels: dicts with `prediction_id`, `label`, `outcomes` (a dict) or
                `outcome_<name>` keys, and `at_ms`; or `Label`s; or a data frame (pandas,
                Polars, Arrow) with those columns. NaN and None mean "not sent".
            outcomes: more columns (keys) to read as outcomes, under their own names.

        Raises:
            InvalidInput: a label is malformed (the error names its index, field and
                value); nothing is stored.
            NotFound: no endpoint of that name.
        """
        batch = _as_labels(labels, outcomes)
        validate_labels(batch)
        result = LabelIngestResult(accepted=0, updated=0, unknown=0)
        step = self.settings.label_batch_max
        for start in range(0, len(batch), step):
            result += self.backend.log_labels(endpoint, batch[start : start + step])
        return result

    def label_history(self, endpoint: str, prediction_id: str) -> list[LabelRecord]:
        """Every label of one prediction, oldest first; the last one wins in reads."""
        return self.backend.label_history(endpoint, prediction_id)

    # plumbing

    def close(self) -> None:
        """End open runs, flush metrics and release the backend."""
        self._at_exit()
        self.backend.close()
        atexit.unregister(self._at_exit)

    def _experiment(self, name: str) -> tracking.Experiment:
        # Experiments are never renamed or removed here, so one lookup per name is enough.
        found = self._experiments.get(name)
        if found is None:
            found = self._experiments[name] = self.backend.get_or_create_experiment(name)
        return found

    def _require_run(self) -> str:
        run = self.active_run()
        if run is None:
            raise NotFound("no active run; start one with steward.start_run()")
        return run.id

    def _buffer(self, run_id: str) -> MetricBuffer:
        with self._lock:
            buffer = self._buffers.get(run_id)
            if buffer is None:
                buffer = MetricBuffer(
                    run_id,
                    lambda rid, batch: self.backend.log_batch(rid, metrics=batch),
                    max_size=self.settings.metric_buffer_size,
                    interval_s=self.settings.metric_flush_interval_s,
                )
                self._buffers[run_id] = buffer
            return buffer

    def _flush(self, run_id: str) -> None:
        buffer = self._buffers.get(run_id)
        if buffer is not None:
            buffer.flush()

    def _at_exit(self) -> None:
        for active in list(reversed(self._runs)):
            try:
                self.end_run("FINISHED", run_id=active.id)
            except Exception as exc:  # at exit there is nobody left to raise to
                log.warning("could not end run at exit run=%s error=%s", active.id, exc)


@functools.cache
def _provenance() -> tuple[dict[str, Any], dict[str, Any]]:
    """Code version and environment, captured once per process (git costs milliseconds)."""
    return tracking.capture_code_version(), tracking.capture_environment()


def _as_labels(labels: Any, outcomes: Sequence[str]) -> list[Label]:  # Any: a caller's data
    if isinstance(labels, pa.Table):
        return labels_from_table(labels, outcomes)
    if hasattr(labels, "to_arrow"):  # Polars
        return labels_from_table(labels.to_arrow(), outcomes)
    if hasattr(labels, "iloc"):  # pandas
        try:
            return labels_from_table(pa.Table.from_pandas(labels, preserve_index=False), outcomes)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds in a column, e.g. 1 and "a"
            return labels_from_rows(labels.to_dict("records"), outcomes)
    if isinstance(labels, Mapping | str | bytes) or not isinstance(labels, Iterable):
        raise InvalidInput(
            f"labels expects a list of dicts or Labels, or a data frame, got "
            f"{type(labels).__name__}",
            field="labels",
        )
    rows = list(labels)
    if all(isinstance(row, Label) for row in rows):
        return rows
    return labels_from_rows(rows, outcomes)


def _as_float(key: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(
            f"metric '{key}' expects a number, got {value!r}", field=f"metrics.{key}"
        ) from None
    return number
