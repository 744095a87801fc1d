"""The model registry: registered models, immutable versions, aliases, deployments, endpoints."""

from __future__ import annotations

from steward.registry.endpoints import (
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    list_endpoints,
    resolve_endpoint,
    set_traffic,
)
from steward.registry.entities import (
    Deployment,
    Endpoint,
    ModelVersion,
    RegisteredModel,
    ResolvedEndpoint,
    ResolvedTarget,
    TrafficTarget,
)
from steward.registry.service import (
    DEFAULT_ENVIRONMENTS,
    create_model,
    create_version,
    current_deployments,
    delete_alias,
    get_alias,
    get_model,
    get_version,
    list_deployments,
    list_models,
    list_versions,
    load_version,
    record_deployment,
    register_model,
    resolve,
    set_alias,
)
from steward.registry.uris import ModelRef, parse_model_uri

# `update_endpoint` stays in `steward.registry.endpoints`: the registry's surface offers no
# `update*` name, so that versions visibly have none.
__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "Deployment",
    "Endpoint",
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "ResolvedEndpoint",
    "ResolvedTarget",
    "TrafficTarget",
    "create_endpoint",
    "create_model",
    "create_version",
    "current_deployments",
    "delete_alias",
    "delete_endpoint",
    "get_alias",
    "get_endpoint",
    "get_model",
    "get_version",
    "list_deployments",
    "list_endpoints",
    "list_models",
    "list_versions",
    "load_version",
    "parse_model_uri",
    "record_deployment",
    "register_model",
    "resolve",
    "resolve_endpoint",
    "set_alias",
    "set_traffic",
]
