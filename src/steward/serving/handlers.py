"""The data plane's routes: three prediction protocols, their metadata, health and metrics.

Each handler takes the parsed request and path parameters and returns a response; errors
are raised as Steward errors and rendered by the app in the route's own dialect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from steward.errors import InvalidInput, NotFound, StewardError
from steward.serving import metrics, protocols, v2
from steward.serving.follower import Follower
from steward.serving.http import HttpRequest, HttpResponse
from steward.serving.router import PIN_HEADER
from steward.serving.runtime import RoutingTable
from steward.serving.service import Answer, PredictionService, Query
from steward.version import __version__

__all__ = ["Handler", "Handlers", "Renderer"]

Handler = Callable[[HttpRequest, dict[str, str]], Awaitable[HttpResponse]]
Renderer = Callable[[StewardError], bytes]

_TEXT = b"text/plain; charset=utf-8"


class Handlers:
    """Route handlers over one prediction service (and the follower, for readiness)."""

    def __init__(self, service: PredictionService, follower: Follower | None) -> None:
        self.service = service
        self.follower = follower

    # Predictions ------------------------------------------------------------------------

    async def predict(self, request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        """`POST /predict`: Steward's native protocol."""
        table = self.service.current()
        rows, probabilities = protocols.parse_native(request.body, table.features)
        answer = await self.service.answer(
            Query(rows, request.headers.get(PIN_HEADER), request.headers, probabilities)
        )
        return _answered(protocols.native_body(answer), answer, with_ids=False)

    async def invocations(self, request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        """`POST /invocations`: MLflow's scoring protocol, answered exactly as MLflow does."""
        table = self.service.current()
        rows = protocols.parse_mlflow(
            request.body, request.headers.get("content-type"), table.features
        )
        answer = await self.service.answer(
            Query(rows, request.headers.get(PIN_HEADER), request.headers)
        )
        return _answered(protocols.mlflow_body(answer), answer, with_ids=True)

    async def v2_infer(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        """`POST /v2/models/{name}[/versions/{version}]/infer`: Open Inference Protocol."""
        v2.check_not_binary(request.headers.get(v2.BINARY_HEADER))
        table = self._serving(params["name"])
        parsed = v2.parse_infer(request.body, table.features)
        pin = params.get("version") or request.headers.get(PIN_HEADER)
        query = Query(parsed.rows, pin, request.headers, "predict_proba" in parsed.outputs)
        answer = await self.service.answer(query)
        return _answered(v2.infer_body(answer, parsed, params["name"]), answer, with_ids=True)

    # Metadata and health -----------------------------------------------------------------

    async def v2_model(self, _request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        table = self._serving(params["name"], params.get("version"))
        return _json(v2.model_metadata(table, params["name"]))

    async def v2_model_ready(self, _request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        table = self._serving(params["name"], params.get("version"))
        return _json({"name": params["name"], "ready": table is not None})

    async def v2_server(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        return _json({"name": "steward", "version": __version__, "extensions": []})

    async def v2_live(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        return _json({"live": True})

    async def v2_ready(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        is_ready = self.service.runtime.is_ready
        return _json({"ready": is_ready}, 200 if is_ready else 503)

    async def healthz(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        return _json({"status": "ok"})

    async def readyz(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        """Ready once a routing table is loaded; the body says what is served and from where."""
        table = self.service.runtime.table
        body: dict[str, Any] = {"ready": table is not None}
        if table is not None:
            body |= _describe(table)
        if self.follower is not None:
            status = self.follower.status
            body["store_reachable"] = status.is_store_reachable
            body["last_poll_ok_ms"] = status.last_success_ms
            body["last_poll_error"] = status.last_error
        return _json(body, 200 if table is not None else 503)

    async def ping(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        """MLflow's `GET /ping` and `GET /health`: 200 once the model is loaded."""
        is_ready = self.service.runtime.is_ready
        return HttpResponse(200 if is_ready else 503, b"\n", _TEXT)

    async def version(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        return HttpResponse(200, __version__.encode(), _TEXT)

    async def metrics(self, _request: HttpRequest, _params: dict[str, str]) -> HttpResponse:
        body, content_type = metrics.render_metrics()
        return HttpResponse(200, body, content_type.encode())

    def _serving(self, name: str, version: str | None = None) -> RoutingTable:
        """The table, when `name` (and `version`) is what this replica serves.

        Raises:
            Unavailable: nothing loaded yet.
            NotFound: another model or a version not loaded here (the message lists them).
        """
        table = self.service.current()
        if not table.serves(name):
            raise NotFound(
                f"model {name!r} is not served here; this server serves "
                f"{table.spec.model_name!r} (endpoint {table.spec.name!r})",
                field="name",
            )
        if version is not None:
            try:
                table.router.pinned(version)
            except InvalidInput as exc:  # in a path, a version not loaded is a missing resource
                raise NotFound(exc.message, field="version") from None
        return table


def _answered(body: bytes, answer: Answer, *, with_ids: bool) -> HttpResponse:
    version = "" if answer.model_version is None else str(answer.model_version)
    headers = [
        (b"x-steward-model-version", version.encode()),
        (b"x-steward-route", answer.route.encode()),
    ]
    if with_ids:
        headers.append((b"x-steward-prediction-ids", ",".join(answer.prediction_ids).encode()))
    return HttpResponse(200, body, headers=headers, version=answer.label, route=answer.route)


def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(status, orjson.dumps(body))


def _describe(table: RoutingTable) -> dict[str, Any]:
    spec = table.spec
    return {
        "name": spec.name,
        "model_name": spec.model_name,
        "fingerprint": spec.fingerprint,
        "origin": table.origin,
        "traffic": [
            {"target": t.label, "version": t.version.version, "weight": t.weight}
            for t in spec.traffic
        ],
        "shadow": [v.version for v in spec.shadow],
        "fallback": [v.version for v in spec.fallback],
        "contract_mode": spec.contract_mode,
        "timeout_ms": spec.timeout_ms,
    }
