"""HTTP edge of the registry: models, versions, aliases, deployments, endpoints, artifact blobs."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from steward.registry import approvals, endpoints, policies, service
from steward.registry.entities import (
    Deployment,
    Endpoint,
    ModelVersion,
    RegisteredModel,
    ResolvedEndpoint,
    ResolvedTarget,
    TrafficTarget,
)
from steward.registry.validation import check_digest
from steward.web import ActorDep, StoreDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["registry"])


def get_environments(request: Request) -> tuple[str, ...]:
    """The app's configured environments, or the defaults when it has no settings."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        return service.DEFAULT_ENVIRONMENTS
    return tuple(settings.environments)


EnvironmentsDep = Annotated[tuple[str, ...], Depends(get_environments)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateModelRequest(_Request):
    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class CreateVersionRequest(_Request):
    artifact_digest: str
    flavor: str
    flavor_metadata: dict[str, Any] = Field(default_factory=dict)  # Any: JSON
    input_schema: list[dict[str, Any]] = Field(default_factory=list)
    output_schema: list[dict[str, Any]] = Field(default_factory=list)
    run_id: str | None = None
    dataset_digests: list[str] = Field(default_factory=list)
    contract: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class SetAliasRequest(_Request):
    version: int


class DeploymentRequest(_Request):
    version: int
    environment: str
    note: str = ""


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RegisteredModelResponse(_Response):
    name: str
    description: str
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime
    aliases: dict[str, int]
    latest_version: int | None


class ModelVersionResponse(_Response):
    model_name: str
    version: int
    uri: str
    artifact_digest: str
    artifact_size_bytes: int
    flavor: str
    flavor_metadata: dict[str, Any]  # Any: JSON
    input_schema: list[dict[str, Any]]
    output_schema: list[dict[str, Any]]
    run_id: str | None
    dataset_digests: list[str]
    contract: dict[str, Any] | None
    profile: dict[str, Any] | None
    description: str
    tags: dict[str, str]
    created_by: str
    created_at: datetime
    aliases: list[str]


class DeploymentResponse(_Response):
    model_name: str
    version: int
    environment: str
    deployed_by: str
    deployed_at: datetime
    note: str


class ModelListResponse(BaseModel):
    models: list[RegisteredModelResponse]


class VersionListResponse(BaseModel):
    versions: list[ModelVersionResponse]


class DeploymentListResponse(BaseModel):
    deployments: list[DeploymentResponse]  # newest first
    current: dict[str, DeploymentResponse]  # environment -> what runs there now


class ArtifactResponse(BaseModel):
    digest: str
    size_bytes: int


def _model(model: RegisteredModel) -> RegisteredModelResponse:
    return RegisteredModelResponse.model_validate(model)


def _version(version: ModelVersion) -> ModelVersionResponse:
    return ModelVersionResponse.model_validate(version)


def _deployment(deployment: Deployment) -> DeploymentResponse:
    return DeploymentResponse.model_validate(deployment)


@router.post("/models", status_code=201)
def create_model(
    body: CreateModelRequest, store: StoreDep, actor: ActorDep
) -> RegisteredModelResponse:
    model = service.create_model(
        store, body.name, description=body.description, tags=body.tags, actor=actor
    )
    return _model(model)


@router.get("/models")
def list_models(store: StoreDep) -> ModelListResponse:
    return ModelListResponse(models=[_model(model) for model in service.list_models(store)])


@router.get("/models/{name}")
def get_model(name: str, store: StoreDep) -> RegisteredModelResponse:
    return _model(service.get_model(store, name))


@router.post("/models/{name}/versions", status_code=201)
def create_version(
    name: str, body: CreateVersionRequest, store: StoreDep, actor: ActorDep
) -> ModelVersionResponse:
    """Register an artifact already uploaded with `PUT /api/v1/artifacts` as the next version."""
    return _version(service.create_version(store, name, **body.model_dump(), actor=actor))


@router.get("/models/{name}/versions")
def list_versions(name: str, store: StoreDep) -> VersionListResponse:
    return VersionListResponse(versions=[_version(v) for v in service.list_versions(store, name)])


@router.get("/models/{name}/versions/{version}")
def get_version(name: str, version: int, store: StoreDep) -> ModelVersionResponse:
    return _version(service.get_version(store, name, version))


@router.put("/models/{name}/aliases/{alias}")
def set_alias(
    name: str, alias: str, body: SetAliasRequest, store: StoreDep, actor: ActorDep
) -> ModelVersionResponse:
    return _version(service.set_alias(store, name, alias, body.version, actor=actor))


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, store: StoreDep, actor: ActorDep) -> Response:
    service.delete_alias(store, name, alias, actor=actor)
    return Response(status_code=204)


