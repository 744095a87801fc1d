"""Steps and pipelines: decorated top-level functions, run in order, wired by parameter name.

A step's parameters are filled, by name, from (1) the output of an earlier step of that
name, (2) the run's params (the config file's `params:` mapping, plus the tenant key in a
fleet), (3) `context`, a `StepContext`, (4) the parameter's own default. Anything else is
an error before the run starts.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

import yaml

from steward.errors import InvalidInput, NotFound
from steward.registry.validation import check_model_name

__all__ = [
    "CONTEXT_PARAMETER",
    "Pipeline",
    "PipelineConfig",
    "Step",
    "StepOptions",
    "load_config",
    "load_pipeline",
    "step",
]

CONTEXT_PARAMETER = "context"
_OPTIONS_ATTR = "__steward_step__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class StepOptions:
    """How the runner treats a step: retries with exponential backoff, output caching."""

    retries: int = 0
    backoff_s: float = 1.0
    cache: bool = True


@overload
def step(fn: F, /) -> F: ...


@overload
def step(*, retries: int = 0, backoff_s: float = 1.0, cache: bool = True) -> Callable[[F], F]: ...


def step(
    fn: F | None = None, /, *, retries: int = 0, backoff_s: float = 1.0, cache: bool = True
) -> F | Callable[[F], F]:
    """Mark a function as a pipeline step; `@step` or `@step(retries=2, backoff_s=0.5)`.

    The function itself is returned (with its options attached), so it stays picklable by
    reference and can be sent to a process pool or a Dask worker.

    Args:
        retries: extra attempts after a failure; attempt n+1 waits `backoff_s * 2**(n-1)`.
        backoff_s: seconds before the first retry.
        cache: reuse the stored output when code, inputs and params are unchanged; turn off
            for steps with side effects.

    Raises:
        InvalidInput: a negative `retries` or `backoff_s`.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidInput(f"step retries must be an integer >= 0, got {retries!r}")
    if not backoff_s >= 0:
        raise InvalidInput(f"step backoff_s must be a number of seconds >= 0, got {backoff_s!r}")
    options = StepOptions(retries=retries, backoff_s=float(backoff_s), cache=cache)

    def mark(function: F) -> F:
        setattr(function, _OPTIONS_ATTR, options)
        return function

    return mark if fn is None else mark(fn)


