"""`run_pipeline`: one tracking run per execution, each step cached, retried and recorded.

The orchestrating process keeps only digests: step outputs go to the artifact store from
the process that ran the step, and a later step's worker reads them from there. Whatever
steps finished before a failure stay cached, so running again resumes at the failed step.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from steward import registry, tracking
from steward.config import Settings
from steward.contracts import infer_contract
from steward.errors import NotFound
from steward.pipelines.cache import StepCache, cache_key, code_hash, load_output, store_output
from steward.pipelines.entities import (
    PipelineRun,
    StepContext,
    StepFailed,
    StepOutcome,
    StepResult,
    StepStatus,
    TrainedModel,
)
from steward.pipelines.execution import StepTask, execute_step
from steward.pipelines.executors import Executor, LocalExecutor
from steward.pipelines.steps import CONTEXT_PARAMETER, Pipeline, Step
from steward.stats import profile
from steward.store import LocalArtifactStore, Store

__all__ = ["TAG_PIPELINE", "TAG_STEP_PREFIX", "TAG_TENANT", "cache_dir", "run_pipeline"]

log = logging.getLogger(__name__)

TAG_PIPELINE = "steward.pipeline"
TAG_TENANT = "steward.tenant"
TAG_STEP_PREFIX = "steward.step."
TAG_MODEL_VERSION = "steward.model_version"


def cache_dir(settings: Settings) -> Path:
    """Where the step cache index lives: HOME/pipeline-cache."""
    return (settings.home / "pipeline-cache").resolve()


def run_pipeline(
    pipeline: Pipeline,
    *,
    params: Mapping[str, Any] | None = None,
    store: Store,
    settings: Settings,
    executor: Executor | None = None,
    tenant: str | None = None,
) -> PipelineRun:
    """Run the steps in order under one tracking run and register the model step's output.

    Args:
        params: values for steps' parameters by name (the config file's `params:`).
        store: where the run, datasets and model version are recorded; its artifact store
            holds step outputs.
        settings: the actor of the registration, and the cache folder (HOME/pipeline-cache).
        executor: where steps run; a `LocalExecutor` made (and closed) for this call if None.
        tenant: labels the run and suffixes the model name (`<model_name>-<tenant>`).

    Raises:
        InvalidInput: a required step parameter that no step or param fills (before any run).
        StepFailed: a step failed on its last attempt; the run is FAILED.
        StewardError: registering the model failed (the run is FAILED).
    """
    values = dict(params or {})
    pipeline.check_params(values)
    owned = executor is None
    active = LocalExecutor() if executor is None else executor
    try:
        return _Execution(pipeline, values, store, settings, active, tenant).run()
    finally:
        if owned:
            active.close()


class _Execution:
    """The state of one pipeline execution: its run, outputs so far and results."""

    def __init__(
        self,
        pipeline: Pipeline,
        params: dict[str, Any],
        store: Store,
        settings: Settings,
        executor: Executor,
        tenant: str | None,
    ) -> None:
        self.pipeline, self.params, self.store = pipeline, params, store
        self.settings, self.executor, self.tenant = settings, executor, tenant
        self.cache = StepCache(cache_dir(settings), store.artifacts)
        self.artifacts_dir = _artifacts_dir(store, settings)
        self.outputs: dict[str, StepOutcome] = {}
        self.results: list[StepResult] = []
        self.datasets: dict[str, str] = {}
        self.run_id = ""

    def run(self) -> PipelineRun:
        started = time.perf_counter()
        self.run_id = self._start().id
        try:
            for current in self.pipeline.steps:
                self._run_step(current)
            version = self._register()
        except BaseException:
            tracking.finish_run(self.store, self.run_id, tracking.FAILED)
            raise
        tracking.finish_run(self.store, self.run_id, tracking.FINISHED)
        return PipelineRun(
            pipeline=self.pipeline.name,
            run_id=self.run_id,
            tenant=self.tenant,
            steps=tuple(self.results),
            model_version=version,
            dataset_digests=tuple(self.datasets.values()),
            duration_s=time.perf_counter() - started,
        )

    def _start(self) -> tracking.Run:
        experiment = tracking.get_or_create_experiment(self.store, self.pipeline.name)
        tags = {TAG_PIPELINE: self.pipeline.name}
        if self.tenant is not None:
            tags[TAG_TENANT] = self.tenant
        source = Path(inspect.getfile(self.pipeline.steps[0].fn))
        return tracking.start_run(
            self.store,
            experiment.id,
            name=self.pipeline.name
            if self.tenant is None
            else f"{self.pipeline.name}-{self.tenant}",
            params={k: _param_text(v) for k, v in self.params.items()},
            tags=tags,
            user=self.settings.actor,
            code_version=tracking.capture_code_version(source),
            environment=tracking.capture_environment(),
        )

    def _run_step(self, current: Step) -> None:
        inputs = {p: self.outputs[p] for p in current.parameters if p in self.outputs}
        values = {p: self.params[p] for p in current.parameters if p in self.params}
        key = cache_key(
            current.name,
            code_hash(current.fn),
            {p: o.fingerprint for p, o in inputs.items()},
            values,
        )
        outcome = self.cache.get(key) if current.options.cache else None
        attempts = 0
        if outcome is None:
            outcome, attempts = self._attempt(current, inputs, values)
            if current.options.cache:
                self.cache.put(key, outcome)
        self.outputs[current.name] = outcome
        self._record(current, outcome, attempts)

    def _attempt(
        self, current: Step, inputs: Mapping[str, StepOutcome], values: dict[str, Any]
    ) -> tuple[StepOutcome, int]:
        """Submit the step until it succeeds or its retries are spent.

        Raises:
            StepFailed: the last attempt failed.
        """
        options = current.options
        for attempt in range(1, options.retries + 2):
            task = self._task(current, inputs, values, attempt)
            try:
                return self.executor.submit(execute_step, task).result(), attempt
            except Exception as exc:
                if attempt > options.retries:
                    self._tag(current.name, f"failed after {attempt} attempt(s)")
                    raise self._failure(current, attempt, exc) from exc
                delay_s = options.backoff_s * 2 ** (attempt - 1)
                log.warning(
                    "pipeline step failed, retrying pipeline=%s step=%s attempt=%d delay_s=%.2f "
                    "error=%s",
                    *(self.pipeline.name, current.name, attempt, delay_s, exc),
                )
                time.sleep(delay_s)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _task(
        self, current: Step, inputs: Mapping[str, StepOutcome], values: dict[str, Any], attempt: int
    ) -> StepTask:
        context = None
        if CONTEXT_PARAMETER in current.parameters and CONTEXT_PARAMETER not in values:
            context = StepContext(
                self.pipeline.name, current.name, self.run_id, self.tenant, attempt, self.settings
            )
        return StepTask(
            fn=current.fn,
            artifacts_dir=self.artifacts_dir,
            inputs={p: o.output_digest for p, o in inputs.items()},
            values=values,
            context=context,
        )

    def _failure(self, current: Step, attempts: int, exc: Exception) -> StepFailed:
        return StepFailed(
            f"step {current.name!r} of pipeline {self.pipeline.name!r} failed after "
            f"{attempts} attempt(s): {type(exc).__name__}: {exc} (run {self.run_id} is FAILED; "
            "the steps before it are cached, so running again resumes here)",
            step=current.name,
            run_id=self.run_id,
            attempts=attempts,
        )

    def _record(self, current: Step, outcome: StepOutcome, attempts: int) -> None:
        status: StepStatus = "ran" if attempts else "cached"
        self.results.append(
            StepResult(
                name=current.name,
                status=status,
                attempts=attempts,
                duration_s=outcome.duration_s if attempts else 0.0,
                output_digest=outcome.output_digest,
                fingerprint=outcome.fingerprint,
            )
        )
        detail = f"ran in {outcome.duration_s:.3f} s, {attempts} attempt(s)" if attempts else status
        self._tag(current.name, detail)
        if outcome.dataset is not None:
            name = f"{self.pipeline.name}/{current.name}"
            tracking.log_dataset(self.store, self.run_id, outcome.dataset, name=name)
            self.datasets[current.name] = outcome.dataset.digest
        log.info(
            "pipeline step done pipeline=%s step=%s status=%s run_id=%s",
            *(self.pipeline.name, current.name, status, self.run_id),
        )

    def _tag(self, step_name: str, value: str) -> None:
        tracking.set_tags(self.store, self.run_id, {f"{TAG_STEP_PREFIX}{step_name}": value})

    def _register(self) -> registry.ModelVersion | None:
        """Register the model step's output, once per (model name, output fingerprint)."""
        if self.pipeline.model_step is None:
            return None
        produced = self.outputs[self.pipeline.model_step]
        output = load_output(self.store.artifacts, produced.output_digest)
        if isinstance(output, TrainedModel) and output.metrics:
            metrics = [tracking.Metric(k, float(v)) for k, v in output.metrics.items()]
            tracking.log_metrics(self.store, self.run_id, metrics)
        version = output if isinstance(output, registry.ModelVersion) else None
        if version is None:
            version = self._registered(output, produced.fingerprint)
        tags = {TAG_MODEL_VERSION: f"{version.model_name}/{version.version}"}
        tracking.set_tags(self.store, self.run_id, tags)
        return version

    def _registered(self, output: Any, fingerprint: str) -> registry.ModelVersion:
        name = self.model_name
        key = cache_key("register", name, {"model": fingerprint}, {"model_name": name})
        cached = self.cache.get(key)
        if cached is not None:
            version: registry.ModelVersion = load_output(self.store.artifacts, cached.output_digest)
            try:
                return registry.get_version(self.store, name, version.version)
            except NotFound:
                log.info("cached model version is gone, registering again model=%s", name)
        trained = output if isinstance(output, TrainedModel) else TrainedModel(output)
        frame = trained.training_data
        baseline: dict[str, Any] = {}
        if frame is not None:
            baseline = {
                "contract": infer_contract(frame, name=name).to_dict(),
                "profile": profile(frame).to_dict(),
            }
        sample = trained.sample_input
        version = registry.register_model(
            self.store,
            name,
            trained.model,
            sample_input=sample if sample is not None or frame is None else frame.head(5),
            **baseline,
            run_id=self.run_id,
            dataset_digests=list(dict.fromkeys(self.datasets.values())),
            tags={TAG_PIPELINE: self.pipeline.name},
            actor=self.settings.actor,
        )
        digest = store_output(self.store.artifacts, version)
        self.cache.put(key, StepOutcome(digest, digest))
        return version

    @property
    def model_name(self) -> str:
        base = self.pipeline.model_name
        return base if self.tenant is None else f"{base}-{self.tenant}"


def _artifacts_dir(store: Store, settings: Settings) -> Path:
    if isinstance(store.artifacts, LocalArtifactStore):
        return store.artifacts.root.resolve()
    return settings.resolved_artifacts_dir


def _param_text(value: Any) -> str:  # Any: a config value
    return value if isinstance(value, str) else repr(value)