@router.get("/models/{name}/aliases/{alias}")
def get_alias(name: str, alias: str, store: StoreDep) -> ModelVersionResponse:
    return _version(service.get_alias(store, name, alias))


@router.post("/models/{name}/deployments", status_code=201)
def record_deployment(
    name: str,
    body: DeploymentRequest,
    store: StoreDep,
    actor: ActorDep,
    environments: EnvironmentsDep,
) -> DeploymentResponse:
    deployment = service.record_deployment(
        store,
        name,
        body.version,
        body.environment,
        actor=actor,
        note=body.note,
        environments=environments,
    )
    return _deployment(deployment)


@router.get("/models/{name}/deployments")
def list_deployments(
    name: str, store: StoreDep, environment: str | None = None
) -> DeploymentListResponse:
    records = service.list_deployments(store, name=name, environment=environment)
    current = service.current_deployments(store, name)
    return DeploymentListResponse(
        deployments=[_deployment(record) for record in records],
        current={env: _deployment(record) for env, record in current.items()},
    )


# Promotion: policies, approvals, promote ------------------------------------------------


def get_approvers(request: Request) -> tuple[str, ...]:
    """The identities holding the approver role, from the app's settings."""
    settings = getattr(request.app.state, "settings", None)
    return () if settings is None else tuple(settings.approvers)


ApproversDep = Annotated[tuple[str, ...], Depends(get_approvers)]


class PromoteRequest(_Request):
    to: str
    evaluation: dict[str, dict[str, float]] | None = None  # challenger/champion -> metrics
    dry_run: bool = False


class ApproveRequest(_Request):
    environment: str
    comment: str = ""


class PolicyRequest(_Request):
    document: dict[str, Any]  # Any: the policy document (alias, checks, approvals)


class PolicyResponse(_Response):
    model_name: str
    environment: str
    version: int
    document: dict[str, Any]  # Any: JSON
    created_by: str
    created_at: datetime


class ApprovalResponse(_Response):
    model_name: str
    version: int
    environment: str
    approver: str
    comment: str
    created_at: datetime


class ApprovalListResponse(BaseModel):
    approvals: list[ApprovalResponse]


@router.post("/models/{name}/versions/{version}/promote")
def promote(
    name: str,
    version: int,
    body: PromoteRequest,
    store: StoreDep,
    actor: ActorDep,
    environments: EnvironmentsDep,
    approvers: ApproversDep,
) -> dict[str, Any]:
    """Check the version against the policy of `to`; move its alias when every check passes.

    A refusal is a 409 `policy_violation` listing every failed check with its numbers.
    """
    decision = policies.promote(
        store,
        name,
        version,
        to=body.to,
        actor=actor,
        evaluation=body.evaluation,
        dry_run=body.dry_run,
        approvers=approvers,
        environments=environments,
    )
    return decision.to_dict()


@router.post("/models/{name}/versions/{version}/approvals", status_code=201)
def approve(
    name: str,
    version: int,
    body: ApproveRequest,
    store: StoreDep,
    actor: ActorDep,
    environments: EnvironmentsDep,
    approvers: ApproversDep,
) -> ApprovalResponse:
    """Approve the version for an environment; 403 unless the caller holds the approver role."""
    approval = approvals.approve(
        store,
        name,
        version,
        body.environment,
        actor,
        body.comment,
        approvers=approvers,
        environments=environments,
    )
    return ApprovalResponse.model_validate(approval)


