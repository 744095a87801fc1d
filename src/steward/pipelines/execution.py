"""The work sent to an executor: run one step in whatever process picks it up.

Inputs and outputs travel through the artifact store, not through the orchestrating
process: a worker reads its inputs by digest, runs the step, stores the output, and
answers with the digest and fingerprint only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.pipelines.cache import fingerprint_output, load_output, store_output
from steward.pipelines.entities import StepContext, StepOutcome
from steward.pipelines.steps import CONTEXT_PARAMETER
from steward.store import LocalArtifactStore

__all__ = ["StepTask", "execute_step"]


@dataclass(frozen=True, slots=True)
class StepTask:
    """One attempt of one step, picklable.

    Attributes:
        inputs: parameter name -> digest of an earlier step's stored output.
        values: parameter name -> param value from the config.
        context: given as `context` when the step declares it.
    """

    fn: Callable[..., Any]
    artifacts_dir: Path
    inputs: Mapping[str, str]
    values: Mapping[str, Any]  # Any: config values (JSON/YAML scalars, lists, mappings)
    context: StepContext | None


def execute_step(task: StepTask) -> StepOutcome:
    """Run the step on its inputs and store its output. Exceptions propagate as the step's."""
    artifacts = LocalArtifactStore(task.artifacts_dir)
    kwargs: dict[str, Any] = {name: load_output(artifacts, d) for name, d in task.inputs.items()}
    kwargs.update(task.values)
    if task.context is not None:
        kwargs[CONTEXT_PARAMETER] = task.context
    started = time.perf_counter()
    output = task.fn(**kwargs)
    duration_s = time.perf_counter() - started
    digest = store_output(artifacts, output)
    fingerprint, dataset = fingerprint_output(output, digest)
    return StepOutcome(digest, fingerprint, dataset, duration_s)
