"""The model registry: registered models, immutable versions, aliases, deployments, endpoints,
promotion policies and approvals."""

from __future__ import annotations

from steward.registry.approvals import approve, list_approvals
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
from steward.registry.policies import get_policy, promote, set_policy
from steward.registry.policy_entities import (
    Approval,
    ApprovalTally,
    CheckResult,
    Policy,
    PromotionDecision,
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
    "Approval",
    "ApprovalTally",
    "CheckResult",
    "Deployment",
    "Endpoint",
    "ModelRef",
    "ModelVersion",
    "Policy",
    "PromotionDecision",
    "RegisteredModel",
    "ResolvedEndpoint",
    "ResolvedTarget",
    "TrafficTarget",
    "approve",
    "create_endpoint",
    "create_model",
    "create_version",
    "current_deployments",
    "delete_alias",
    "delete_endpoint",
    "get_alias",
    "get_endpoint",
    "get_model",
    "get_policy",
    "get_version",
    "list_approvals",
    "list_deployments",
    "list_endpoints",
    "list_models",
    "list_versions",
    "load_version",
    "parse_model_uri",
    "promote",
    "record_deployment",
    "register_model",
    "resolve",
    "resolve_endpoint",
    "set_alias",
    "set_policy",
    "set_traffic",
]