@router.get("/approvals")
def list_approvals(
    store: StoreDep,
    model: str | None = None,
    version: int | None = None,
    environment: str | None = None,
) -> ApprovalListResponse:
    found = approvals.list_approvals(store, model, version=version, environment=environment)
    return ApprovalListResponse(approvals=[ApprovalResponse.model_validate(a) for a in found])


@router.put("/models/{name}/policies/{environment}")
def set_policy(
    name: str,
    environment: str,
    body: PolicyRequest,
    store: StoreDep,
    actor: ActorDep,
    environments: EnvironmentsDep,
) -> PolicyResponse:
    """Store the next version of the environment's promotion policy."""
    policy = policies.set_policy(
        store, name, environment, body.document, actor, environments=environments
    )
    return PolicyResponse.model_validate(policy)


@router.get("/models/{name}/policies/{environment}")
def get_policy(
    name: str, environment: str, store: StoreDep, version: int | None = None
) -> PolicyResponse:
    return PolicyResponse.model_validate(policies.get_policy(store, name, environment, version))


# Endpoints ------------------------------------------------------------------------------


class TrafficTargetBody(_Request):
    target: str  # "@alias" or a version number as text
    weight: float  # percent


class CreateEndpointRequest(_Request):
    """Traffic as exactly one of `alias`, `version` or `traffic`."""

    name: str
    environment: str
    model_name: str
    alias: str | None = None
    version: int | None = None
    traffic: list[TrafficTargetBody] | None = None
    shadow: list[str] = Field(default_factory=list)
    sticky_key: str | None = None
    fallback: list[str] = Field(default_factory=list)
    default_response: Any = None  # Any: a JSON document
    contract_mode: str = "reject"
    timeout_ms: int = 1000


class SetTrafficRequest(_Request):
    traffic: list[TrafficTargetBody]


class UpdateEndpointRequest(_Request):
    """Only the fields sent change; `null` clears `sticky_key` or `default_response`."""

    shadow: list[str] | None = None
    fallback: list[str] | None = None
    default_response: Any = None  # Any: a JSON document
    sticky_key: str | None = None
    contract_mode: str | None = None
    timeout_ms: int | None = None


class TrafficTargetResponse(_Response):
    target: str
    weight: float


class EndpointResponse(_Response):
    name: str
    environment: str
    model_name: str
    traffic: list[TrafficTargetResponse]
    shadow: list[str]
    sticky_key: str | None
    fallback: list[str]
    default_response: Any  # Any: a JSON document
    contract_mode: str
    timeout_ms: int
    revision: int
    created_at: datetime
    updated_at: datetime
    created_by: str


class EndpointListResponse(BaseModel):
    endpoints: list[EndpointResponse]


class ResolvedTargetResponse(BaseModel):
    target: str
    weight: float
    version: ModelVersionResponse


class ResolvedEndpointResponse(BaseModel):
    name: str
    revision: int
    fingerprint: str
    endpoint: EndpointResponse
    traffic: list[ResolvedTargetResponse]
    shadow: list[ResolvedTargetResponse]
    fallback: list[ResolvedTargetResponse]


def _endpoint(endpoint: Endpoint) -> EndpointResponse:
    return EndpointResponse.model_validate(endpoint)


def _resolved(resolved: ResolvedEndpoint) -> ResolvedEndpointResponse:
    def targets(found: tuple[ResolvedTarget, ...]) -> list[ResolvedTargetResponse]:
        return [
            ResolvedTargetResponse(target=t.target, weight=t.weight, version=_version(t.version))
            for t in found
        ]

    return ResolvedEndpointResponse(
        name=resolved.name,
        revision=resolved.revision,
        fingerprint=resolved.fingerprint,
        endpoint=_endpoint(resolved.endpoint),
        traffic=targets(resolved.traffic),
        shadow=targets(resolved.shadow),
        fallback=targets(resolved.fallback),
    )


