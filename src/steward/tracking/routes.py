"""REST routes of tracking under /api/v1: HTTP in, service call, JSON out.

Responses are built by `wire` and returned as `JSONResponse`, so FastAPI does not validate
them a second time; the `*Response` models document their shape in the OpenAPI schema.
The metric routes are on the hot path: the request items go to the service as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from steward.errors import InvalidInput
from steward.tracking import artifacts, datasets, experiments, service, wire
from steward.tracking.entities import FINISHED, DatasetInfo, RunArtifact
from steward.web import ActorDep, StoreDep, fast_json_body, json_body_openapi

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["tracking"])

ParamValue = StrictStr | StrictInt | StrictFloat | bool | None
WireFloat = Annotated[
    StrictFloat | StrictStr,
    Field(description='A number, or "NaN", "Infinity", "-Infinity" (JSON has none of them).'),
]
# Any: contracts, profiles and provenance documents are open JSON objects.
JsonObject = dict[str, Any]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- request bodies ------------------------------------------------------------------------


class ExperimentRequest(_Request):
    name: str
    tags: dict[str, str] = {}


class RunRequest(_Request):
    experiment_id: str | None = Field(None, description="The experiment's id; or:")
    experiment_name: str | None = Field(
        None, description="The experiment's name; it is created when missing."
    )
    name: str | None = None
    params: dict[str, ParamValue] = {}
    tags: dict[str, str] = {}
    user: str | None = Field(None, description="Default: the caller's identity.")
    code_version: JsonObject = {}
    environment: JsonObject = {}
    run_id: str | None = None


class ParamsRequest(_Request):
    params: dict[str, ParamValue]


class TagsRequest(_Request):
    tags: dict[str, str]


class MetricRequest(_Request):
    key: StrictStr
    value: WireFloat
    step: StrictInt = 0
    timestamp_ms: StrictInt | None = Field(None, description="Default: the server's clock.")


class MetricsRequest(_Request):
    metrics: list[MetricRequest]


class LogBatchRequest(_Request):
    metrics: list[MetricRequest] = []
    params: dict[str, ParamValue] = {}
    tags: dict[str, str] = {}


class EndRunRequest(_Request):
    status: str = FINISHED
    metrics: list[MetricRequest] = Field(
        default=[], description="Last points, written in the same transaction as the end."
    )


class SearchRunsRequest(_Request):
    experiment_ids: list[str] = []
    experiment_names: list[str] = []
    filter: str | None = None
    order_by: list[str] = []
    max_results: StrictInt = 100
    page_token: str | None = None


class DatasetRequest(_Request):
    name: str
    context: str = "training"
    digest: str
    num_rows: StrictInt
    num_columns: StrictInt
    schema_: list[dict[str, str]] = Field(alias="schema")
    contract: JsonObject | None = None
    profile: JsonObject | None = None


# Bulk bodies parsed straight from bytes by pydantic-core (see steward.web.fast_json_body).
MetricsBody = Annotated[MetricsRequest, fast_json_body(MetricsRequest)]
LogBatchBody = Annotated[LogBatchRequest, fast_json_body(LogBatchRequest)]


# --- response bodies (documentation of what `wire` produces) -------------------------------


class ExperimentResponse(BaseModel):
    id: str
    name: str
    tags: dict[str, str]
    lifecycle: str
    created_at: datetime


class ExperimentListResponse(BaseModel):
    experiments: list[ExperimentResponse]


class RunInputResponse(BaseModel):
    dataset_id: str
    name: str
    digest: str
    context: str


class RunArtifactResponse(BaseModel):
    path: str
    digest: str
    size_bytes: int


class RunArtifactListResponse(BaseModel):
    artifacts: list[RunArtifactResponse]


class RunResponse(BaseModel):
    id: str
    experiment_id: str
    name: str
    status: str
    start_time: datetime
    end_time: datetime | None
    user: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, WireFloat]
    code_version: JsonObject
    environment: JsonObject
    inputs: list[RunInputResponse]
    artifacts: list[RunArtifactResponse]


class RunPageResponse(BaseModel):
    runs: list[RunResponse]
    next_page_token: str | None


class MetricResponse(BaseModel):
    key: str
    value: WireFloat
    step: int
    timestamp_ms: int


class MetricHistoryResponse(BaseModel):
    metrics: list[MetricResponse]


class DatasetResponse(BaseModel):
    id: str
    name: str
    digest: str
    num_rows: int
    num_columns: int
    schema_: list[dict[str, str]] = Field(alias="schema")
    contract: JsonObject | None
    profile: JsonObject | None
    created_at: datetime


# --- experiments ---------------------------------------------------------------------------


@router.post("/experiments", status_code=201, response_model=ExperimentResponse)
def create_experiment(body: ExperimentRequest, store: StoreDep) -> Response:
    experiment = experiments.create_experiment(store, body.name, body.tags)
    return JSONResponse(wire.experiment_to_json(experiment), status_code=201)


@router.get("/experiments", response_model=ExperimentListResponse)
def list_experiments(store: StoreDep) -> Response:
    found = experiments.list_experiments(store)
    return JSONResponse({"experiments": [wire.experiment_to_json(e) for e in found]})


@router.get("/experiments/{id_or_name:path}", response_model=ExperimentResponse)
def get_experiment(id_or_name: str, store: StoreDep) -> Response:
    return JSONResponse(wire.experiment_to_json(experiments.get_experiment(store, id_or_name)))


# --- runs ----------------------------------------------------------------------------------


@router.post("/runs", status_code=201, response_model=RunResponse)
def start_run(body: RunRequest, store: StoreDep, actor: ActorDep) -> Response:
    if body.experiment_id is not None:
        experiment_id = body.experiment_id
    elif body.experiment_name is not None:
        experiment_id = experiments.get_or_create_experiment(store, body.experiment_name).id
    else:
        raise InvalidInput("a run needs experiment_id or experiment_name", field="experiment_id")
    run = service.start_run(
        store,
        experiment_id,
        name=body.name,
        params=body.params,
        tags=body.tags,
        user=body.user or actor,
        code_version=body.code_version,
        environment=body.environment,
        run_id=body.run_id,
    )
    return JSONResponse(wire.run_to_json(run), status_code=201)


@router.post("/runs/search", response_model=RunPageResponse)
def search_runs(body: SearchRunsRequest, store: StoreDep) -> Response:
    named = [experiments.get_experiment(store, name).id for name in body.experiment_names]
    page = service.search_runs(
        store,
        experiment_ids=[*body.experiment_ids, *named],
        filter=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
    )
    return JSONResponse(wire.page_to_json(page))


@router.get("/runs/{run_id}", response_model=RunResponse)
def get_run(run_id: str, store: StoreDep) -> Response:
    return JSONResponse(wire.run_to_json(service.get_run(store, run_id)))


@router.post("/runs/{run_id}/end", response_model=RunResponse)
def end_run(run_id: str, body: EndRunRequest, store: StoreDep) -> Response:
    ended = service.end_run(store, run_id, body.status, metrics=body.metrics)
    return JSONResponse(wire.run_to_json(ended))


@router.post("/runs/{run_id}/params", status_code=204)
def log_params(run_id: str, body: ParamsRequest, store: StoreDep) -> Response:
    service.log_params(store, run_id, body.params)
    return Response(status_code=204)


@router.post("/runs/{run_id}/tags", status_code=204)
def set_tags(run_id: str, body: TagsRequest, store: StoreDep) -> Response:
    service.set_tags(store, run_id, body.tags)
    return Response(status_code=204)


@router.post(
    "/runs/{run_id}/metrics", status_code=204, openapi_extra=json_body_openapi(MetricsRequest)
)
async def log_metrics(run_id: str, store: StoreDep, body: MetricsBody) -> Response:
    await anyio.to_thread.run_sync(partial(service.log_metrics, store, run_id, body.metrics))
    return Response(status_code=204)


@router.post(
    "/runs/{run_id}/log-batch", status_code=204, openapi_extra=json_body_openapi(LogBatchRequest)
)
async def log_batch(run_id: str, store: StoreDep, body: LogBatchBody) -> Response:
    write = partial(
        service.log_batch, store, run_id, metrics=body.metrics, params=body.params, tags=body.tags
    )
    await anyio.to_thread.run_sync(write)
    return Response(status_code=204)


@router.get("/runs/{run_id}/metrics/{key:path}", response_model=MetricHistoryResponse)
def get_metric_history(run_id: str, key: str, store: StoreDep) -> Response:
    history = service.get_metric_history(store, run_id, key)
    return JSONResponse({"metrics": [wire.metric_to_json(metric) for metric in history]})


# --- artifacts and datasets ----------------------------------------------------------------


@router.put(
    "/runs/{run_id}/artifacts/{path:path}", status_code=201, response_model=RunArtifactResponse
)
async def upload_artifact(run_id: str, path: str, request: Request, store: StoreDep) -> Response:
    """Store the raw request body as the artifact at `path`, streamed: one chunk in memory."""
    body = request.stream()

    def store_body() -> RunArtifact:
        return artifacts.log_artifact_stream(store, run_id, path, _chunks_of(body))

    artifact = await anyio.to_thread.run_sync(store_body)
    return JSONResponse(wire.artifact_to_json(artifact), status_code=201)


@router.get("/runs/{run_id}/artifacts", response_model=RunArtifactListResponse)
def list_artifacts(run_id: str, store: StoreDep) -> Response:
    found = artifacts.list_artifacts(store, run_id)
    return JSONResponse({"artifacts": [wire.artifact_to_json(a) for a in found]})


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_artifact(run_id: str, path: str, store: StoreDep) -> StreamingResponse:
    """The artifact's bytes, hashed while streamed; a corrupt blob ends the stream early."""
    artifact, chunks = artifacts.open_artifact(store, run_id, path)
    headers = {"content-length": str(artifact.size_bytes), "etag": f'"{artifact.digest}"'}
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)


@router.post("/runs/{run_id}/datasets", status_code=201, response_model=DatasetResponse)
def log_dataset(run_id: str, body: DatasetRequest, store: StoreDep) -> Response:
    info = DatasetInfo(body.digest, body.num_rows, body.num_columns, body.schema_)
    dataset = datasets.log_dataset(
        store,
        run_id,
        info,
        name=body.name,
        context=body.context,
        contract=body.contract,
        profile=body.profile,
    )
    return JSONResponse(wire.dataset_to_json(dataset), status_code=201)


def _chunks_of(body: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body's chunks, pulled from the event loop by a worker thread."""

    async def next_chunk() -> bytes | None:
        try:
            return await body.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk
