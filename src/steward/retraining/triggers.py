"""Retraining triggers: when a model should be retrained, with guard rails and a
seasonality check.

A `TriggerConfig` (a YAML or JSON file the user keeps) names the model, the pipeline that
trains it and which triggers are on: manual, a fixed-interval schedule, a drift alert and a
performance alert. Every decision that asks for a retrain is checked against guard rails
(at most `max_retrains` per `period`, and a `cooldown` after the last one) and recorded in
the audit log, target type `retraining`, target id the model name:

- `retrain.triggered`: a retrain was allowed (the guard rails count these);
- `retrain.skipped_seasonal`: drift that the season explains, so no retrain;
- `retrain.suppressed`: a retrain was wanted but a guard rail held it back.

Schedules are cron expressions (`cron: "0 3 * * 1"`, UTC) or fixed intervals (`every: 1d`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from steward import audit
from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.monitoring.alert_entities import AlertRule
from steward.monitoring.alert_rules import list_rules
from steward.monitoring.monitors import get_monitor
from steward.monitoring.series import monitor_key
from steward.monitoring.timeseries import ResultPoint, query_results, query_windows
from steward.monitoring.windows import format_duration, parse_duration
from steward.store import Store
from steward.store.tables import monitor_results

__all__ = [
    "KINDS",
    "TARGET_TYPE",
    "Decision",
    "DriftTrigger",
    "EvaluationConfig",
    "GuardRails",
    "PerformanceTrigger",
    "RolloutConfig",
    "ScheduleTrigger",
    "TriggerConfig",
    "latest_window",
    "load_trigger_config",
    "parse_trigger_config",
    "should_retrain",
    "trigger_history",
]

log = logging.getLogger(__name__)

Kind = Literal["manual", "schedule", "drift", "performance"]
KINDS: tuple[Kind, ...] = ("manual", "schedule", "drift", "performance")
TARGET_TYPE = "retraining"
TRIGGERED = "retrain.triggered"
SKIPPED_SEASONAL = "retrain.skipped_seasonal"
SUPPRESSED = "retrain.suppressed"
SEASONAL_PREFIX = "seasonal_"
_PAGE = 10_000


def _duration(value: Any, field_name: str) -> Any:  # Any: user input
    try:
        parse_duration(value, field=field_name)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None
    return str(value) if isinstance(value, int | float) else value


class ScheduleTrigger(BaseModel):
    """Retrain at the times of `cron` (five fields, UTC, e.g. `0 3 * * 1`: Mondays 03:00),
    or every `every` (a duration like `1d` or `7d`) counted from the last retrain. One of
    the two."""

    model_config = ConfigDict(extra="forbid")
    cron: str | None = None
    every: str | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _is_duration(cls, value: Any) -> Any:  # Any: user input
        return None if value is None else _duration(value, "schedule.every")

    @field_validator("cron")
    @classmethod
    def _is_cron(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split()) != 5 or not croniter.is_valid(value)):
            raise ValueError(
                "not a cron expression of five fields (minute hour day month weekday), "
                "e.g. '0 3 * * 1'"
            )
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleTrigger:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of `cron` or `every`")
        return self

    def due_after(self, last_ms: int) -> int:
        """When the schedule is next due after a retrain (or enabling) at `last_ms`."""
        if self.every is not None:
            return last_ms + parse_duration(self.every, field="schedule.every")
        start = datetime.fromtimestamp(last_ms / 1000, tz=UTC)
        upcoming: datetime = croniter(str(self.cron), start).get_next(datetime)
        return round(upcoming.timestamp() * 1000)

    def describe(self) -> str:
        return f"cron {self.cron}" if self.cron is not None else f"every {self.every}"


class DriftTrigger(BaseModel):
    """Retrain when a drift rule of `monitor` (its name starting with `rule_prefix`)
    breaches in a window, unless the monitor's seasonal baseline explains the drift."""

    model_config = ConfigDict(extra="forbid")
    monitor: str
    rule_prefix: str = ""


