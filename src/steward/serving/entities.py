"""What a serving replica serves: resolved versions, traffic, shadow, fallback, as one spec.

A `ServingSpec` is what the follower fetches from the registry, caches on local disk and
turns into a routing table. It holds only what serving needs, in plain JSON-able fields, so
the local cache survives changes to the registry's own entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from steward.errors import InvalidInput
from steward.registry import ModelVersion

__all__ = [
    "CONTRACT_MODES",
    "ContractMode",
    "ServedVersion",
    "ServingSpec",
    "WeightedTarget",
]

ContractMode = Literal["reject", "warn", "off"]
CONTRACT_MODES: tuple[ContractMode, ...] = ("reject", "warn", "off")
SPEC_FORMAT = 1


@dataclass(frozen=True, slots=True)
class ServedVersion:
    """One model version as serving needs it: where its bytes are and what it expects.

    Attributes:
        artifact_digest: sha256 of the blob; it is loaded only when the bytes hash to this.
        contract: the version's data contract (JSON), checked on every request.
        aliases: the aliases that pointed at it when the spec was resolved.
    """

    model_name: str
    version: int
    artifact_digest: str
    flavor: str
    flavor_metadata: dict[str, Any]  # JSON written by the flavor
    input_schema: list[dict[str, Any]]
    contract: dict[str, Any] | None
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """`name/version`, the label of this version in metrics and errors."""
        return f"{self.model_name}/{self.version}"

    @classmethod
    def from_model_version(cls, record: ModelVersion) -> ServedVersion:
        return cls(
            model_name=record.model_name,
            version=record.version,
            artifact_digest=record.artifact_digest,
            flavor=record.flavor,
            flavor_metadata=dict(record.flavor_metadata),
            input_schema=list(record.input_schema),
            contract=None if record.contract is None else dict(record.contract),
            aliases=tuple(record.aliases),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (`Any`: JSON values)."""
        return {
            "model_name": self.model_name,
            "version": self.version,
            "artifact_digest": self.artifact_digest,
            "flavor": self.flavor,
            "flavor_metadata": self.flavor_metadata,
            "input_schema": self.input_schema,
            "contract": self.contract,
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServedVersion:
        return cls(**{**data, "aliases": tuple(data.get("aliases", ()))})


@dataclass(frozen=True, slots=True)
class WeightedTarget:
    """A share of the traffic: `weight` percent goes to `version`, named `label` in config."""

    label: str
    version: ServedVersion
    weight: float


@dataclass(frozen=True, slots=True)
class ServingSpec:
    """Everything one replica serves, resolved to concrete versions.

    Attributes:
        name: the endpoint's name, or the model URI in quick-start mode.
        traffic: the primary targets and their weights (percent, summing to about 100).
        shadow: versions that get a copy of every request off the response path.
        fallback: versions tried in order when the primary fails or times out.
        default_response: the constant answer after the whole chain failed (None: an error).
        sticky_key: input field whose value always routes to the same target.
        contract_mode: "reject" (422 on a bad row), "warn" (count and serve) or "off".
        timeout_ms: longest wait for a model before falling back; None waits forever.
        fingerprint: changes whenever any of the above does; the follower compares it.
    """

    name: str
    model_name: str
    traffic: tuple[WeightedTarget, ...]
    shadow: tuple[ServedVersion, ...] = ()
    fallback: tuple[ServedVersion, ...] = ()
    default_response: Any = None  # JSON chosen by the endpoint's owner
    sticky_key: str | None = None
    contract_mode: ContractMode = "reject"
    timeout_ms: int | None = None
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.traffic:
            raise InvalidInput(f"endpoint {self.name!r} routes traffic to no version")
        if self.contract_mode not in CONTRACT_MODES:
            raise InvalidInput(
                f"contract mode {self.contract_mode!r} of endpoint {self.name!r} is unknown; "
                f"accepted: {', '.join(CONTRACT_MODES)}"
            )

    @property
    def versions(self) -> tuple[ServedVersion, ...]:
        """Every distinct version this spec needs loaded, traffic first."""
        found: dict[str, ServedVersion] = {}
        for version in (*(t.version for t in self.traffic), *self.shadow, *self.fallback):
            found.setdefault(version.key, version)
        return tuple(found.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (`Any`: JSON values), the format of the local cache."""
        return {
            "format": SPEC_FORMAT,
            "name": self.name,
            "model_name": self.model_name,
            "traffic": [
                {"label": t.label, "weight": t.weight, "version": t.version.to_dict()}
                for t in self.traffic
            ],
            "shadow": [v.to_dict() for v in self.shadow],
            "fallback": [v.to_dict() for v in self.fallback],
            "default_response": self.default_response,
            "sticky_key": self.sticky_key,
            "contract_mode": self.contract_mode,
            "timeout_ms": self.timeout_ms,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServingSpec:
        """Raises: InvalidInput: the mapping is of another format or misses a field."""
        if data.get("format") != SPEC_FORMAT:
            raise InvalidInput(
                f"serving spec format {data.get('format')!r} is not supported; "
                f"expected {SPEC_FORMAT} (delete the serving cache to rebuild it)"
            )
        try:
            return cls(
                name=data["name"],
                model_name=data["model_name"],
                traffic=tuple(
                    WeightedTarget(t["label"], ServedVersion.from_dict(t["version"]), t["weight"])
                    for t in data["traffic"]
                ),
                shadow=tuple(ServedVersion.from_dict(v) for v in data["shadow"]),
                fallback=tuple(ServedVersion.from_dict(v) for v in data["fallback"]),
                default_response=data["default_response"],
                sticky_key=data["sticky_key"],
                contract_mode=data["contract_mode"],
                timeout_ms=data["timeout_ms"],
                fingerprint=data["fingerprint"],
            )
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"serving spec is incomplete ({exc!r}); delete the cache") from exc
