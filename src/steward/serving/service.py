"""Answering one prediction request, whatever its protocol: check, route, predict, log.

The order per request: read the routing table once; pick the primary (pin, sticky key or
weight); check the rows against the primary's contract; call the model, and on an error or
a timeout walk the fallback chain, then the default response; log every row; queue the
shadow copies. Nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from steward.contracts import Violation
from steward.contracts.messages import describe
from steward.errors import InvalidInput, StewardError, Unavailable
from steward.predictions import PredictionLog, Route, new_prediction_id
from steward.serving import metrics
from steward.serving.inputs import Row
from steward.serving.models import ModelAnswer, ServedModel
from steward.serving.records import DEFAULT_RESPONSE_VERSION, build_records
from steward.serving.runtime import RoutingTable, Runtime
from steward.serving.shadow import ShadowJob, ShadowMirror

__all__ = ["Answer", "PredictionService", "Query"]

log = logging.getLogger(__name__)

DEFAULT_LABEL = "default"
_WARN_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class Query:
    """A prediction request once its protocol is parsed.

    Attributes:
        rows: column name to value, one mapping per row.
        pin: a version (`3`) or alias (`@champion`) the caller asked for, when any.
        headers: request headers, lower-case names (the sticky key may be one).
        probabilities: whether class probabilities are wanted.
    """

    rows: Sequence[Row]
    pin: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    probabilities: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """What a request got back, for the protocols to render.

    Attributes:
        model_version: the version that answered; None when the default response did.
        route: "primary", or "fallback" when a fallback or the default response answered.
        label: the answering version as metrics name it (`churn/3`, or `default`).
    """

    predictions: list[Any]  # Any: JSON values of the model's output
    probabilities: list[list[float]] | None
    prediction_ids: list[str]
    model_name: str
    model_version: int | None
    route: Route
    label: str


@dataclass(frozen=True, slots=True)
class _Outcome:
    model: ServedModel | None  # None: the default response answered
    answer: ModelAnswer
    route: Route


class PredictionService:
    """Answers queries with the runtime's current table.

    Args:
        runtime: holds the routing table.
        prediction_log: where every answered row goes; None logs nothing.
        mirror: runs shadow copies; None disables shadow traffic.
        workers: threads that run models under a timeout (only used when the endpoint has
            a fallback or a default response to turn to).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        prediction_log: PredictionLog | None = None,
        mirror: ShadowMirror | None = None,
        workers: int = 4,
    ) -> None:
        self.runtime = runtime
        self.prediction_log = prediction_log
        self.mirror = mirror
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="steward-model")
        self._warned_at: dict[str, float] = {}

    def current(self) -> RoutingTable:
        """Raises: Unavailable: no routing table is loaded yet."""
        table = self.runtime.table
        if table is None:
            raise Unavailable(
                "not ready: the models are still loading; retry shortly (GET /readyz)"
            )
        return table

    async def answer(self, query: Query) -> Answer:
        """Answer `query` with the table current when it arrived.

        Raises:
            InvalidInput: a contract violation (reject mode), a bad pin, unusable rows.
            Unavailable: nothing loaded yet, or every model timed out and no default is set.
            StewardError: every model of the chain raised and no default response is set.
        """
        table = self.current()
        rows = query.rows
        primary = self._primary(table, query)
        if table.spec.contract_mode != "off":
            self._enforce_contract(table, primary, rows)
        outcome = await self._call_chain(table, primary, query)
        at_ms = time.time_ns() // 1_000_000
        ids: list[str] = [new_prediction_id(at_ms) for _ in rows]
        entity_keys = self._entity_keys(table, query)
        answer = _answer(table, outcome, ids)
        await self._log(table, outcome, query, ids, at_ms, entity_keys)
        if table.shadow and self.mirror is not None:
            self.mirror.submit(
                ShadowJob(table.spec.name, table.shadow, rows, ids, entity_keys, at_ms)
            )
        return answer

    def close(self) -> None:
        """Stop the model threads (a model still running past its timeout is not waited for)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _primary(self, table: RoutingTable, query: Query) -> ServedModel:
        if query.pin is not None:
            return table.router.pinned(query.pin)
        return table.router.choose(self._sticky_value(table, query))

    @staticmethod
    def _sticky_value(table: RoutingTable, query: Query) -> object | None:
        key = table.spec.sticky_key
        if key is None:
            return None
        value = query.rows[0].get(key) if query.rows else None
        return value if value is not None else query.headers.get(key.lower())

    @staticmethod
    def _entity_keys(table: RoutingTable, query: Query) -> list[str | None] | None:
        key = table.spec.sticky_key
        if key is None:
            return None
        fallback = query.headers.get(key.lower())
        return [_text(row.get(key, fallback)) for row in query.rows]

    @staticmethod
    def _enforce_contract(table: RoutingTable, primary: ServedModel, rows: Sequence[Row]) -> None:
        violations = primary.violations(rows)
        if not violations:
            return
        key = primary.version.key
        for violation in violations:
            # An extra column's name is the caller's choice: one label keeps cardinality bounded.
            column = "(extra)" if violation.kind == "extra_column" else violation.column
            metrics.child(metrics.VIOLATIONS, key, column, violation.kind).inc()
        if table.spec.contract_mode == "reject":
            raise _rejection(violations, primary)

    async def _call_chain(
        self, table: RoutingTable, primary: ServedModel, query: Query
    ) -> _Outcome:
        timeout_ms = table.spec.timeout_ms
        # A timeout needs the model on another thread; only worth it with somewhere to turn.
        timeout_s = timeout_ms / 1000 if (timeout_ms and table.has_fallback) else None
        chain = (primary, *(model for model in table.fallback if model is not primary))
        failures: list[tuple[ServedModel, str, BaseException]] = []
        for model in chain:
            try:
                answer = await self._invoke(model, query, timeout_s)
            except InvalidInput:
                raise  # the caller's rows, not the model, are at fault: no fallback helps
            except Exception as exc:  # the model's own failure: the chain takes over
                reason = "timeout" if isinstance(exc, TimeoutError) else "error"
                failures.append((model, reason, exc))
                self._warn(model.version.key, reason, exc)
                continue
            route: Route = "fallback" if failures else "primary"
            key = model.version.key
            metrics.child(metrics.MODEL_LATENCY, key).observe(answer.latency_ms / 1000)
            _count_fallbacks(failures, key)
            return _Outcome(model, answer, route)
        return self._last_resort(table, query, failures, timeout_ms)

    async def _invoke(
        self, model: ServedModel, query: Query, timeout_s: float | None
    ) -> ModelAnswer:
        if timeout_s is None:
            return model.predict(query.rows, probabilities=query.probabilities)
        call = partial(model.predict, query.rows, probabilities=query.probabilities)
        future = asyncio.get_running_loop().run_in_executor(self._pool, call)
        return await asyncio.wait_for(future, timeout_s)

    @staticmethod
    def _last_resort(
        table: RoutingTable,
        query: Query,
        failures: list[tuple[ServedModel, str, BaseException]],
        timeout_ms: int | None,
    ) -> _Outcome:
        default = table.default_response
        if default is not None:
            _count_fallbacks(failures, DEFAULT_LABEL)
            answer = ModelAnswer([default] * len(query.rows), None, 0.0)
            return _Outcome(None, answer, "fallback")
        _count_fallbacks(failures, "none")
        told = "; ".join(_failure_words(m, r, e, timeout_ms) for m, r, e in failures)
        message = f"endpoint {table.spec.name!r}: {told}; no fallback or default response left"
        if all(reason == "timeout" for _, reason, _ in failures):
            raise Unavailable(message)
        raise StewardError(message)

    async def _log(
        self,
        table: RoutingTable,
        outcome: _Outcome,
        query: Query,
        ids: list[str],
        at_ms: int,
        entity_keys: list[str | None] | None,
    ) -> None:
        prediction_log = self.prediction_log
        if prediction_log is None:
            return
        model = outcome.model
        records = build_records(
            endpoint=table.spec.name,
            model_name=table.spec.model_name if model is None else model.version.model_name,
            model_version=DEFAULT_RESPONSE_VERSION if model is None else model.version.version,
            route=outcome.route,
            rows=query.rows,
            prediction_ids=ids,
            predictions=outcome.answer.predictions,
            probabilities=outcome.answer.probabilities,
            at_ms=at_ms,
            latency_ms=outcome.answer.latency_ms,
            entity_keys=entity_keys,
        )
        if prediction_log.durable:
            # The answer waits for the sync; the event loop does not.
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._pool, prediction_log.append, records)
            return
        try:
            prediction_log.append(records)
        except StewardError as exc:  # never fail an answer for a best-effort log
            metrics.child(metrics.LOG_FAILURES, outcome.route).inc()
            self._warn("prediction-log", "error", exc)

    def _warn(self, key: str, reason: str, exc: BaseException) -> None:
        """At most one log line per model per 10 s: a broken model must not flood the log."""
        now = time.monotonic()
        if now - self._warned_at.get(key, -_WARN_EVERY_S) >= _WARN_EVERY_S:
            self._warned_at[key] = now
            log.warning("model failed version=%s reason=%s error=%r", key, reason, exc)


def _answer(table: RoutingTable, outcome: _Outcome, ids: list[str]) -> Answer:
    model = outcome.model
    version = None if model is None else model.version
    return Answer(
        predictions=outcome.answer.predictions,
        probabilities=outcome.answer.probabilities,
        prediction_ids=ids,
        model_name=table.spec.model_name if version is None else version.model_name,
        model_version=None if version is None else version.version,
        route=outcome.route,
        label=DEFAULT_LABEL if version is None else version.key,
    )


def _rejection(violations: list[Violation], model: ServedModel) -> InvalidInput:
    contract = model.validator.contract if model.validator is not None else None
    label = contract.label if contract is not None else f"contract of {model.version.key}"
    message = describe(violations[0], label)
    rows = {violation.row for violation in violations}
    if len(violations) > 1:
        message += f"; {len(violations)} violations in {len(rows)} row(s)"
    return InvalidInput(
        message,
        field=violations[0].column,
        details=[violation.to_dict() for violation in violations[:100]],
    )


def _count_fallbacks(failures: list[tuple[ServedModel, str, BaseException]], by: str) -> None:
    for model, reason, _ in failures:
        metrics.child(metrics.FALLBACKS, model.version.key, by, reason).inc()


def _failure_words(
    model: ServedModel, reason: str, exc: BaseException, timeout_ms: int | None
) -> str:
    if reason == "timeout":
        return f"model {model.version.key} gave no answer within {timeout_ms} ms"
    return f"model {model.version.key} failed ({type(exc).__name__}: {exc})"


def _text(value: object) -> str | None:
    return None if value is None else str(value)