@dataclass(frozen=True, slots=True)
class Step:
    """A step as the runner sees it: its function, options and parameter names."""

    name: str
    fn: Callable[..., Any]
    options: StepOptions
    parameters: tuple[str, ...]
    required: frozenset[str]

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Step:
        """Raises: InvalidInput for a non-function, a nested function or `*args`/`**kwargs`."""
        if not inspect.isfunction(fn):
            raise InvalidInput(f"pipeline step {fn!r} is not a function; decorate one with @step")
        if "<locals>" in fn.__qualname__ or fn.__name__ == "<lambda>":
            raise InvalidInput(
                f"pipeline step {fn.__qualname__!r} must be a top-level function of a module "
                "so that a worker process can import it"
            )
        signature = inspect.signature(fn)
        variadic = [p.name for p in signature.parameters.values() if p.kind in _VARIADIC]
        if variadic:
            raise InvalidInput(
                f"step {fn.__name__!r} takes *{variadic[0]}; steps take named parameters only"
            )
        empty = inspect.Parameter.empty
        return cls(
            name=fn.__name__,
            fn=fn,
            options=getattr(fn, _OPTIONS_ATTR, StepOptions()),
            parameters=tuple(signature.parameters),
            required=frozenset(n for n, p in signature.parameters.items() if p.default is empty),
        )


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class Pipeline:
    """Ordered steps, plus which step's output is the model to register.

    Args:
        name: names the experiment, the runs and (by default) the registered model.
        steps: step functions in execution order; each is named by its function name.
        model_step: the step whose output is registered; the last step when None.
            Its output may be a model object, a `TrainedModel`, or a `ModelVersion` the step
            registered itself.
        register: False for pipelines that produce no model.
        model_name: the registered model's name (default `name`); a fleet appends
            `-<tenant>`.

    Raises:
        InvalidInput: a bad name, no steps, duplicate step names, a parameter named after a
            later step, or an unknown `model_step`.
    """

    def __init__(
        self,
        name: str,
        steps: Sequence[Callable[..., Any]],
        *,
        model_step: str | None = None,
        register: bool = True,
        model_name: str | None = None,
    ) -> None:
        check_model_name(name)
        self.name = name
        self.steps = tuple(Step.of(fn) for fn in steps)
        if not self.steps:
            raise InvalidInput(f"pipeline {name!r} has no steps; pass steps=[...]")
        self._check_wiring()
        names = [s.name for s in self.steps]
        self.model_step = (model_step or names[-1]) if register else None
        if self.model_step is not None and self.model_step not in names:
            raise InvalidInput(
                f"model_step {model_step!r} is not a step of pipeline {name!r}; steps: "
                + ", ".join(names)
            )
        self.model_name = check_model_name(model_name or name)

    def _check_wiring(self) -> None:
        seen: set[str] = set()
        names = {s.name for s in self.steps}
        for current in self.steps:
            if current.name in seen:
                raise InvalidInput(f"pipeline {self.name!r} has two steps named {current.name!r}")
            later = [p for p in current.parameters if p in names and p not in seen]
            if later:
                raise InvalidInput(
                    f"step {current.name!r} takes {later[0]!r}, the output of a step that runs "
                    "later (or itself); reorder the steps"
                )
            seen.add(current.name)

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Check that every step's required parameters will be filled.

        Raises:
            InvalidInput: a param named like a step, or a required parameter nobody fills.
        """
        names = {s.name for s in self.steps}
        clash = sorted(names & set(params))
        if clash:
            raise InvalidInput(
                f"param {clash[0]!r} has the name of a step of pipeline {self.name!r}; "
                "rename one of them",
                field=f"params.{clash[0]}",
            )
        filled = names | set(params) | {CONTEXT_PARAMETER}
        for current in self.steps:
            missing = sorted(current.required - filled)
            if missing:
                given = ", ".join(sorted(params)) or "none"
                raise InvalidInput(
                    f"step {current.name!r} of pipeline {self.name!r} needs {missing[0]!r}: no "
                    f"earlier step has that name and no param does (params given: {given})",
                    field=f"params.{missing[0]}",
                )

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, steps={[s.name for s in self.steps]})"


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """A pipeline's config file: `params:`, and for fleets `tenant_key:` and `tenants:`."""

    params: dict[str, Any] = field(default_factory=dict)
    tenant_key: str | None = None
    tenants: list[str] = field(default_factory=list)


def load_config(path: Path) -> PipelineConfig:
    """Read a YAML or JSON config file.

    Raises:
        NotFound: no file at `path`.
        InvalidInput: not YAML/JSON, not a mapping, or keys of the wrong shape.
    """
    if not Path(path).is_file():
        raise NotFound(f"no pipeline config file at {str(path)!r}")
    try:
        document = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"pipeline config {str(path)!r} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"pipeline config {str(path)!r} must be a mapping with a params: key")
    unknown = sorted(set(document) - {"params", "tenant_key", "tenants"})
    params, tenants = document.get("params") or {}, document.get("tenants") or []
    if unknown or not isinstance(params, dict) or not isinstance(tenants, list):
        raise InvalidInput(
            f"pipeline config {str(path)!r} accepts params: (a mapping), tenant_key: (a name) "
            f"and tenants: (a list); got keys {sorted(document)}"
        )
    key = document.get("tenant_key")
    return PipelineConfig(
        params=params,
        tenant_key=None if key is None else str(key),
        tenants=[str(t) for t in tenants],
    )


def load_pipeline(target: str) -> Pipeline:
    """The `Pipeline` named by "package.module:attribute" (the working directory is importable).

    Raises:
        InvalidInput: not of that form, or the attribute is not a Pipeline.
        NotFound: the module or the attribute does not exist.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise InvalidInput(f"pipeline {target!r} must be MODULE:PIPELINE, e.g. train:pipeline")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise NotFound(f"cannot import module {module_name!r} of pipeline {target!r}") from exc
    found = getattr(module, attribute, None)
    if found is None:
        raise NotFound(f"module {module_name!r} has no attribute {attribute!r}")
    if not isinstance(found, Pipeline):
        raise InvalidInput(f"{target!r} is a {type(found).__name__}, not a steward Pipeline")
    return found
