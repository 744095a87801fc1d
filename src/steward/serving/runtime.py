"""The routing table a replica answers with, and the one reference that swaps it atomically.

A request reads `Runtime.table` once and uses that object to the end, so a swap (one
reference assignment) can never mix two configurations inside a request, and the versions
an in-flight request uses stay loaded until it finishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from steward.errors import InvalidInput
from steward.serving.entities import ServingSpec
from steward.serving.models import ServedModel
from steward.serving.router import Router

__all__ = ["RoutingTable", "Runtime", "SpecOrigin", "build_table"]

SpecOrigin = Literal["store", "cache"]


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """An immutable snapshot: the spec, its loaded models, and how to route between them.

    Attributes:
        models: every loaded model by `name/version`.
        shadow: models mirrored off the response path.
        fallback: models tried in order after the primary fails.
        origin: where the spec came from: the metadata store or the local cache.
        features: the column order positional inputs are read in (first traffic target's).
    """

    spec: ServingSpec
    models: Mapping[str, ServedModel]
    router: Router
    shadow: tuple[ServedModel, ...]
    fallback: tuple[ServedModel, ...]
    origin: SpecOrigin
    features: tuple[str, ...] | None = None
    has_fallback: bool = field(default=False)

    @property
    def default_response(self) -> Any:  # Any: JSON chosen by the endpoint's owner
        return self.spec.default_response

    def serves(self, name: str) -> bool:
        """Whether `name` is this replica's endpoint or model (the v2 protocol's model name)."""
        return name in (self.spec.name, self.spec.model_name)


def build_table(
    spec: ServingSpec, models: Mapping[str, ServedModel], origin: SpecOrigin
) -> RoutingTable:
    """A routing table over already-loaded models.

    Raises:
        InvalidInput: a version of the spec is missing from `models`, or the weights are
            unusable.
    """
    missing = [v.key for v in spec.versions if v.key not in models]
    if missing:
        raise InvalidInput(f"versions {missing} of {spec.name!r} are not loaded")
    used = {v.key: models[v.key] for v in spec.versions}
    targets = [(used[t.version.key], t.weight) for t in spec.traffic]
    fallback = tuple(used[v.key] for v in spec.fallback)
    first = targets[0][0].builder
    features = getattr(first, "features", None)
    return RoutingTable(
        spec=spec,
        models=used,
        router=Router(targets, tuple(used.values())),
        shadow=tuple(used[v.key] for v in spec.shadow),
        fallback=fallback,
        origin=origin,
        features=None if features is None else tuple(features),
        has_fallback=bool(fallback) or spec.default_response is not None,
    )


class Runtime:
    """Holds the current routing table; `table` is None until the first one is loaded."""

    __slots__ = ("table",)

    def __init__(self, table: RoutingTable | None = None) -> None:
        self.table = table

    @property
    def is_ready(self) -> bool:
        return self.table is not None

    def swap(self, table: RoutingTable) -> RoutingTable | None:
        """Install `table` for every request that starts from now on; returns the old one."""
        previous, self.table = self.table, table
        return previous