def _traffic(body: list[TrafficTargetBody]) -> list[TrafficTarget]:
    return [TrafficTarget(t.target, t.weight) for t in body]


@router.post("/endpoints", status_code=201)
def create_endpoint(
    body: CreateEndpointRequest,
    store: StoreDep,
    actor: ActorDep,
    environments: EnvironmentsDep,
) -> EndpointResponse:
    """Create an endpoint; its traffic is one `alias`, one `version` or a `traffic` split."""
    fields = body.model_dump(exclude={"name", "traffic"})
    traffic = None if body.traffic is None else _traffic(body.traffic)
    created = endpoints.create_endpoint(
        store, body.name, **fields, traffic=traffic, actor=actor, environments=environments
    )
    return _endpoint(created)


@router.get("/endpoints")
def list_endpoints(store: StoreDep, environment: str | None = None) -> EndpointListResponse:
    found = endpoints.list_endpoints(store, environment)
    return EndpointListResponse(endpoints=[_endpoint(endpoint) for endpoint in found])


@router.get("/endpoints/{name}")
def get_endpoint(name: str, store: StoreDep) -> EndpointResponse:
    return _endpoint(endpoints.get_endpoint(store, name))


@router.patch("/endpoints/{name}")
def update_endpoint(
    name: str, body: UpdateEndpointRequest, store: StoreDep, actor: ActorDep
) -> EndpointResponse:
    """Change shadow, fallback, default response, sticky key, contract mode or timeout."""
    changes = body.model_dump(exclude_unset=True)
    return _endpoint(endpoints.update_endpoint(store, name, actor=actor, **changes))


@router.put("/endpoints/{name}/traffic")
def set_traffic(
    name: str, body: SetTrafficRequest, store: StoreDep, actor: ActorDep
) -> EndpointResponse:
    """Replace the traffic split; weights are percentages summing to 100."""
    updated = endpoints.set_traffic(store, name, _traffic(body.traffic), actor=actor)
    return _endpoint(updated)


@router.delete("/endpoints/{name}", status_code=204)
def delete_endpoint(name: str, store: StoreDep, actor: ActorDep) -> Response:
    endpoints.delete_endpoint(store, name, actor=actor)
    return Response(status_code=204)


@router.get("/endpoints/{name}/resolved")
def resolve_endpoint(name: str, store: StoreDep) -> ResolvedEndpointResponse:
    """Every target as the version it means now, with the revision and a fingerprint to poll."""
    return _resolved(endpoints.resolve_endpoint(store, name))


# Artifacts ------------------------------------------------------------------------------


@router.put("/artifacts", status_code=201)
async def upload_artifact(request: Request, store: StoreDep) -> ArtifactResponse:
    """Store the raw request body as a content-addressed blob, one chunk in memory at a time."""
    chunks = _blocking_chunks(request.stream())
    digest = await anyio.to_thread.run_sync(store.artifacts.put_stream, chunks)
    size = await anyio.to_thread.run_sync(store.artifacts.size, digest)
    return ArtifactResponse(digest=digest, size_bytes=size)


@router.get("/artifacts/{digest}", response_class=StreamingResponse)
def download_artifact(digest: str, store: StoreDep) -> StreamingResponse:
    """Stream a blob, checking its hash as it goes.

    A corrupt blob of one chunk (1 MiB) is refused with a 409 before anything is sent; a
    larger one is cut short before its last chunk, so no client gets a complete wrong body.
    """
    size = store.artifacts.size(check_digest(digest, "digest"))
    chunks = store.artifacts.iter_chunks(digest)
    first = next(chunks, b"")  # a one-chunk blob is fully verified here, while errors are clean
    return StreamingResponse(
        itertools.chain([first], chunks),
        media_type="application/octet-stream",
        headers={"content-length": str(size), "etag": f'"{digest}"'},
    )


def _blocking_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body for a worker thread: each chunk is awaited on the event loop."""
    while (chunk := anyio.from_thread.run(_next_chunk, stream)) is not None:
        if chunk:
            yield chunk


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return None
