"""HTTP edge of monitors: configs, runs, computed windows and the metric time series."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from steward.config import Settings
from steward.monitoring.monitors import (
    create_monitor,
    get_monitor,
    list_monitors,
    parse_config,
    update_monitor,
)
from steward.monitoring.runs import run_monitor
from steward.monitoring.timeseries import query_results, query_windows
from steward.web import ActorDep, StoreDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["monitors"])

# Any: a JSON object, checked by the service so errors name the field and the value.
ConfigBody = Annotated[dict[str, Any], Body()]


class CreateMonitorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    config: dict[str, Any]  # Any: a monitor config (docs/monitoring.md)


class RunMonitorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime | None = None
    end: datetime | None = None


class EnableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


@router.post("/monitors", status_code=201)
def create(body: CreateMonitorRequest, store: StoreDep, actor: ActorDep) -> JSONResponse:
    """Create a monitor: `{"name": ..., "config": {"endpoint": ..., "window": "1h", ...}}`."""
    monitor = create_monitor(store, body.name, parse_config(body.config), actor=actor)
    return JSONResponse(monitor.to_dict(), status_code=201)


@router.get("/monitors")
def list_(store: StoreDep, endpoint: str | None = None) -> JSONResponse:
    return JSONResponse({"monitors": [m.to_dict() for m in list_monitors(store, endpoint)]})


@router.get("/monitors/{name}")
def show(name: str, store: StoreDep) -> JSONResponse:
    return JSONResponse(get_monitor(store, name).to_dict())


@router.put("/monitors/{name}")
def update(name: str, body: ConfigBody, store: StoreDep, actor: ActorDep) -> JSONResponse:
    """A new version of the monitor's config (the whole config, as on creation)."""
    monitor = update_monitor(store, name, config=parse_config(body), actor=actor)
    return JSONResponse(monitor.to_dict())


@router.post("/monitors/{name}/enabled")
def enable(name: str, body: EnableRequest, store: StoreDep, actor: ActorDep) -> JSONResponse:
    """Pause (`{"enabled": false}`) or resume a monitor's scheduled runs."""
    return JSONResponse(update_monitor(store, name, enabled=body.enabled, actor=actor).to_dict())


@router.post("/monitors/{name}/run")
async def run(
    name: str, request: Request, store: StoreDep, body: RunMonitorRequest | None = None
) -> JSONResponse:
    """Compute the due windows now, or every window in `start`..`end` (a backfill)."""
    settings: Settings = request.app.state.settings
    start = None if body is None or body.start is None else _ms(body.start)
    end = None if body is None or body.end is None else _ms(body.end)

    def compute() -> list[dict[str, Any]]:
        runs = run_monitor(store, settings, name, start_ms=start, end_ms=end)
        return [r.to_dict() for r in runs]

    return JSONResponse({"runs": await anyio.to_thread.run_sync(compute)})


@router.get("/monitors/{name}/windows")
def windows(
    name: str, store: StoreDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> JSONResponse:
    """Computed windows, newest first."""
    found = query_windows(store, name, limit=limit)
    return JSONResponse({"windows": [w.to_dict() for w in found]})


@router.get("/monitors/{name}/results")
def results(
    name: str,
    store: StoreDep,
    metric: str | None = None,
    feature: str | None = None,
    segment: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> JSONResponse:
    """The time series: one point per window, metric, feature and segment, oldest first."""
    points = query_results(
        store,
        name,
        metric=metric,
        feature=feature,
        segment=segment,
        start_ms=None if start is None else _ms(start),
        end_ms=None if end is None else _ms(end),
        limit=limit,
    )
    return JSONResponse({"results": [p.to_dict() for p in points]})


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
