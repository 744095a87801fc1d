"""Shadow traffic: copies of answered requests run on other versions in a background thread.

Shadow answers go to the prediction log with route "shadow" under the primary's
prediction ids, so labels joined later score the shadow versions on the same requests.
They are never returned, and a slow or failing shadow never delays or fails a response:
when the queue is full the copy is dropped and counted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from steward.errors import StewardError
from steward.predictions import PredictionLog
from steward.serving import metrics
from steward.serving.inputs import Row
from steward.serving.models import ServedModel
from steward.serving.records import build_records

__all__ = ["ShadowJob", "ShadowMirror"]

log = logging.getLogger(__name__)

_WARN_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class ShadowJob:
    """One answered request to mirror onto `models`."""

    endpoint: str
    models: tuple[ServedModel, ...]
    rows: Sequence[Row]
    prediction_ids: Sequence[str]
    entity_keys: Sequence[str | None] | None
    at_ms: int


class ShadowMirror:
    """A bounded queue of shadow jobs and the one thread that runs them.

    Args:
        prediction_log: where shadow answers go; None runs them for the metrics only.
        max_queued: jobs waiting beyond which new copies are dropped.
    """

    def __init__(self, prediction_log: PredictionLog | None, *, max_queued: int = 1000) -> None:
        self._log = prediction_log
        self._queue: queue.Queue[ShadowJob | None] = queue.Queue(max_queued)
        self._warned_at: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="steward-shadow", daemon=True)
        self._thread.start()

    def submit(self, job: ShadowJob) -> None:
        """Queue a copy; never blocks (a full queue drops it)."""
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            for model in job.models:
                metrics.child(metrics.SHADOW, model.version.key, "dropped").inc()

    def close(self, timeout_s: float = 10.0) -> None:
        """Run what is queued, then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            log.warning("shadow queue still full at shutdown; its copies are dropped")
            return
        self._thread.join(timeout_s)

    def join(self) -> None:
        """Wait until every queued job ran (tests, and a clean shutdown)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                for model in job.models:
                    self._mirror(job, model)
            finally:
                self._queue.task_done()

    def _mirror(self, job: ShadowJob, model: ServedModel) -> None:
        version = model.version
        try:
            answer = model.predict(job.rows, probabilities=True)
        except Exception as exc:  # a shadow's failure is counted, never raised
            metrics.child(metrics.SHADOW, version.key, "error").inc()
            self._warn(version.key, exc)
            return
        metrics.child(metrics.SHADOW, version.key, "ok").inc()
        if self._log is None:
            return
        records = build_records(
            endpoint=job.endpoint,
            model_name=version.model_name,
            model_version=version.version,
            route="shadow",
            rows=job.rows,
            prediction_ids=job.prediction_ids,
            predictions=answer.predictions,
            probabilities=answer.probabilities,
            at_ms=job.at_ms,
            latency_ms=answer.latency_ms,
            entity_keys=job.entity_keys,
        )
        try:
            self._log.append(records)
        except StewardError as exc:
            metrics.child(metrics.LOG_FAILURES, "shadow").inc()
            self._warn("prediction-log", exc)

    def _warn(self, key: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at.get(key, -_WARN_EVERY_S) >= _WARN_EVERY_S:
            self._warned_at[key] = now
            log.warning("shadow prediction failed version=%s error=%r", key, exc)
