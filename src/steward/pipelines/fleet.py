"""Fleets: one pipeline, one model per tenant, trained in parallel on an executor.

Each tenant is one task: the worker process opens its own store from the settings (a store
is never pickled), runs the whole pipeline there with the tenant's value as a param, and
answers with the run or the error. One tenant failing never stops the others.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from steward.config import Settings
from steward.errors import InvalidInput
from steward.pipelines.entities import FleetResult
from steward.pipelines.executors import Executor, InlineExecutor, LocalExecutor
from steward.pipelines.runner import run_pipeline
from steward.pipelines.steps import Pipeline
from steward.store import Store, open_store

__all__ = ["run_fleet", "train_tenant"]

log = logging.getLogger(__name__)

_stores: dict[tuple[int, str], Store] = {}
_stores_lock = threading.Lock()


def run_fleet(
    pipeline: Pipeline,
    *,
    tenants: Sequence[str | int],
    tenant_key: str = "tenant",
    params: Mapping[str, Any] | None = None,
    settings: Settings,
    executor: Executor | None = None,
) -> list[FleetResult]:
    """Train one model per tenant, each registered as `<model_name>-<tenant>`.

    The tenant's value reaches the steps as the param `tenant_key`; the steps filter their
    data by it.

    Args:
        tenants: distinct tenant values (their text forms name the models).
        settings: every worker opens the store these describe; use a database and artifact
            folder all workers can reach (PostgreSQL and shared storage across machines).
        executor: a `LocalExecutor` made (and closed) for this call if None.

    Returns:
        One result per tenant, in the order given: the run and version, or the error.

    Raises:
        InvalidInput: no tenants, duplicates, or missing step parameters (before any work).
    """
    values = _checked(pipeline, tenants, tenant_key, params)
    owned = executor is None
    active = LocalExecutor() if executor is None else executor
    try:
        handles = [
            (tenant, active.submit(train_tenant, pipeline, values, tenant_key, tenant, settings))
            for tenant in tenants
        ]
        return [_collect(pipeline, str(tenant), handle) for tenant, handle in handles]
    finally:
        if owned:
            active.close()


def _checked(
    pipeline: Pipeline,
    tenants: Sequence[str | int],
    tenant_key: str,
    params: Mapping[str, Any] | None,
) -> dict[str, Any]:
    texts = [str(t) for t in tenants]
    if not texts:
        raise InvalidInput("a fleet needs at least one tenant", field="tenants")
    if len(set(texts)) != len(texts):
        duplicate = next(t for t in texts if texts.count(t) > 1)
        raise InvalidInput(f"tenant {duplicate!r} is listed twice", field="tenants")
    values = dict(params or {})
    pipeline.check_params({**values, tenant_key: texts[0]})
    return values


def _collect(pipeline: Pipeline, tenant: str, handle: Any) -> FleetResult:  # Any: ResultHandle
    try:
        result: FleetResult = handle.result()
    except Exception as exc:  # the worker itself died, or the result could not come back
        return FleetResult(tenant, f"{pipeline.model_name}-{tenant}", None, _describe(exc), 0.0)
    return result


def train_tenant(
    pipeline: Pipeline,
    params: Mapping[str, Any],
    tenant_key: str,
    tenant: str | int,
    settings: Settings,
) -> FleetResult:
    """One tenant's pipeline, in the worker process: never raises, reports the error instead."""
    started = time.perf_counter()
    label = str(tenant)
    model_name = f"{pipeline.model_name}-{label}"
    try:
        run = run_pipeline(
            pipeline,
            params={**params, tenant_key: tenant},
            store=_process_store(settings),
            settings=settings,
            executor=InlineExecutor(),
            tenant=label,
        )
    except Exception as exc:
        log.warning("fleet tenant failed pipeline=%s tenant=%s error=%s", pipeline.name, label, exc)
        return FleetResult(label, model_name, None, _describe(exc), time.perf_counter() - started)
    return FleetResult(label, model_name, run, None, time.perf_counter() - started)


def _process_store(settings: Settings) -> Store:
    """One store per worker process and settings, opened (and migrated) once."""
    # The pid is part of the key: a forked child must not reuse its parent's connections.
    key = (os.getpid(), settings.model_dump_json())
    with _stores_lock:
        if key not in _stores:
            _stores[key] = open_store(settings)
        return _stores[key]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