class PerformanceTrigger(BaseModel):
    """Retrain when a rule of `monitor` (its name starting with `rule_prefix`) breaches."""

    model_config = ConfigDict(extra="forbid")
    monitor: str
    rule_prefix: str = ""


class GuardRails(BaseModel):
    """At most `max_retrains` per `period`, and none within `cooldown` of the last one."""

    model_config = ConfigDict(extra="forbid")
    max_retrains: int = Field(default=1, ge=1, le=1000)
    period: str = "7d"
    cooldown: str = "1d"

    @field_validator("period", "cooldown", mode="before")
    @classmethod
    def _is_duration(cls, value: Any) -> Any:  # Any: user input
        return _duration(value, "guard_rails")

    @property
    def period_ms(self) -> int:
        return parse_duration(self.period, field="period")

    @property
    def cooldown_ms(self) -> int:
        return parse_duration(self.cooldown, field="cooldown")


class EvaluationConfig(BaseModel):
    """The fresh holdout a challenger and the champion are scored on.

    Either `path` (a .csv or .parquet file with a `label` column), or the labelled predictions
    of `endpoint` over the last `lookback` (their logged inputs and latest labels); with
    `from_trigger_window`, a drift or performance retrain keeps only those from the window
    that triggered it on: the challenger is judged on the data that asked for it.
    """

    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    label: str = "label"
    endpoint: str | None = None
    lookback: str = "1d"
    min_rows: int = Field(default=100, ge=1)
    from_trigger_window: bool = True
    metrics: list[str] = Field(default_factory=lambda: ["roc_auc", "accuracy"], min_length=1)

    @field_validator("lookback", mode="before")
    @classmethod
    def _is_duration(cls, value: Any) -> Any:  # Any: user input
        return _duration(value, "evaluation.lookback")


class RolloutConfig(BaseModel):
    """How a challenger the policy accepts reaches `endpoint`: stages, minimums and gates
    (see `steward.retraining.rollout.start_rollout`)."""

    model_config = ConfigDict(extra="forbid")
    endpoint: str = Field(min_length=1)
    stages: list[int] = Field(default_factory=lambda: [10, 50, 100])
    min_samples: int = Field(default=100, ge=0)
    min_duration: str = "10m"
    gates: dict[str, float] = Field(default_factory=lambda: {"max_error_rate": 0.02})

    @field_validator("min_duration", mode="before")
    @classmethod
    def _is_duration(cls, value: Any) -> Any:  # Any: user input
        return _duration(value, "rollout.min_duration")


