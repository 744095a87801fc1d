"""What a pipeline run produces and reports: step results, the run, fleet results, failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from steward.config import Settings
from steward.errors import InvalidInput, StewardError
from steward.registry import ModelVersion
from steward.tracking import DatasetInfo

__all__ = [
    "FleetResult",
    "PipelineRun",
    "StepContext",
    "StepFailed",
    "StepOutcome",
    "StepResult",
    "StepStatus",
    "TrainedModel",
]

StepStatus = Literal["ran", "cached"]


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """What a model step returns to have the runner register its model with extras.

    Attributes:
        model: the framework object to register (any flavor `steward.flavors` can save).
        sample_input: a few training rows; the version's input and output schemas come from it.
        metrics: evaluation figures, logged to the pipeline's run (name -> value).
        training_data: the frame the model was fitted on (features only); its inferred
            contract and profile are stored with the version, the serving contract and the
            drift baseline of its monitors.
    """

    model: Any  # Any: the user's framework object
    sample_input: Any = None  # Any: a DataFrame, array or list of dicts
    metrics: Mapping[str, float] = field(default_factory=dict)
    training_data: Any = None  # Any: a pandas DataFrame


@dataclass(frozen=True, slots=True)
class StepContext:
    """Given to a step that declares a `context` parameter (never part of its cache key).

    A step that registers a model itself opens the store from `settings` and passes
    `run_id` to `steward.registry.register_model`, then returns the `ModelVersion`.
    """

    pipeline: str
    step: str
    run_id: str
    tenant: str | None
    attempt: int
    settings: Settings


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """A step's output as stored: its blob, its content fingerprint, and its shape if a frame.

    Attributes:
        output_digest: sha256 of the pickled output in the artifact store.
        fingerprint: the frame fingerprint for a DataFrame, otherwise `output_digest`.
        dataset: the frame's fingerprint and schema when the output is a DataFrame.
    """

    output_digest: str
    fingerprint: str
    dataset: DatasetInfo | None = None
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class StepResult:
    """How one step went in one pipeline run."""

    name: str
    status: StepStatus
    attempts: int
    duration_s: float
    output_digest: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One execution of a pipeline: its tracking run, its steps, and the model version out.

    Attributes:
        run_id: the tracking run recording params, datasets, metrics and step tags.
        model_version: the version registered (or reused from the cache), None when the
            pipeline registers nothing.
        dataset_digests: fingerprints of the DataFrames the steps produced and consumed.
    """

    pipeline: str
    run_id: str
    tenant: str | None
    steps: tuple[StepResult, ...]
    model_version: ModelVersion | None
    dataset_digests: tuple[str, ...]
    duration_s: float

    def step(self, name: str) -> StepResult:
        """Raises: InvalidInput when no step has that name."""
        for result in self.steps:
            if result.name == name:
                return result
        names = ", ".join(r.name for r in self.steps)
        raise InvalidInput(f"pipeline {self.pipeline!r} has no step {name!r}; steps: {names}")

    @property
    def cached_steps(self) -> list[str]:
        return [r.name for r in self.steps if r.status == "cached"]

    @property
    def ran_steps(self) -> list[str]:
        return [r.name for r in self.steps if r.status == "ran"]


@dataclass(frozen=True, slots=True)
class FleetResult:
    """One tenant of a fleet: its run and model version, or the error that stopped it."""

    tenant: str
    model_name: str
    run: PipelineRun | None
    error: str | None
    duration_s: float

    @property
    def version(self) -> ModelVersion | None:
        return None if self.run is None else self.run.model_version

    @property
    def is_ok(self) -> bool:
        return self.error is None


class StepFailed(StewardError):
    """A step raised on its last attempt; the run is FAILED, earlier steps stay cached.

    Attributes:
        step: the name of the step that failed.
        run_id: the tracking run marked FAILED.
        attempts: how many times the step was tried.
    """

    status_code = 500
    error_type = "step_failed"

    def __init__(self, message: str, *, step: str, run_id: str, attempts: int) -> None:
        super().__init__(message, field=f"steps.{step}")
        self.step = step
        self.run_id = run_id
        self.attempts = attempts

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments: the default exception pickling would lose them.
        return (_rebuild_step_failed, (self.message, self.step, self.run_id, self.attempts))


def _rebuild_step_failed(message: str, step: str, run_id: str, attempts: int) -> StepFailed:
    return StepFailed(message, step=step, run_id=run_id, attempts=attempts)
