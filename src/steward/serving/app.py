"""The data-plane app factory: one ASGI application speaking three prediction protocols.

Bare ASGI rather than FastAPI: on a single-row request the framework's per-request work
(dependency solving, response models, middleware stack) costs more than the model, and
the routes here are few and fixed. The app keeps the control plane's habits: one place
turns a `StewardError` into its status and body, and metrics are recorded per request
without a middleware stack.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from steward.errors import NotFound, StewardError
from steward.predictions import PredictionLog
from steward.serving import metrics, protocols, v2
from steward.serving.cache import ServingCache
from steward.serving.follower import Follower
from steward.serving.handlers import Handler, Handlers, Renderer
from steward.serving.http import (
    HttpRequest,
    HttpResponse,
    MethodNotAllowed,
    Receive,
    Scope,
    Send,
    read_body,
    send_response,
)
from steward.serving.runtime import Runtime
from steward.serving.service import PredictionService
from steward.serving.shadow import ShadowMirror
from steward.serving.sources import SpecSource

__all__ = ["DEFAULT_MAX_BODY_BYTES", "ServingApp", "create_serving_app"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
_V2_MODELS = "/v2/models/"


@dataclass(frozen=True, slots=True)
class _Route:
    methods: dict[str, Handler]
    render_error: Renderer


class ServingApp:
    """The ASGI application of `steward serve`.

    Attributes:
        runtime: the routing table being served (swapped by the follower).
        follower: polls the registry; None for a fixed table.
        service: the prediction use case behind every protocol.
    """

    def __init__(
        self,
        service: PredictionService,
        *,
        follower: Follower | None = None,
        mirror: ShadowMirror | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.service = service
        self.runtime = service.runtime
        self.follower = follower
        self.mirror = mirror
        self.max_body_bytes = max_body_bytes
        self._routes = _route_table(Handlers(service, follower))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def startup(self) -> None:
        """Start following the registry (the first load happens in the follower's thread)."""
        if self.follower is not None:
            self.follower.start()

    def shutdown(self) -> None:
        """Stop polling, run the queued shadow copies, and flush the prediction log."""
        if self.follower is not None:
            self.follower.stop()
        if self.mirror is not None:
            self.mirror.close()
        self.service.close()
        if self.service.prediction_log is not None:
            try:
                self.service.prediction_log.close()
            except StewardError as exc:  # said once, at exit: the error counts what was lost
                log.error("prediction log not flushed at shutdown error=%s", exc.message)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        template, params = _match(path)
        route = self._routes.get(template)
        if route is None:
            template = "unmatched"  # keeps the metrics' label values bounded
        metrics.IN_FLIGHT.inc()
        try:
            response = await self._respond(scope, receive, path, route, params)
        finally:
            metrics.IN_FLIGHT.dec()
        await send_response(send, response)
        status = str(response.status)
        metrics.child(metrics.REQUESTS, template, response.version, response.route, status).inc()
        metrics.child(metrics.LATENCY, template).observe(time.perf_counter() - started)

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        path: str,
        route: _Route | None,
        params: dict[str, str],
    ) -> HttpResponse:
        render = protocols.native_error if route is None else route.render_error
        try:
            method: str = scope["method"]
            handler = _handler(route, method, path)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            body = (
                b"" if method == "GET" else await read_body(receive, headers, self.max_body_bytes)
            )
            return await handler(HttpRequest(method, path, headers, body), params)
        except StewardError as exc:  # failing models are logged by the service, throttled
            return HttpResponse(exc.status_code, render(exc))
        except Exception as exc:  # a bug of ours: a 500 with a pointer to the log, never a crash
            log.exception("unexpected error path=%s", path, exc_info=exc)
            error = StewardError(f"internal error: {type(exc).__name__}; see the server log")
            return HttpResponse(500, render(error))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_serving_app(
    source: SpecSource | None = None,
    *,
    runtime: Runtime | None = None,
    cache: ServingCache | None = None,
    poll_interval_s: float = 5.0,
    prediction_log: PredictionLog | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    model_workers: int = 4,
    shadow_queue_size: int = 1000,
) -> ServingApp:
    """The data plane for `source` (followed in the background), or for a fixed `runtime`.

    Args:
        source: an endpoint or a model URI in the registry; its spec is loaded when the app
            starts (call `app.follower.load_initial()` first to load before listening).
        runtime: a runtime to serve as it is (no following); ignored with a `source`.
        cache: local copy of the last known configuration, used when the store is down.
        poll_interval_s: seconds between registry polls.
        prediction_log: where every answered row is appended; the app closes it at shutdown.
        max_body_bytes: larger request bodies get a 413.
        model_workers: threads running models under a timeout.
        shadow_queue_size: shadow copies waiting beyond which new ones are dropped.
    """
    runtime = runtime or Runtime()
    follower = None
    if source is not None:
        follower = Follower(source, runtime, cache=cache, poll_interval_s=poll_interval_s)
    mirror = ShadowMirror(prediction_log, max_queued=shadow_queue_size)
    service = PredictionService(
        runtime, prediction_log=prediction_log, mirror=mirror, workers=model_workers
    )
    return ServingApp(service, follower=follower, mirror=mirror, max_body_bytes=max_body_bytes)