class TriggerConfig(BaseModel):
    """What retrains a model: which pipeline, with which params, on which triggers.

    Attributes:
        model: the registered model the pipeline produces (its champion is compared).
        pipeline: `module:attribute` of a `steward.pipelines.Pipeline`.
        params: the pipeline's params.
        tenant: for one model of a fleet: the pipeline then registers `<name>-<tenant>`,
            which `model` must be (give the tenant key in `params` too).
        manual: whether `steward retrain run --reason manual` is allowed.
        environment: where an accepted challenger is promoted (its policy decides).
        executor: where the pipeline runs: a local process pool, inline, or the Dask
            scheduler at `executor_address` (`tcp://host:8786`).
        evaluation: the holdout of the closed loop (`steward retrain enable`).
        rollout: how an accepted challenger is rolled out; None promotes it at once.
    """

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=256)
    pipeline: str = Field(pattern=r"^[\w.]+:\w+$")
    params: dict[str, Any] = Field(default_factory=dict)
    tenant: str | None = Field(default=None, min_length=1, max_length=128)
    manual: bool = True
    schedule: ScheduleTrigger | None = None
    drift: DriftTrigger | None = None
    performance: PerformanceTrigger | None = None
    guard_rails: GuardRails = Field(default_factory=GuardRails)
    environment: str = "production"
    executor: Literal["local", "inline", "dask"] = "local"
    executor_address: str | None = None
    evaluation: EvaluationConfig | None = None
    rollout: RolloutConfig | None = None

    @model_validator(mode="after")
    def _dask_has_an_address(self) -> TriggerConfig:
        if self.executor == "dask" and not self.executor_address:
            raise ValueError("executor dask needs executor_address, e.g. tcp://127.0.0.1:8786")
        return self

    def enabled(self, kind: str) -> bool:
        return bool(self.manual) if kind == "manual" else getattr(self, kind) is not None


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to retrain now, and why.

    Attributes:
        retrain: True when the caller should run the pipeline.
        reason: one human sentence.
        trigger: the kind that asked (`manual`, `schedule`, `drift`, `performance`).
        evidence: the numbers behind it (breaching metrics, seasonal values, counts).
        audit_seq: the audit event recording the decision, None when nothing was recorded
            (a trigger with nothing to act on).
    """

    retrain: bool
    reason: str
    trigger: str
    model: str
    window_start_ms: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    audit_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "retrain": self.retrain,
            "reason": self.reason,
            "trigger": self.trigger,
            "model": self.model,
            "window_start_ms": self.window_start_ms,
            "evidence": self.evidence,
            "audit_seq": self.audit_seq,
        }


def parse_trigger_config(document: Any) -> TriggerConfig:  # Any: a parsed JSON/YAML document
    """Raises: InvalidInput naming the first bad field, its value and what is accepted."""
    if isinstance(document, TriggerConfig):
        return document
    if not isinstance(document, dict):
        raise InvalidInput(f"a trigger config must be a mapping, got {type(document).__name__}")
    try:
        return TriggerConfig.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "config"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidInput(
            f"trigger config field {name!r}: {message} (got {error.get('input')!r})", field=name
        ) from exc


def load_trigger_config(path: Path) -> TriggerConfig:
    """Read a YAML or JSON trigger config file.

    Raises:
        NotFound: no file at `path`.
        InvalidInput: not YAML/JSON, or a bad field.
    """
    if not Path(path).is_file():
        raise NotFound(f"no trigger config file at {str(path)!r}")
    try:
        document = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise InvalidInput(f"trigger config {str(path)!r} is not valid YAML/JSON: {exc}") from exc
    return parse_trigger_config(document)


def trigger_history(store: Store, model: str) -> list[audit.AuditEvent]:
    """Every recorded retraining decision of `model`, oldest first."""
    events: list[audit.AuditEvent] = []
    after: int | None = None
    while True:
        page = audit.list_events(
            store, target_type=TARGET_TYPE, target_id=model, limit=_PAGE, after_seq=after
        )
        events += page
        if len(page) < _PAGE:
            return events
        after = page[-1].seq


def should_retrain(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    *,
    reason: str,
    monitor: str | None = None,
    window_start_ms: int | None = None,
    now_ms: int | None = None,
    since_ms: int | None = None,
) -> Decision:
    """Decide whether trigger `reason` retrains `config.model` now, and record the decision.

    Args:
        reason: `manual`, `schedule`, `drift` or `performance`.
        monitor: for drift/performance, overrides the config's monitor.
        window_start_ms: for drift/performance, the window to judge; default the monitor's
            newest computed window.
        now_ms: the current time (default the store's clock); guard rails count from it.
        since_ms: for a schedule, the time it counts from before the first retrain (a loop's
            enabling); None: due at once.

    Raises:
        InvalidInput: an unknown reason, or one the config does not enable.
        NotFound: the monitor does not exist, or has no computed window.
    """
    if reason not in KINDS:
        raise InvalidInput(
            f"retrain reason must be one of {', '.join(KINDS)}, got {reason!r}", field="reason"
        )
    if not config.enabled(reason):
        raise InvalidInput(
            f"trigger {reason!r} is not enabled for model {config.model!r}; add it to the "
            "trigger config",
            field="reason",
        )
    now = store.clock() if now_ms is None else now_ms
    history = [e for e in trigger_history(store, config.model) if e.action == TRIGGERED]
    history = [e for e in history if e.at_ms <= now]
    base = Decision(retrain=True, reason="", trigger=reason, model=config.model)
    if reason == "manual":
        wanted = _replace(base, reason="manual request")
    elif reason == "schedule":
        wanted = _scheduled(base, config, history, now, since_ms)
    else:
        wanted = _alerted(store, base, config, reason, monitor, window_start_ms)
    if wanted.retrain:
        wanted = _guard(wanted, config.guard_rails, history, now)
    if wanted.retrain:
        return _record(store, settings, wanted, TRIGGERED, now)
    if wanted.evidence.get("seasonal"):
        return _record(store, settings, wanted, SKIPPED_SEASONAL, now)
    if wanted.evidence.get("guard_rail"):
        return _record(store, settings, wanted, SUPPRESSED, now)
    return wanted


def _replace(decision: Decision, **changes: Any) -> Decision:
    values = decision.to_dict() | changes
    return Decision(**values)


def _scheduled(
    base: Decision,
    config: TriggerConfig,
    history: list[audit.AuditEvent],
    now: int,
    since_ms: int | None,
) -> Decision:
    schedule = config.schedule
    if schedule is None:  # pragma: no cover - checked by enabled()
        raise InvalidInput(f"trigger 'schedule' is not enabled for model {config.model!r}")
    last = history[-1].at_ms if history else since_ms
    if last is not None and (due := schedule.due_after(last)) > now:
        return _replace(
            base,
            retrain=False,
            reason=f"schedule not due: {schedule.describe()}, next at {due} ms",
            evidence={"next_due_ms": due},
        )
    return _replace(base, reason=f"scheduled ({schedule.describe()})")


def _alerted(
    store: Store,
    base: Decision,
    config: TriggerConfig,
    kind: str,
    monitor: str | None,
    window_start_ms: int | None,
) -> Decision:
    trigger = config.drift if kind == "drift" else config.performance
    if trigger is None:  # pragma: no cover - checked by enabled()
        raise InvalidInput(f"trigger {kind!r} is not enabled for model {config.model!r}")
    name = monitor or trigger.monitor
    found = get_monitor(store, name)  # NotFound lists the monitors
    start = _window(store, name, window_start_ms)
    rules = [r for r in list_rules(store, name) if r.enabled]
    rules = [r for r in rules if r.name.startswith(trigger.rule_prefix)]
    if kind == "drift":
        rules = [r for r in rules if "drift." in r.metric]
    depth = max((r.consecutive for r in rules), default=1)
    earlier = start - (depth - 1) * found.config.window_ms
    history = query_results(store, name, start_ms=earlier, end_ms=start + 1)
    points = [p for p in history if p.window_start_ms == start]
    base = _replace(base, window_start_ms=start)
    breaches: list[dict[str, Any]] = []
    seasonal_ok: list[bool] = []
    for rule in rules:
        metric = rule.metric.removeprefix(SEASONAL_PREFIX) if kind == "drift" else rule.metric
        for point in _matching(points, rule, metric):
            if point.value is None or not rule.breaches(point.value):
                continue
            if not _held(history, rule, metric, point, found.config.window_ms):
                continue
            breach = _breach(rule, point)
            if kind == "drift" and found.config.seasonal_period is not None:
                seasonal = _seasonal_value(points, point)
                breach["seasonal_value"] = seasonal
                seasonal_ok.append(seasonal is not None and not rule.breaches(seasonal))
            breaches.append(breach)
    if not breaches:
        return _replace(
            base,
            retrain=False,
            reason=f"no {kind} rule of monitor {name!r} breaches in window {start}",
            evidence={"monitor": name, "rules": [r.name for r in rules]},
        )
    evidence: dict[str, Any] = {"monitor": name, "breaches": breaches}
    if seasonal_ok and all(seasonal_ok):
        return _replace(
            base,
            retrain=False,
            reason="seasonal, not retraining",
            evidence=evidence | {"seasonal": True, "period": found.config.seasonal_period},
        )
    what = ", ".join(sorted({f"{b['metric']}[{b['feature'] or '-'}]" for b in breaches}))
    return _replace(base, reason=f"{kind} alert on monitor {name!r}: {what}", evidence=evidence)


def latest_window(store: Store, monitor: str) -> int:
    """The start of `monitor`'s newest computed window.

    Raises:
        NotFound: no such monitor, or it has no computed window yet.
    """
    return _window(store, monitor, None)


def _window(store: Store, monitor: str, start: int | None) -> int:
    if start is not None:
        return start
    windows = query_windows(store, monitor, limit=1)
    table = monitor_results
    with store.db.read() as conn:
        query = sa.select(sa.func.max(table.c.window_start_ms))
        newest = conn.execute(query.where(table.c.monitor_id == monitor_key(conn, monitor)))
        stored = newest.scalar()
    starts = [w.window_start_ms for w in windows] + ([int(stored)] if stored is not None else [])
    if not starts:
        raise NotFound(
            f"monitor {monitor!r} has no computed window yet; run it or pass window_start_ms"
        )
    return max(starts)


def _matching(points: list[ResultPoint], rule: AlertRule, metric: str) -> list[ResultPoint]:
    found = [p for p in points if p.metric == metric]
    if rule.feature is not None:
        found = [p for p in found if p.feature == rule.feature]
    if rule.segment is None:
        found = [p for p in found if not p.segment]
    elif rule.segment != "*":
        found = [p for p in found if p.segment == rule.segment]
    return [p for p in found if p.sample_size >= rule.min_samples]


def _held(
    history: list[ResultPoint], rule: AlertRule, metric: str, point: ResultPoint, window_ms: int
) -> bool:
    """Whether the breach held for the rule's `consecutive` windows up to `point`'s, as an
    alert of that rule would need before it fires."""
    for back in range(1, rule.consecutive):
        start = point.window_start_ms - back * window_ms
        earlier = [
            p
            for p in _matching([h for h in history if h.window_start_ms == start], rule, metric)
            if (p.feature, p.segment) == (point.feature, point.segment)
        ]
        if not earlier or earlier[0].value is None or not rule.breaches(earlier[0].value):
            return False
    return True


def _seasonal_value(points: list[ResultPoint], point: ResultPoint) -> float | None:
    wanted = SEASONAL_PREFIX + point.metric
    for other in points:
        if (other.metric, other.feature, other.segment) == (wanted, point.feature, point.segment):
            return other.value
    return None


def _breach(rule: AlertRule, point: ResultPoint) -> dict[str, Any]:
    return {
        "rule": rule.name,
        "metric": point.metric,
        "feature": point.feature,
        "segment": point.segment or None,
        "value": point.value,
        "threshold": rule.threshold,
    }


def _guard(
    decision: Decision, rails: GuardRails, history: list[audit.AuditEvent], now: int
) -> Decision:
    recent = [e for e in history if now - e.at_ms < rails.period_ms]
    if len(recent) >= rails.max_retrains:
        return _replace(
            decision,
            retrain=False,
            reason=(
                f"guard rail: {len(recent)} retrain(s) of {decision.model!r} in the last "
                f"{rails.period} (max {rails.max_retrains}); wanted: {decision.reason}"
            ),
            evidence=decision.evidence | {"guard_rail": "max_retrains", "recent": len(recent)},
        )
    if history and now - history[-1].at_ms < rails.cooldown_ms:
        since = now - history[-1].at_ms
        return _replace(
            decision,
            retrain=False,
            reason=(
                f"guard rail: cooldown {rails.cooldown}, last retrain "
                f"{format_duration(max(since, 1))} ago; wanted: {decision.reason}"
            ),
            evidence=decision.evidence
            | {"guard_rail": "cooldown", "last_at_ms": history[-1].at_ms},
        )
    return decision


def _record(
    store: Store, settings: Settings, decision: Decision, action: str, now: int
) -> Decision:
    with store.db.write() as conn:
        event = audit.record(
            conn,
            at_ms=now,
            actor=settings.actor,
            action=action,
            target_type=TARGET_TYPE,
            target_id=decision.model,
            after={k: v for k, v in decision.to_dict().items() if k != "audit_seq"},
        )
    log.info("retraining decision model=%s action=%s", decision.model, action)
    return _replace(decision, audit_seq=event.seq)
