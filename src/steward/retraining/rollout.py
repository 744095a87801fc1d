"""Progressive rollout: a challenger version takes a growing share of an endpoint's traffic,
stage by stage, while gates on its served predictions hold; a breach rolls it back at once.

Everything lives in the store (stage index, when the stage started, status, the last
evaluation), so a restarted control plane resumes each rollout where it was. Evaluation
measures the current stage from the prediction log (`steward.retraining.gates`): the
challenger's answers (samples, p99 latency, predictions, accuracy on late labels) and every
fallback of the endpoint during the stage. The log does not say which primary failed before
a fallback answered, so every fallback counts against the challenger: a conservative error
rate that can only roll back too early, never promote a failing version.

A first stage of 0 is a shadow stage: the challenger gets a copy of every request off the
response path (route `shadow`), so latency and prediction drift are gated before any client
sees its answers. Shadow failures are counted by the serving process, not logged, so the
error-rate gate applies from the first live stage.

The last stage promotes through `registry.promote` to the endpoint's environment, with the
champion/challenger comparison given at start: the environment's policy has the last word.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from steward import audit, registry
from steward.config import Settings
from steward.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from steward.monitoring.alert_rules import create_rule, get_rule
from steward.monitoring.alerts import fire_alert
from steward.monitoring.monitors import list_monitors
from steward.monitoring.notifiers import notifiers_from_settings
from steward.registry.endpoints import update_endpoint
from steward.retraining.gates import GATES, check_gates, find_breaches, measure
from steward.store import Store
from steward.store.tables import rollout_events, rollouts

__all__ = [
    "GATES",
    "Rollout",
    "RolloutEvent",
    "RolloutStatus",
    "abort_rollout",
    "check_gates",
    "check_stages",
    "evaluate_rollout",
    "get_rollout",
    "list_rollout_events",
    "list_rollouts",
    "start_rollout",
    "tick_rollouts",
]

log = logging.getLogger(__name__)

RolloutStatus = Literal["running", "promoted", "rolled_back", "aborted"]
SHADOW = 0
ROLLBACK_METRIC = "rollout.rolled_back"
ROLLBACK_RULE_SUFFIX = "-rollout-rollback"
DEFAULT_GATES: dict[str, float] = {"max_error_rate": 0.02}
CHAMPION = "@champion"


@dataclass(frozen=True, slots=True)
class Rollout:
    """One rollout and where it is.

    Attributes:
        stages: the challenger's traffic percentage at each stage, the last one 100.
        gates: limits on the challenger's stage metrics (`max_error_rate`, `max_p99_ms`,
            `max_prediction_psi` against the champion's predictions in the same stage).
        stage_index: the current stage (the last one reached once finished).
        last_evaluation: the numbers of the latest evaluation, or None before the first.
        evaluation: the champion/challenger comparison handed to the promotion policy.
    """

    id: int
    endpoint: str
    model_name: str
    challenger_version: int
    champion_target: str
    stages: tuple[int, ...]
    gates: dict[str, float]
    min_samples: int
    min_duration_s: float
    stage_index: int
    stage_started_at: datetime
    status: RolloutStatus
    last_evaluation: dict[str, Any] | None  # Any: JSON values
    created_by: str
    created_at: datetime
    updated_at: datetime
    evaluation: dict[str, Any] | None = None  # Any: JSON values

    @property
    def stage_percent(self) -> int:
        return self.stages[self.stage_index]

    @property
    def stage_name(self) -> str:
        return "shadow" if self.stage_percent == SHADOW else f"{self.stage_percent}%"

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "model_name": self.model_name,
            "challenger_version": self.challenger_version,
            "champion_target": self.champion_target,
            "stages": list(self.stages),
            "gates": self.gates,
            "min_samples": self.min_samples,
            "min_duration_s": self.min_duration_s,
            "stage_index": self.stage_index,
            "stage_percent": self.stage_percent,
            "stage": self.stage_name,
            "stage_started_at": self.stage_started_at.isoformat(),
            "status": self.status,
            "last_evaluation": self.last_evaluation,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "evaluation": self.evaluation,
        }


@dataclass(frozen=True, slots=True)
class RolloutEvent:
    """What happened to a rollout: `started`, `advanced`, `promoted`, `rolled_back` or
    `aborted`."""

    id: int
    rollout_id: int
    at: datetime
    kind: str
    message: str
    details: dict[str, Any]  # Any: JSON values

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values
        return {
            "id": self.id,
            "rollout_id": self.rollout_id,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "message": self.message,
            "details": self.details,
        }


def start_rollout(
    store: Store,
    endpoint: str,
    challenger_version: int,
    *,
    stages: Sequence[int] = (10, 50, 100),
    min_samples: int = 100,
    min_duration_s: float = 600.0,
    gates: Mapping[str, float] | None = None,
    evaluation: Mapping[str, Any] | None = None,  # Any: JSON values
    actor: str,
    now_ms: int | None = None,
) -> Rollout:
    """Send the first stage's share of `endpoint`'s traffic to `challenger_version`, the rest
    to `@champion`, and record the rollout (events `endpoint.traffic`, `rollout.start`).

    Args:
        stages: increasing percentages in 0-100 ending at 100; only the first may be 0, a
            shadow stage.
        min_samples: challenger answers a stage needs before it may advance.
        min_duration_s: seconds a stage lasts at least.
        gates: `max_error_rate` (0-1), `max_p99_ms`, `max_prediction_psi`; default
            `{"max_error_rate": 0.02}`.
        evaluation: `{"challenger": {...}, "champion": {...}}` metrics on one holdout, given
            to `registry.promote` at the last stage (see `Comparison.as_evaluation`).
        now_ms: when the first stage starts; default the store's clock.

    Raises:
        InvalidInput: bad stages, gates, minimums, or the challenger is the champion.
        NotFound: no such endpoint, version, or the model has no `champion` alias.
        Conflict: a rollout is already running on the endpoint.
    """
    checked_stages = check_stages(stages)
    checked_gates = check_gates(DEFAULT_GATES if gates is None else gates)
    if not isinstance(min_samples, int) or isinstance(min_samples, bool) or min_samples < 0:
        raise InvalidInput(
            f"min_samples {min_samples!r} is not a whole number >= 0", field="min_samples"
        )
    if not isinstance(min_duration_s, int | float) or not min_duration_s >= 0:
        raise InvalidInput(
            f"min_duration_s {min_duration_s!r} is not a number of seconds >= 0",
            field="min_duration_s",
        )
    target = registry.get_endpoint(store, endpoint)
    champion = registry.get_alias(store, target.model_name, CHAMPION[1:])
    if champion.version == challenger_version:
        raise InvalidInput(
            f"version {challenger_version} of {target.model_name!r} is already the champion; "
            "roll out another version",
            field="challenger_version",
        )
    running = [r for r in list_rollouts(store, endpoint=endpoint) if r.status == "running"]
    if running:
        raise Conflict(
            f"rollout {running[0].id} is already running on endpoint {endpoint!r} "
            f"(see it: steward rollouts show {running[0].id})",
            field="endpoint",
        )
    _route(store, target, challenger_version, checked_stages[0], actor)
    now = store.clock() if now_ms is None else now_ms
    row = {
        "endpoint": endpoint,
        "model_name": target.model_name,
        "challenger_version": challenger_version,
        "champion_target": CHAMPION,
        "stages": list(checked_stages),
        "gates": checked_gates,
        "min_samples": min_samples,
        "min_duration_ms": int(min_duration_s * 1000),
        "stage_index": 0,
        "stage_started_at_ms": now,
        "status": "running",
        "last_evaluation": None,
        "created_by": actor,
        "created_at_ms": now,
        "updated_at_ms": now,
        "evaluation": None if evaluation is None else dict(evaluation),
    }
    with store.db.write() as conn:
        inserted = conn.execute(sa.insert(rollouts).values(row))
        rollout_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]  # one-column key
        details = {"stage": checked_stages[0], "champion_version": champion.version}
        share = "a shadow copy" if checked_stages[0] == SHADOW else f"{checked_stages[0]}%"
        message = f"{share} of {endpoint} to version {challenger_version}"
        _event(conn, rollout_id, now, "started", message, details)
        document = {k: row[k] for k in ("endpoint", "challenger_version", "stages", "gates")}
        _audit(conn, now, actor, "rollout.start", rollout_id, after=document)
    log.info(
        "rollout started id=%d endpoint=%s version=%d", rollout_id, endpoint, challenger_version
    )
    return get_rollout(store, rollout_id)


def evaluate_rollout(
    store: Store,
    settings: Settings,
    rollout_id: int,
    *,
    now_ms: int | None = None,
    actor: str = "steward-rollout",
) -> Rollout:
    """Measure the current stage and act: advance, promote at 100%, roll back on a breach,
    or hold (not enough samples or time yet). A finished rollout is returned unchanged.

    Raises:
        NotFound: no such rollout.
    """
    rollout = get_rollout(store, rollout_id)
    if rollout.status != "running":
        return rollout
    _reconcile(store, rollout, actor)
    now = store.clock() if now_ms is None else now_ms
    started = _ms(rollout.stage_started_at)
    evaluation = measure(
        settings,
        rollout.endpoint,
        rollout.challenger_version,
        rollout.gates,
        started,
        now,
        shadow=rollout.stage_percent == SHADOW,
    )
    breaches = find_breaches(rollout.gates, evaluation)
    evaluation |= {"at_ms": now, "stage": rollout.stage_percent, "breaches": breaches}
    if breaches:
        return _roll_back(store, settings, rollout, evaluation, now, actor)
    ready = (
        evaluation["samples"] >= rollout.min_samples
        and now - started >= rollout.min_duration_s * 1000
    )
    if not ready:
        _update(store, rollout, now, last_evaluation=evaluation)
        return get_rollout(store, rollout_id)
    if rollout.stage_index + 1 >= len(rollout.stages):
        return _promote(store, settings, rollout, evaluation, now, actor)
    return _advance(store, rollout, evaluation, now, actor)


def abort_rollout(
    store: Store, rollout_id: int, *, actor: str, reason: str = "", now_ms: int | None = None
) -> Rollout:
    """Stop a running rollout by hand: all traffic back to `@champion` (event `aborted`,
    audit `rollout.abort`).

    Raises:
        NotFound: no such rollout.
        Conflict: the rollout has already finished.
    """
    rollout = get_rollout(store, rollout_id)
    if rollout.status != "running":
        raise Conflict(
            f"rollout {rollout_id} is already {rollout.status}; only a running one can be aborted",
            field="rollout_id",
        )
    now = store.clock() if now_ms is None else now_ms
    message = f"aborted at {rollout.stage_name} by {actor}" + (f": {reason}" if reason else "")
    claimed = _update(
        store,
        rollout,
        now,
        last_evaluation=(rollout.last_evaluation or {}) | {"reason": reason},
        status="aborted",
        event=("aborted", message),
        action="rollout.abort",
        actor=actor,
    )
    if not claimed:
        raise Conflict(
            f"rollout {rollout_id} moved while it was being aborted; look again "
            f"(steward rollouts show {rollout_id})",
            field="rollout_id",
        )
    _restore(store, rollout, actor)
    log.warning("rollout aborted id=%d by %s", rollout.id, actor)
    return get_rollout(store, rollout.id)


def tick_rollouts(store: Store, settings: Settings, *, now_ms: int | None = None) -> list[Rollout]:
    """Evaluate every running rollout (the control plane's scheduler calls this each tick);
    one rollout's failure is logged and does not stop the others."""
    evaluated = []
    for rollout in list_rollouts(store, status="running"):
        try:
            evaluated.append(evaluate_rollout(store, settings, rollout.id, now_ms=now_ms))
        except Exception:  # any failure of one rollout: keep evaluating the rest
            log.exception("rollout evaluation failed id=%d", rollout.id)
    return evaluated


def get_rollout(store: Store, rollout_id: int) -> Rollout:
    """Raises: NotFound."""
    with store.db.read() as conn:
        row = conn.execute(sa.select(rollouts).where(rollouts.c.id == rollout_id)).first()
    if row is None:
        raise NotFound(
            f"no rollout {rollout_id!r} (list them: steward rollouts list)", field="rollout_id"
        )
    return _rollout(row._mapping)


def list_rollouts(
    store: Store, *, endpoint: str | None = None, status: str | None = None
) -> list[Rollout]:
    """Rollouts, newest first, optionally of one endpoint and/or in one status."""
    query = sa.select(rollouts).order_by(rollouts.c.id.desc())
    if endpoint is not None:
        query = query.where(rollouts.c.endpoint == endpoint)
    if status is not None:
        query = query.where(rollouts.c.status == status)
    with store.db.read() as conn:
        return [_rollout(row._mapping) for row in conn.execute(query)]


def list_rollout_events(store: Store, rollout_id: int) -> list[RolloutEvent]:
    """A rollout's events, oldest first."""
    query = (
        sa.select(rollout_events)
        .where(rollout_events.c.rollout_id == rollout_id)
        .order_by(rollout_events.c.id)
    )
    with store.db.read() as conn:
        return [
            RolloutEvent(
                id=row.id,
                rollout_id=row.rollout_id,
                at=_at(row.at_ms),
                kind=row.kind,
                message=row.message,
                details=row.details,
            )
            for row in conn.execute(query)
        ]


# Acting --------------------------------------------------------------------------------


def _advance(
    store: Store, rollout: Rollout, evaluation: dict[str, Any], now: int, actor: str
) -> Rollout:
    index = rollout.stage_index + 1
    percent = rollout.stages[index]
    message = f"stage {rollout.stage_name} held; {percent}% to the challenger"
    claimed = _update(
        store,
        rollout,
        now,
        last_evaluation=evaluation,
        stage_index=index,
        stage_started_at_ms=now,
        event=("advanced", message),
        action="rollout.advance",
        actor=actor,
    )
    if claimed:
        endpoint = registry.get_endpoint(store, rollout.endpoint)
        _route(store, endpoint, rollout.challenger_version, percent, actor)
    log.info("rollout advanced id=%d stage=%d%%", rollout.id, percent)
    return get_rollout(store, rollout.id)


def _promote(
    store: Store,
    settings: Settings,
    rollout: Rollout,
    evaluation: dict[str, Any],
    now: int,
    actor: str,
) -> Rollout:
    """Promote through the environment's policy; a refusal rolls the challenger back."""
    environment = registry.get_endpoint(store, rollout.endpoint).environment
    try:
        decision = registry.promote(
            store,
            rollout.model_name,
            rollout.challenger_version,
            to=environment,
            actor=actor,
            evaluation=rollout.evaluation,
            approvers=settings.approvers,
            environments=settings.environments,
        )
    except PolicyViolation as refused:
        evaluation["breaches"] = [f"the {environment} policy refused: {refused.message}"]
        return _roll_back(store, settings, rollout, evaluation, now, actor)
    except Conflict:
        current = registry.get_alias(store, rollout.model_name, CHAMPION[1:]).version
        if current != rollout.challenger_version:
            raise  # moved by someone else meanwhile: the next tick decides again
        decision = None
    registry.set_traffic(store, rollout.endpoint, {CHAMPION: 100}, actor=actor)
    checks = [] if decision is None else [c.to_dict() for c in decision.checks]
    evaluation["policy_checks"] = checks
    message = f"version {rollout.challenger_version} promoted to champion in {environment}"
    _update(
        store,
        rollout,
        now,
        last_evaluation=evaluation,
        status="promoted",
        event=("promoted", message),
        action="rollout.promote",
        actor=actor,
    )
    log.info("rollout promoted id=%d version=%d", rollout.id, rollout.challenger_version)
    return get_rollout(store, rollout.id)


def _roll_back(
    store: Store,
    settings: Settings,
    rollout: Rollout,
    evaluation: dict[str, Any],
    now: int,
    actor: str,
) -> Rollout:
    message = (
        f"version {rollout.challenger_version} rolled back at {rollout.stage_name}: "
        + "; ".join(evaluation["breaches"])
    )
    claimed = _update(
        store,
        rollout,
        now,
        last_evaluation=evaluation,
        status="rolled_back",
        event=("rolled_back", message),
        action="rollout.rollback",
        actor=actor,
    )
    if claimed:
        _restore(store, rollout, actor)
        _alert(store, settings, rollout, now, actor)
    log.warning("rollout rolled back id=%d endpoint=%s: %s", rollout.id, rollout.endpoint, message)
    return get_rollout(store, rollout.id)


def _alert(store: Store, settings: Settings, rollout: Rollout, now: int, actor: str) -> None:
    """Fire a critical alert on the endpoint's monitor (rule `<monitor>-rollout-rollback`,
    made on first need), sent through the configured alert channels."""
    watching = list_monitors(store, endpoint=rollout.endpoint)
    if not watching:
        log.warning(
            "rollout %d: endpoint %s has no monitor to alert on", rollout.id, rollout.endpoint
        )
        return
    name = f"{watching[0].name}{ROLLBACK_RULE_SUFFIX}"
    try:
        get_rule(store, name)
    except NotFound:
        rule = {
            "name": name,
            "monitor": watching[0].name,
            "metric": ROLLBACK_METRIC,
            "comparator": "gt",
            "threshold": 0.5,
            "min_samples": 0,
            "severity": "critical",
        }
        with contextlib.suppress(Conflict):  # made meanwhile by another control plane
            create_rule(store, rule, actor=actor)
    fire_alert(
        store,
        name,
        key=f"rollout={rollout.id}",
        value=1.0,
        window_start_ms=_ms(rollout.stage_started_at),
        window_end_ms=now,
        notifiers=notifiers_from_settings(settings),
    )


def _update(
    store: Store,
    rollout: Rollout,
    now: int,
    *,
    last_evaluation: dict[str, Any],
    event: tuple[str, str] | None = None,
    action: str | None = None,
    actor: str = "",
    **changes: Any,  # column values
) -> bool:
    """Write the rollout's new state if nobody moved it since it was read; whether it did.

    Callers claim a change here before they move traffic, so a rollout advanced by the
    scheduler and aborted by hand at the same moment ends in one state, not a mix."""
    values = {"last_evaluation": last_evaluation, "updated_at_ms": now, **changes}
    with store.db.write() as conn:
        updated = conn.execute(
            sa.update(rollouts)
            .where(
                rollouts.c.id == rollout.id,
                rollouts.c.status == "running",
                rollouts.c.stage_index == rollout.stage_index,
            )
            .values(values)
        ).rowcount
        if not updated or event is None or action is None:
            return bool(updated)
        _event(conn, rollout.id, now, event[0], event[1], last_evaluation)
        before = {"status": rollout.status, "stage": rollout.stage_percent}
        after = {
            "status": changes.get("status", rollout.status),
            "stage": rollout.stages[changes.get("stage_index", rollout.stage_index)],
            "evaluation": last_evaluation,
        }
        _audit(conn, now, actor, action, rollout.id, before=before, after=after)
    return True


def _event(
    conn: Connection, rollout_id: int, now: int, kind: str, message: str, details: Any
) -> None:
    conn.execute(
        sa.insert(rollout_events).values(
            rollout_id=rollout_id, at_ms=now, kind=kind, message=message, details=details
        )
    )


def _audit(
    conn: Connection,
    now: int,
    actor: str,
    action: str,
    rollout_id: int,
    *,
    before: Any = None,  # JSON documents
    after: Any = None,
) -> None:
    audit.record(
        conn,
        at_ms=now,
        actor=actor,
        action=action,
        target_type="rollout",
        target_id=str(rollout_id),
        before=before,
        after=after,
    )


# Checking and converting ---------------------------------------------------------------


def _traffic(version: int, percent: int) -> dict[str, float]:
    if percent >= 100:
        return {str(version): 100}
    if percent == SHADOW:
        return {CHAMPION: 100}
    return {CHAMPION: 100 - percent, str(version): percent}


def _route(
    store: Store, endpoint: registry.Endpoint, version: int, percent: int, actor: str
) -> None:
    """Give the challenger `percent` of the traffic; at the shadow stage, a shadow copy."""
    target = str(version)
    shadow = [s for s in endpoint.shadow if s != target]
    if percent == SHADOW:
        shadow.append(target)
    if list(endpoint.shadow) != shadow:
        update_endpoint(store, endpoint.name, actor=actor, shadow=shadow)
    registry.set_traffic(store, endpoint.name, _traffic(version, percent), actor=actor)


def _reconcile(store: Store, rollout: Rollout, actor: str) -> None:
    """Give the endpoint the traffic of the rollout's recorded stage, in case a control plane
    died between recording a stage and routing it."""
    endpoint = registry.get_endpoint(store, rollout.endpoint)
    wanted = {
        k: float(v) for k, v in _traffic(rollout.challenger_version, rollout.stage_percent).items()
    }
    current = {t.target: float(t.weight) for t in endpoint.traffic}
    shadowed = str(rollout.challenger_version) in endpoint.shadow
    if current != wanted or shadowed != (rollout.stage_percent == SHADOW):
        log.warning(
            "rollout %d: traffic did not match stage %s; fixed", rollout.id, rollout.stage_name
        )
        _route(store, endpoint, rollout.challenger_version, rollout.stage_percent, actor)


def _restore(store: Store, rollout: Rollout, actor: str) -> None:
    """All traffic back to the champion, and no shadow copy of the challenger."""
    endpoint = registry.get_endpoint(store, rollout.endpoint)
    shadow = [s for s in endpoint.shadow if s != str(rollout.challenger_version)]
    if list(endpoint.shadow) != shadow:
        update_endpoint(store, endpoint.name, actor=actor, shadow=shadow)
    registry.set_traffic(store, rollout.endpoint, {CHAMPION: 100}, actor=actor)


def check_stages(stages: Sequence[int]) -> tuple[int, ...]:
    """Raises: InvalidInput unless increasing whole percentages in 0-100 ending at 100."""
    values = tuple(stages)
    valid = (
        bool(values)
        and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 100 for s in values)
        and all(a < b for a, b in itertools.pairwise(values))
        and values[-1] == 100
    )
    if not valid:
        raise InvalidInput(
            f"stages {list(values)!r} are not increasing whole percentages in 0-100 ending "
            "at 100 (0 first: a shadow stage), e.g. 10,50,100 or 0,10,50,100",
            field="stages",
        )
    return values


def _rollout(row: sa.RowMapping) -> Rollout:
    return Rollout(
        id=int(row["id"]),
        endpoint=row["endpoint"],
        model_name=row["model_name"],
        challenger_version=row["challenger_version"],
        champion_target=row["champion_target"],
        stages=tuple(row["stages"]),
        gates=dict(row["gates"]),
        min_samples=row["min_samples"],
        min_duration_s=row["min_duration_ms"] / 1000,
        stage_index=row["stage_index"],
        stage_started_at=_at(row["stage_started_at_ms"]),
        status=row["status"],
        last_evaluation=row["last_evaluation"],
        created_by=row["created_by"],
        created_at=_at(row["created_at_ms"]),
        updated_at=_at(row["updated_at_ms"]),
        evaluation=row["evaluation"],
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)
