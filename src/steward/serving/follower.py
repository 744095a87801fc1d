"""Following the registry: poll the spec, load new versions in the background, swap.

One daemon thread polls the source every `poll_interval_s`. When the spec's fingerprint
changes it loads only the versions it does not hold yet (from the local cache when the
blob is there, else from the artifact store), builds a new routing table and installs it
with one reference assignment. A poll that fails changes nothing: the replica keeps
answering with what it has and tries again at the next interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from steward.errors import Unavailable
from steward.serving import metrics
from steward.serving.cache import ServingCache
from steward.serving.entities import ServedVersion, ServingSpec
from steward.serving.models import ServedModel, load_served_model
from steward.serving.runtime import RoutingTable, Runtime, SpecOrigin, build_table
from steward.serving.sources import STORE_DOWN, SpecSource
from steward.store.context import Clock, now_ms

__all__ = ["Follower", "FollowerStatus"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FollowerStatus:
    """What the follower last saw, for `/readyz` and logs.

    Attributes:
        is_store_reachable: whether the last poll reached the store.
        last_success_ms: when a poll last succeeded (epoch ms), None before the first.
        last_error: the last poll's error message, None after a success.
    """

    is_store_reachable: bool = False
    last_success_ms: int | None = None
    last_error: str | None = None


class Follower:
    """Keeps `runtime` serving what `source` says, through changes and outages.

    Args:
        source: where the spec and the blobs come from.
        runtime: holds the table requests are answered with.
        cache: local copy of the last known spec and blobs; None disables it.
        poll_interval_s: seconds between polls of the registry.
        loader: builds a served model from a version and its verified bytes.
        clock: epoch milliseconds.
    """

    def __init__(
        self,
        source: SpecSource,
        runtime: Runtime,
        *,
        cache: ServingCache | None,
        poll_interval_s: float,
        loader: Callable[[ServedVersion, bytes], ServedModel] = load_served_model,
        clock: Clock = now_ms,
    ) -> None:
        self.source = source
        self.runtime = runtime
        self.cache = cache
        self.poll_interval_s = poll_interval_s
        self.status = FollowerStatus()
        self._loader = loader
        self._clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Poll once; load and swap when the spec changed. True when a new table went in.

        Raises:
            NotFound, InvalidInput: the store answered that there is nothing to serve.
            IntegrityError: a blob does not match its record; the current table stays.
            Exception: a `STORE_DOWN` error when the store is out of reach.
        """
        with self._lock:
            spec = self.source.fetch()
            self._note_success()
            current = self.runtime.table
            if current is not None and current.spec.fingerprint == spec.fingerprint:
                if current.origin == "cache":  # the store is back with the same spec
                    self._install(spec, dict(current.models), "store")
                return False
            self._install(spec, self._load(spec, from_cache=False), "store")
            self._save_to_cache(spec)
            return True

    def start_from_cache(self) -> bool:
        """Install the cached spec and models; False when nothing is cached for the source.

        Raises:
            IntegrityError: a cached blob changed on disk.
            InvalidInput, NotFound: the cache is unreadable or lacks a blob.
        """
        if self.cache is None:
            return False
        with self._lock:
            spec = self.cache.load(self.source.key)
            if spec is None:
                return False
            self._install(spec, self._load(spec, from_cache=True), "cache")
        log.warning(
            "serving from the local cache name=%s fingerprint=%s", spec.name, spec.fingerprint
        )
        return True

    def load_initial(self) -> None:
        """The first table: from the store, or from the cache when the store is down.

        Raises:
            Unavailable: the store is down and nothing usable is cached.
            NotFound, InvalidInput, IntegrityError: the store's answer cannot be served.
        """
        try:
            self.refresh()
        except STORE_DOWN as exc:
            if not self.start_from_cache():
                raise Unavailable(
                    f"cannot reach the metadata store ({_reason(exc)}) and no configuration "
                    f"for {self.source.key!r} is cached; start once with the store up"
                ) from exc

    def start(self) -> None:
        """Poll in a daemon thread until `stop`; loads the first table when there is none."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="steward-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while self.runtime.table is None and not self._stopping.is_set():
            if self._attempt(self.load_initial):
                break
            self._stopping.wait(self.poll_interval_s)
        while not self._stopping.wait(self.poll_interval_s):
            self._attempt(self.refresh)

    def _attempt(self, step: Callable[[], object]) -> bool:
        try:
            step()
        except STORE_DOWN as exc:
            metrics.child(metrics.REFRESH_FAILURES, "store_unreachable").inc()
            self._note_failure(exc, is_store_down=True)
            return False
        except Exception as exc:  # any failure keeps the current table; retried next poll
            metrics.child(metrics.REFRESH_FAILURES, "other").inc()
            self._note_failure(exc, is_store_down=False)
            return False
        return True

    def _load(self, spec: ServingSpec, *, from_cache: bool) -> dict[str, ServedModel]:
        current = self.runtime.table
        held = current.models if current is not None else {}
        models: dict[str, ServedModel] = {}
        for version in spec.versions:
            existing = held.get(version.key)
            if existing is not None and existing.version.artifact_digest == version.artifact_digest:
                models[version.key] = existing.with_version(version)
            else:
                payload = self._read(version.artifact_digest, from_cache=from_cache)
                models[version.key] = self._loader(version, payload)
        return models

    def _read(self, digest: str, *, from_cache: bool) -> bytes:
        """A blob, verified: the cached copy when there is one, else the store's (then cached)."""
        cache = self.cache
        if cache is not None and (from_cache or cache.blobs.exists(digest)):
            return cache.read_blob(digest)
        payload = self.source.read_blob(digest)
        if cache is not None:
            try:
                cache.put_blob(payload, digest)
            except OSError as exc:  # a full or read-only disk must not stop serving
                log.warning("serving cache write failed digest=%s error=%s", digest, exc)
        return payload

    def _install(
        self, spec: ServingSpec, models: dict[str, ServedModel], origin: SpecOrigin
    ) -> None:
        table = build_table(spec, models, origin)
        previous = self.runtime.swap(table)
        metrics.child(metrics.SWAPS, origin).inc()
        metrics.READY.set(1)
        metrics.show_weights(_weights(table), _weights(previous) if previous else {})
        log.info(
            "routing table installed name=%s fingerprint=%s origin=%s traffic=%s",
            spec.name,
            spec.fingerprint[:12],
            origin,
            ",".join(f"{t.version.key}:{t.weight:g}" for t in spec.traffic),
        )

    def _save_to_cache(self, spec: ServingSpec) -> None:
        if self.cache is None:
            return
        try:
            self.cache.save(self.source.key, spec)
        except OSError as exc:
            log.warning("serving cache write failed name=%s error=%s", spec.name, exc)

    def _note_success(self) -> None:
        status = self.status
        if not status.is_store_reachable and status.last_error is not None:
            log.info("metadata store reachable again source=%s", self.source.key)
        status.is_store_reachable = True
        status.last_success_ms = self._clock()
        status.last_error = None
        metrics.STORE_REACHABLE.set(1)

    def _note_failure(self, exc: BaseException, *, is_store_down: bool) -> None:
        status = self.status
        message = _reason(exc)
        if message != status.last_error:  # one line per new problem, not one per poll
            log.warning(
                "registry poll failed source=%s store_reachable=%s error=%s",
                self.source.key,
                not is_store_down,
                message,
            )
        status.last_error = message
        if is_store_down:
            status.is_store_reachable = False
            metrics.STORE_REACHABLE.set(0)


def _weights(table: RoutingTable) -> dict[tuple[str, str], float]:
    spec = table.spec
    weights: dict[tuple[str, str], float] = {}
    for target in spec.traffic:
        key = (target.version.key, "primary")
        weights[key] = weights.get(key, 0.0) + float(target.weight)
    for role, versions in (("shadow", spec.shadow), ("fallback", spec.fallback)):
        weights.update({(version.key, role): 0.0 for version in versions})
    return weights


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
