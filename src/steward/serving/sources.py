"""Where a replica's spec comes from: an endpoint in the registry, or one model URI.

The store is opened lazily and kept, so a replica whose store is down at start-up can
start from its cache and connect later. `STORE_DOWN` lists the errors that mean "the
store cannot be reached"; every other error is an answer from the store (no such endpoint).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from steward import registry
from steward.errors import Unavailable
from steward.registry import ResolvedEndpoint, ResolvedTarget, resolve_endpoint
from steward.serving.entities import ServedVersion, ServingSpec, WeightedTarget
from steward.store import Store

__all__ = [
    "STORE_DOWN",
    "EndpointSource",
    "ModelSource",
    "SpecSource",
    "spec_from_endpoint",
    "spec_from_version",
]

STORE_DOWN: tuple[type[BaseException], ...] = (Unavailable, SQLAlchemyError, OSError)
"""Errors that mean the metadata store (database or artifact folder) is out of reach."""


class SpecSource(Protocol):
    """Resolves what to serve now and reads model blobs; raises a `STORE_DOWN` error when
    the store is out of reach."""

    @property
    def key(self) -> str:
        """Names this source in the local cache."""
        ...

    def fetch(self) -> ServingSpec: ...

    def read_blob(self, digest: str) -> bytes: ...


class _StoreSource:
    """Opens the store on first use, and again after a failed open."""

    def __init__(self, open_store: Callable[[], Store]) -> None:
        self._open_store = open_store
        self._store: Store | None = None
        self._lock = threading.Lock()

    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = self._open_store()
            return self._store

    def read_blob(self, digest: str) -> bytes:
        """Raises: NotFound, IntegrityError (bytes changed), or a STORE_DOWN error."""
        return self.store().artifacts.read_bytes(digest)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


class EndpointSource(_StoreSource):
    """An endpoint of the registry, followed through traffic changes and alias moves."""

    def __init__(self, open_store: Callable[[], Store], endpoint: str) -> None:
        super().__init__(open_store)
        self.endpoint = endpoint

    @property
    def key(self) -> str:
        return f"endpoint:{self.endpoint}"

    def fetch(self) -> ServingSpec:
        """Raises: NotFound (no endpoint, or an alias it uses is gone), or STORE_DOWN."""
        return spec_from_endpoint(resolve_endpoint(self.store(), self.endpoint))


class ModelSource(_StoreSource):
    """One model reference (`models:/churn@champion`): all traffic to what it resolves to.

    An alias is followed like an endpoint's: moving it swaps the served version.
    """

    def __init__(self, open_store: Callable[[], Store], uri: str) -> None:
        super().__init__(open_store)
        self.uri = uri

    @property
    def key(self) -> str:
        return f"model:{self.uri}"

    def fetch(self) -> ServingSpec:
        """Raises: InvalidInput (malformed URI), NotFound, or STORE_DOWN."""
        return spec_from_version(self.uri, registry.resolve(self.store(), self.uri))


def spec_from_endpoint(resolved: ResolvedEndpoint) -> ServingSpec:
    """What a replica serves for a resolved endpoint."""
    endpoint = resolved.endpoint

    def served(target: ResolvedTarget) -> ServedVersion:
        return ServedVersion.from_model_version(target.version)

    return ServingSpec(
        name=endpoint.name,
        model_name=endpoint.model_name,
        traffic=tuple(WeightedTarget(t.target, served(t), t.weight) for t in resolved.traffic),
        shadow=tuple(served(t) for t in resolved.shadow),
        fallback=tuple(served(t) for t in resolved.fallback),
        default_response=endpoint.default_response,
        sticky_key=endpoint.sticky_key,
        contract_mode=endpoint.contract_mode,
        timeout_ms=endpoint.timeout_ms,
        fingerprint=resolved.fingerprint,
    )


def spec_from_version(uri: str, record: registry.ModelVersion) -> ServingSpec:
    """Quick-start mode: every request to one version, contract enforced, no fallback."""
    version = ServedVersion.from_model_version(record)
    return ServingSpec(
        name=uri,
        model_name=record.model_name,
        traffic=(WeightedTarget(uri, version, 100.0),),
        fingerprint=f"{version.key}:{version.artifact_digest}",
    )