def _route_table(handlers: Handlers) -> dict[str, _Route]:
    native, mlflow, oip = protocols.native_error, protocols.mlflow_error, v2.v2_error
    return {
        "/predict": _Route({"POST": handlers.predict}, native),
        "/invocations": _Route({"POST": handlers.invocations}, mlflow),
        "/ping": _Route({"GET": handlers.ping}, mlflow),
        "/health": _Route({"GET": handlers.ping}, mlflow),
        "/version": _Route({"GET": handlers.version}, mlflow),
        "/v2": _Route({"GET": handlers.v2_server}, oip),
        "/v2/health/live": _Route({"GET": handlers.v2_live}, oip),
        "/v2/health/ready": _Route({"GET": handlers.v2_ready}, oip),
        "/v2/models/{name}": _Route({"GET": handlers.v2_model}, oip),
        "/v2/models/{name}/ready": _Route({"GET": handlers.v2_model_ready}, oip),
        "/v2/models/{name}/infer": _Route({"POST": handlers.v2_infer}, oip),
        "/v2/models/{name}/versions/{version}": _Route({"GET": handlers.v2_model}, oip),
        "/v2/models/{name}/versions/{version}/ready": _Route({"GET": handlers.v2_model_ready}, oip),
        "/v2/models/{name}/versions/{version}/infer": _Route({"POST": handlers.v2_infer}, oip),
        "/healthz": _Route({"GET": handlers.healthz}, native),
        "/readyz": _Route({"GET": handlers.readyz}, native),
        "/metrics": _Route({"GET": handlers.metrics}, native),
    }


def _match(path: str) -> tuple[str, dict[str, str]]:
    """The route template of `path` (the path itself for fixed routes) and its parameters."""
    if not path.startswith(_V2_MODELS):
        return path, {}
    parts = path[len(_V2_MODELS) :].split("/")
    name = parts[0]
    if len(parts) >= 3 and parts[1] == "versions":
        rest, params = parts[3:], {"name": name, "version": parts[2]}
        base = "/v2/models/{name}/versions/{version}"
    else:
        rest, params, base = parts[1:], {"name": name}, "/v2/models/{name}"
    if not rest:
        return base, params
    if len(rest) == 1 and rest[0] in ("ready", "infer"):
        return f"{base}/{rest[0]}", params
    return "unmatched", {}


def _handler(route: _Route | None, method: str, path: str) -> Handler:
    """Raises: NotFound (no such path), MethodNotAllowed (the path takes other methods)."""
    if route is None:
        raise NotFound(
            f"no route {method} {path}; prediction routes: POST /predict, POST /invocations, "
            "POST /v2/models/{name}/infer (see docs/serving.md)",
            field="path",
        )
    handler = route.methods.get(method)
    if handler is None:
        raise MethodNotAllowed(
            f"{method} {path} is not allowed; use {', '.join(route.methods)}", field="method"
        )
    return handler
