"""The registry's entities: registered models, their immutable versions, deployments, endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

__all__ = [
    "CONTRACT_MODES",
    "ContractMode",
    "Deployment",
    "Endpoint",
    "ModelVersion",
    "RegisteredModel",
    "ResolvedEndpoint",
    "ResolvedTarget",
    "TrafficTarget",
]

ContractMode = Literal["reject", "warn", "off"]
CONTRACT_MODES: tuple[ContractMode, ...] = get_args(ContractMode)


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model: its movable aliases and the number of its newest version.

    Attributes:
        aliases: alias name -> the version it points at.
        latest_version: the highest version number, None before the first version.
    """

    name: str
    description: str
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime
    aliases: dict[str, int] = field(default_factory=dict)
    latest_version: int | None = None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One immutable version: the artifact, how to load it, what it expects, where it came from.

    Attributes:
        artifact_digest: sha256 of the serialised model in the artifact store; the model is
            only ever loaded when the blob still hashes to this.
        flavor: the name of the flavor that wrote the artifact and loads it back.
        flavor_metadata: what that flavor needs to load it (JSON).
        input_schema: columns the model expects, as `flavors.infer_schema` describes them.
        output_schema: what it returns, as `flavors.infer_output_schema` describes it.
        run_id: the training run, when there was one.
        dataset_digests: content fingerprints of the training data.
        contract: the data contract of valid inputs (JSON), when one was given.
        profile: the training data's profile, the drift baseline (JSON).
        aliases: the aliases currently pointing at this version, sorted.
    """

    model_name: str
    version: int
    artifact_digest: str
    artifact_size_bytes: int
    flavor: str
    flavor_metadata: dict[str, Any]  # JSON written by the flavor
    input_schema: list[dict[str, Any]]
    output_schema: list[dict[str, Any]]
    run_id: str | None
    dataset_digests: tuple[str, ...]
    contract: dict[str, Any] | None
    profile: dict[str, Any] | None
    description: str
    tags: dict[str, str]
    created_by: str
    created_at: datetime
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """`models:/name/version`, the reference that always means exactly this version."""
        return f"models:/{self.model_name}/{self.version}"


@dataclass(frozen=True, slots=True)
class Deployment:
    """A record that a version went to an environment: by whom, when, and why."""

    model_name: str
    version: int
    environment: str
    deployed_by: str
    deployed_at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class TrafficTarget:
    """A share of an endpoint's live traffic.

    Attributes:
        target: `"@ALIAS"` (e.g. `"@champion"`, followed when the alias moves) or a version
            number as text (`"3"`, pinned).
        weight: percent of requests, from 0 to 100; an endpoint's weights sum to 100.
    """

    target: str
    weight: float


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A named serving target in one environment, and how its requests are routed.

    Every target (in `traffic`, `shadow` and `fallback`) is `"@ALIAS"` or a version number
    as text, of `model_name`.

    Attributes:
        traffic: the primary targets and their weights (percent, summing to 100).
        shadow: targets that get a copy of every request off the response path; their
            answers are logged, never returned.
        sticky_key: the request field (or header) whose value always reaches the same
            primary target (A/B tests); None routes each request by weight alone.
        fallback: targets tried in order when the primary raises or exceeds `timeout_ms`.
        default_response: the constant answer once the whole fallback chain failed (a JSON
            document); None answers with the error instead.
        contract_mode: "reject" (a bad row is a 422), "warn" (count it and serve) or "off".
        timeout_ms: longest wait for a model's answer before the fallback chain takes over.
        revision: 1 at creation, plus one on every change; servers poll it.
    """

    name: str
    environment: str
    model_name: str
    traffic: tuple[TrafficTarget, ...]
    shadow: tuple[str, ...]
    sticky_key: str | None
    fallback: tuple[str, ...]
    default_response: Any  # a JSON document chosen by the endpoint's owner
    contract_mode: ContractMode
    timeout_ms: int
    revision: int
    created_at: datetime
    updated_at: datetime
    created_by: str

    @property
    def targets(self) -> tuple[str, ...]:
        """Every distinct target the endpoint names: traffic, then shadow, then fallback."""
        named = (*(t.target for t in self.traffic), *self.shadow, *self.fallback)
        return tuple(dict.fromkeys(named))


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """One target of an endpoint and the version it means now.

    Attributes:
        target: as configured, `"@champion"` or `"3"`.
        weight: its share of primary traffic (percent); 0 for shadow and fallback targets.
    """

    target: str
    version: ModelVersion
    weight: float = 0.0


@dataclass(frozen=True, slots=True)
class ResolvedEndpoint:
    """An endpoint with every target turned into a concrete version: what a server loads.

    Attributes:
        traffic, shadow, fallback: the endpoint's targets in configured order, resolved.
        fingerprint: sha256 over the revision, the configuration and the resolved versions;
            it changes when anything a server acts on changes, including an alias moving
            (which leaves the revision as it was).
    """

    endpoint: Endpoint
    traffic: tuple[ResolvedTarget, ...]
    shadow: tuple[ResolvedTarget, ...]
    fallback: tuple[ResolvedTarget, ...]
    fingerprint: str

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def revision(self) -> int:
        return self.endpoint.revision

    @property
    def versions(self) -> tuple[ModelVersion, ...]:
        """Every distinct version to load, in order of first mention (traffic first)."""
        found: dict[int, ModelVersion] = {}
        for resolved in (*self.traffic, *self.shadow, *self.fallback):
            found.setdefault(resolved.version.version, resolved.version)
        return tuple(found.values())
