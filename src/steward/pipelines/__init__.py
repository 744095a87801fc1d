"""Pipelines: training as ordered steps, cached by fingerprint, run on a local pool or Dask."""

from __future__ import annotations

from steward.pipelines.entities import (
    FleetResult,
    PipelineRun,
    StepContext,
    StepFailed,
    StepResult,
    TrainedModel,
)
from steward.pipelines.executors import (
    DaskExecutor,
    Executor,
    InlineExecutor,
    LocalExecutor,
    make_executor,
)
from steward.pipelines.fleet import run_fleet
from steward.pipelines.runner import run_pipeline
from steward.pipelines.steps import Pipeline, PipelineConfig, load_config, load_pipeline, step

__all__ = [
    "DaskExecutor",
    "Executor",
    "FleetResult",
    "InlineExecutor",
    "LocalExecutor",
    "Pipeline",
    "PipelineConfig",
    "PipelineRun",
    "StepContext",
    "StepFailed",
    "StepResult",
    "TrainedModel",
    "load_config",
    "load_pipeline",
    "make_executor",
    "run_fleet",
    "run_pipeline",
    "step",
]
