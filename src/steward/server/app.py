"""The control-plane app factory: REST API, OpenAPI, health, metrics, one error handler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, generate_latest

from steward.audit.routes import router as audit_router
from steward.config import Settings
from steward.errors import InvalidInput, StewardError
from steward.monitoring.exposition import MonitorCollector
from steward.monitoring.monitor_routes import router as monitors_router
from steward.monitoring.routes import router as monitoring_router
from steward.monitoring.runs import run_due
from steward.monitoring.scheduler import Scheduler
from steward.predictions.routes import router as labels_router
from steward.registry.routes import router as registry_router
from steward.retraining.loop import tick_loops
from steward.retraining.rollout import tick_rollouts
from steward.retraining.routes import router as rollouts_router
from steward.server.observability import MetricsMiddleware, render_metrics
from steward.store import Store, open_store
from steward.tracking.routes import router as tracking_router
from steward.version import __version__

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the control plane. The store is opened (and migrated) here unless one is given.

    Raises:
        Unavailable: the metadata store cannot be reached.
    """
    settings = settings or Settings()
    owned = store is None
    store = store or open_store(settings)

    schedulers = _schedulers(store, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for scheduler in schedulers:
            scheduler.start()
        yield
        for scheduler in schedulers:
            scheduler.stop()
        if owned:
            store.close()

    app = FastAPI(
        title="Steward",
        version=__version__,
        description="Control plane: tracking, registry, audit.",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.settings = settings
    for router in (
        tracking_router,
        registry_router,
        rollouts_router,
        audit_router,
        labels_router,
        monitoring_router,
        monitors_router,
    ):
        app.include_router(router)
    _add_error_handlers(app)
    monitor_metrics = CollectorRegistry(auto_describe=False)
    monitor_metrics.register(MonitorCollector(store))
    _add_operational_routes(app, monitor_metrics)
    app.add_middleware(MetricsMiddleware)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StewardError)
    async def steward_error(_request: Request, exc: StewardError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("request failed type=%s message=%s", exc.error_type, exc.message)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(exc), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        body = StewardError(f"internal error: {type(exc).__name__}; see the server log").to_dict()
        return JSONResponse(body, status_code=500)


def validation_error_body(exc: RequestValidationError) -> dict[str, object]:
    """Our error shape for a body FastAPI could not parse, naming the first bad field."""
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        details.append({"field": ".".join(location), "message": str(error.get("msg", ""))})
    first = details[0] if details else {"field": "", "message": "malformed request"}
    field = first["field"] or "body"
    message = f"invalid request: {field}: {first['message']}"
    return InvalidInput(message, field=field, details=details).to_dict()


def _schedulers(store: Store, settings: Settings) -> list[Scheduler]:
    """The background work (off with STEWARD_SCHEDULER_ENABLED): due monitor windows and
    running rollouts in one thread; retraining loops in another, so a long pipeline never
    delays a rollout's rollback."""
    if not settings.scheduler_enabled:
        return []
    return [
        Scheduler(
            lambda is_stopping: _tick(store, settings, is_stopping),
            interval_s=settings.scheduler_interval_s,
            name="steward-monitor-scheduler",
        ),
        Scheduler(
            lambda _is_stopping: tick_loops(store, settings),
            interval_s=settings.scheduler_interval_s,
            name="steward-retraining-scheduler",
        ),
    ]


def _tick(store: Store, settings: Settings, is_stopping: Callable[[], bool]) -> None:
    """One scheduler tick: due monitor windows, then every running rollout."""
    run_due(store, settings, should_stop=is_stopping)
    if is_stopping():
        return
    try:
        tick_rollouts(store, settings)
    except Exception:  # rollouts must not stop the monitors' next tick
        log.exception("rollout tick failed; retrying at the next tick")


def _add_operational_routes(app: FastAPI, monitor_metrics: CollectorRegistry) -> None:
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        body, content_type = render_metrics()
        return PlainTextResponse(body + generate_latest(monitor_metrics), media_type=content_type)
