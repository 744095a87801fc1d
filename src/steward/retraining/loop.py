"""The closed loop: the control plane retrains a model when its triggers say so, compares the
challenger with the champion, asks the promotion policy, and rolls the challenger out.

A loop is a stored `TriggerConfig` (`enable_loop`). Each scheduler tick (`tick_loops`)
judges every enabled loop once:

1. each new window of a drift or performance monitor (never the same window twice, even with
   two control planes ticking: claiming a window is a compare-and-set on the loop's row),
   then a due schedule, through `should_retrain` (guard rails, seasonality check, audit);
2. on a retrain: the pipeline registers a challenger; the champion and the challenger are
   scored on one fresh holdout (the endpoint's recent labelled predictions, or a file);
3. the environment's policy is evaluated with those numbers (`registry.promote`, dry run);
4. accepted: a progressive rollout starts (its last stage promotes through the policy
   again), or, without a rollout section, the promotion happens at once. Refused: the
   challenger stays registered and unpromoted.

Every step is an audit event with target type `retraining` and the model as target id:
`retrain.triggered` (or `retrain.skipped_seasonal`, `retrain.suppressed`), then
`retrain.challenger` with the comparison, the policy's verdict and the rollout started.
The control plane turns loops in a thread of their own, so a long pipeline delays only the
next loop turns, never the monitors or a rollout's rollback.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from steward import audit, registry
from steward.config import Settings
from steward.errors import Conflict, InvalidInput, NotFound, StewardError
from steward.monitoring.series import monitor_key
from steward.monitoring.windows import parse_duration
from steward.pipelines import Executor, load_pipeline, make_executor
from steward.registry import PromotionDecision
from steward.retraining.challenger import Comparison, train_challenger
from steward.retraining.gates import check_gates
from steward.retraining.holdout import HOLDOUT_LABEL, holdout_frame
from steward.retraining.rollout import (
    Rollout,
    check_stages,
    list_rollouts,
    start_rollout,
)
from steward.retraining.triggers import (
    TARGET_TYPE,
    TRIGGERED,
    Decision,
    TriggerConfig,
    parse_trigger_config,
    should_retrain,
    trigger_history,
)
from steward.store import Store
from steward.store.tables import monitor_results, retrain_loops

__all__ = [
    "Loop",
    "LoopOutcome",
    "disable_loop",
    "enable_loop",
    "get_loop",
    "list_loops",
    "run_loop",
    "tick_loops",
]

log = logging.getLogger(__name__)

CHALLENGER = "retrain.challenger"
APPROVED = "retrain.approved"


@dataclass(frozen=True, slots=True)
class Loop:
    """A model's stored retraining loop.

    Attributes:
        judged: the newest window start already judged, per `kind:monitor`.
        pending: a challenger the policy accepts but for missing approvals
            (`{"version": 3, "evaluation": {...}}`), released once they are given.
    """

    model: str
    config: TriggerConfig
    enabled: bool
    judged: dict[str, int]
    created_by: str
    updated_at_ms: int
    pending: dict[str, Any] | None = None  # Any: JSON values

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values
        return {
            "model": self.model,
            "config": self.config.model_dump(mode="json"),
            "enabled": self.enabled,
            "judged": self.judged,
            "pending": self.pending,
            "created_by": self.created_by,
            "updated_at_ms": self.updated_at_ms,
        }


@dataclass(frozen=True, slots=True)
class LoopOutcome:
    """One turn of a loop: the decision and, when it retrained, what followed."""

    decision: Decision
    version: int | None = None
    comparison: Comparison | None = None
    accepted: bool | None = None
    failures: list[str] = field(default_factory=list)
    rollout: Rollout | None = None
    promoted: bool = False
    awaiting_approval: bool = False

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values
        return {
            "decision": self.decision.to_dict(),
            "version": self.version,
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "accepted": self.accepted,
            "failures": self.failures,
            "rollout_id": None if self.rollout is None else self.rollout.id,
            "promoted": self.promoted,
            "awaiting_approval": self.awaiting_approval,
        }


def enable_loop(store: Store, config: TriggerConfig | dict[str, Any], *, actor: str) -> Loop:
    """Store `config` as its model's loop and turn it on (audit `retrain.loop_enabled`).

    Raises:
        InvalidInput: a bad config, no `evaluation` section, or no trigger the control plane
            can fire (drift, performance or schedule).
        NotFound: the pipeline cannot be imported, or a monitor or endpoint does not exist.
    """
    checked = parse_trigger_config(config)
    if checked.evaluation is None:
        raise InvalidInput(
            f"the loop of {checked.model!r} needs an `evaluation` section: the holdout the "
            "challenger and the champion are scored on",
            field="evaluation",
        )
    if not any(checked.enabled(kind) for kind in ("drift", "performance", "schedule")):
        raise InvalidInput(
            f"the loop of {checked.model!r} has no drift, performance or schedule trigger; "
            "the control plane would never retrain it",
            field="config",
        )
    load_pipeline(checked.pipeline)
    if checked.rollout is not None:
        endpoint = registry.get_endpoint(store, checked.rollout.endpoint)
        if endpoint.model_name != checked.model:
            raise InvalidInput(
                f"rollout endpoint {endpoint.name!r} serves model {endpoint.model_name!r}, not "
                f"{checked.model!r}; name an endpoint of {checked.model!r}",
                field="rollout.endpoint",
            )
        check_stages(checked.rollout.stages)
        check_gates(checked.rollout.gates)
    document = checked.model_dump(mode="json")
    judged = _starting_points(store, checked)
    now = store.clock()
    with store.db.write() as conn:
        before = conn.execute(
            sa.select(retrain_loops).where(retrain_loops.c.model_name == checked.model)
        ).first()
        values = {
            "document": document,
            "enabled": True,
            "created_by": actor,
            "judged": judged,
            "pending": None,
        }
        if before is None:
            conn.execute(
                sa.insert(retrain_loops).values(
                    model_name=checked.model, updated_at_ms=now, **values
                )
            )
        else:
            conn.execute(
                sa.update(retrain_loops)
                .where(retrain_loops.c.model_name == checked.model)
                .values(updated_at_ms=max(now, before.updated_at_ms + 1), **values)
            )
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="retrain.loop_enabled",
            target_type=TARGET_TYPE,
            target_id=checked.model,
            before=None if before is None else before.document,
            after=document,
        )
    return get_loop(store, checked.model)


def disable_loop(store: Store, model: str, *, actor: str) -> Loop:
    """Turn a loop off (audit `retrain.loop_disabled`); its config stays stored.

    Raises:
        NotFound: the model has no loop.
    """
    found = get_loop(store, model)
    now = store.clock()
    with store.db.write() as conn:
        conn.execute(
            sa.update(retrain_loops)
            .where(retrain_loops.c.model_name == model)
            .values(enabled=False, updated_at_ms=max(now, found.updated_at_ms + 1))
        )
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="retrain.loop_disabled",
            target_type=TARGET_TYPE,
            target_id=model,
        )
    return get_loop(store, model)


def _starting_points(store: Store, config: TriggerConfig) -> dict[str, int]:
    """Judge from each monitor's newest window with results on: the state the loop is
    enabled in counts, older history does not."""
    points = {}
    for kind in ("drift", "performance"):
        trigger = config.drift if kind == "drift" else config.performance
        if trigger is None:
            continue
        with store.db.read() as conn:
            key = monitor_key(conn, trigger.monitor)  # NotFound lists the monitors
            newest = conn.execute(
                sa.select(sa.func.max(monitor_results.c.window_start_ms)).where(
                    monitor_results.c.monitor_id == key
                )
            ).scalar()
        if newest is not None:
            points[f"{kind}:{trigger.monitor}"] = int(newest) - 1
    return points


def get_loop(store: Store, model: str) -> Loop:
    """Raises: NotFound."""
    with store.db.read() as conn:
        row = conn.execute(
            sa.select(retrain_loops).where(retrain_loops.c.model_name == model)
        ).first()
    if row is None:
        raise NotFound(
            f"model {model!r} has no retraining loop (enable one: steward retrain enable "
            "--config FILE)",
            field="model",
        )
    return _loop(row._mapping)


def list_loops(store: Store, *, enabled: bool | None = None) -> list[Loop]:
    query = sa.select(retrain_loops).order_by(retrain_loops.c.model_name)
    if enabled is not None:
        query = query.where(retrain_loops.c.enabled == enabled)
    with store.db.read() as conn:
        return [_loop(row._mapping) for row in conn.execute(query)]


def tick_loops(
    store: Store,
    settings: Settings,
    *,
    now_ms: int | None = None,
    executor: Executor | None = None,
) -> list[LoopOutcome]:
    """Judge every enabled loop once; one loop's failure is logged and skipped."""
    outcomes = []
    for loop in list_loops(store, enabled=True):
        try:
            outcome = _turn(store, settings, loop, now_ms, executor)
        except Exception:  # any failure of one loop: keep turning the others
            log.exception("retraining loop failed model=%s", loop.model)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def run_loop(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    *,
    reason: str,
    monitor: str | None = None,
    window_start_ms: int | None = None,
    now_ms: int | None = None,
    executor: Executor | None = None,
    since_ms: int | None = None,
) -> LoopOutcome:
    """Decide, retrain, compare, ask the policy, then roll out or promote: one whole turn.

    `since_ms`: what a schedule counts from before the first retrain (see `should_retrain`).

    Raises:
        InvalidInput: no `evaluation` section, a bad holdout, or a bad reason.
        NotFound: the pipeline, a monitor, window or endpoint does not exist.
        StepFailed: a pipeline step failed.
    """
    if config.evaluation is None:
        raise InvalidInput(
            f"the config of {config.model!r} has no `evaluation` section", field="evaluation"
        )
    decision = should_retrain(
        store,
        settings,
        config,
        reason=reason,
        monitor=monitor,
        window_start_ms=window_start_ms,
        now_ms=now_ms,
        since_ms=since_ms,
    )
    if not decision.retrain:
        return LoopOutcome(decision)
    now = store.clock() if now_ms is None else now_ms
    evaluation = config.evaluation
    since = decision.window_start_ms if evaluation.from_trigger_window else None
    holdout = holdout_frame(
        settings, evaluation, default_endpoint=_endpoint(config), now_ms=now, since_ms=since
    )
    label = evaluation.label if evaluation.path else HOLDOUT_LABEL
    owned = executor is None
    active: Executor = (
        make_executor(config.executor, address=config.executor_address)
        if executor is None
        else executor
    )
    try:
        _, comparison = train_challenger(
            store, settings, config, holdout, label, metrics=evaluation.metrics, executor=active
        )
    finally:
        if owned:
            active.close()
    return _hand_over(store, settings, config, decision, comparison)


# One turn ------------------------------------------------------------------------------


def _turn(
    store: Store,
    settings: Settings,
    loop: Loop,
    now_ms: int | None,
    executor: Executor | None,
) -> LoopOutcome | None:
    config = loop.config
    # While a challenger rolls out or waits for approvals, new windows are claimed, not
    # acted on: the rollout's gates (or the approvers) have that challenger in hand.
    rolling = loop.pending is not None or (
        config.rollout is not None
        and bool(list_rollouts(store, endpoint=config.rollout.endpoint, status="running"))
    )
    for kind in ("drift", "performance"):
        trigger = config.drift if kind == "drift" else config.performance
        if trigger is None:
            continue
        key = f"{kind}:{trigger.monitor}"
        for start in _unjudged(store, trigger.monitor, loop.judged.get(key, -1)):
            claimed = _claim(store, loop, key, start)
            if claimed is None:
                return None  # another control plane is judging this loop
            loop = claimed
            if rolling:
                continue  # the running rollout's gates watch this challenger, not the loop
            outcome = _judge(
                store, settings, config, kind, trigger.monitor, start, now_ms, executor
            )
            if outcome is not None and outcome.decision.audit_seq is not None:
                return outcome  # one recorded decision per loop and tick
    if loop.pending is not None:
        return _follow_up(store, settings, loop)
    if config.schedule is not None and not rolling:
        now = store.clock() if now_ms is None else now_ms
        enabled_at, last = _schedule_marks(store, config.model)
        if config.schedule.due_after(last) > now:
            return None  # not due: nothing to record
        return _judge(
            store, settings, config, "schedule", None, None, now_ms, executor, since_ms=enabled_at
        )
    return None


def _unjudged(store: Store, monitor: str, after_ms: int) -> list[int]:
    """Starts of the monitor's windows with stored results after `after_ms`, oldest first."""
    table = monitor_results
    with store.db.read() as conn:
        try:
            key = monitor_key(conn, monitor)
        except NotFound:
            return []
        query = (
            sa.select(table.c.window_start_ms)
            .distinct()
            .where(table.c.monitor_id == key, table.c.window_start_ms > after_ms)
            .order_by(table.c.window_start_ms)
            .limit(200)
        )
        return [int(start) for start in conn.execute(query).scalars()]


def _judge(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    kind: str,
    monitor: str | None,
    window_start_ms: int | None,
    now_ms: int | None,
    executor: Executor | None,
    *,
    since_ms: int | None = None,
) -> LoopOutcome | None:
    try:
        return run_loop(
            store,
            settings,
            config,
            reason=kind,
            monitor=monitor,
            window_start_ms=window_start_ms,
            now_ms=now_ms,
            executor=executor,
            since_ms=since_ms,
        )
    except StewardError as exc:
        _record(
            store, settings, config.model, "retrain.failed", {"reason": kind, "error": str(exc)}
        )
        log.warning("retraining loop model=%s failed: %s", config.model, exc)
        return None


def _hand_over(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    decision: Decision,
    comparison: Comparison,
) -> LoopOutcome:
    """Ask the policy about the challenger, then roll it out or promote it; when only
    approvals are missing, keep it pending until they are given."""
    version = comparison.challenger_version
    evaluation = comparison.as_evaluation()
    try:
        verdict = _promote(store, settings, config, version, evaluation, dry_run=True)
    except Conflict as exc:  # the pipeline's cache gave back the version already promoted
        outcome = LoopOutcome(decision, version, comparison, accepted=False, failures=[exc.message])
        _record(store, settings, config.model, CHALLENGER, outcome.to_dict())
        return outcome
    failures = list(verdict.failures)
    outcome = LoopOutcome(decision, version, comparison, accepted=verdict.passed, failures=failures)
    details: dict[str, Any] = {"checks": [check.to_dict() for check in verdict.checks]}
    if verdict.passed:
        outcome = _release(store, settings, config, outcome, evaluation, details)
    elif _awaits_approval(verdict):
        _set_pending(store, config.model, {"version": version, "evaluation": evaluation})
        outcome = dataclasses.replace(outcome, awaiting_approval=True)
    _record(store, settings, config.model, CHALLENGER, outcome.to_dict() | details)
    log.info(
        "challenger handled model=%s version=%d accepted=%s", config.model, version, verdict.passed
    )
    return outcome


def _follow_up(store: Store, settings: Settings, loop: Loop) -> LoopOutcome | None:
    """Release the pending challenger once its approvals are in, drop it once a check fails
    (the policy changed); None while it still waits."""
    config, pending = loop.config, loop.pending or {}
    version, evaluation = int(pending["version"]), pending["evaluation"]
    decision = Decision(
        retrain=False, reason=f"approvals of v{version}", trigger="approval", model=config.model
    )
    verdict: PromotionDecision | None = None
    try:
        verdict = _promote(store, settings, config, version, evaluation, dry_run=True)
    except (Conflict, NotFound) as exc:  # promoted by hand meanwhile, or deleted
        failures = [exc.message]
    else:
        if not verdict.passed and _awaits_approval(verdict):
            return None
        failures = list(verdict.failures)
    if not _take_pending(store, loop):
        return None  # another control plane released it
    outcome = LoopOutcome(decision, version, accepted=bool(verdict and verdict.passed))
    outcome = dataclasses.replace(outcome, failures=failures)
    details: dict[str, Any] = {}
    if verdict is not None and verdict.passed:
        outcome = _release(store, settings, config, outcome, evaluation, details)
    _record(
        store,
        settings,
        config.model,
        APPROVED if outcome.accepted else CHALLENGER,
        outcome.to_dict() | details,
    )
    return outcome


def _release(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    outcome: LoopOutcome,
    evaluation: dict[str, Any],
    details: dict[str, Any],
) -> LoopOutcome:
    """Start the configured rollout of an accepted challenger, or promote it at once (also
    when the model has no champion yet: there is nothing to roll out against)."""
    version = outcome.version
    if version is None:  # pragma: no cover - an accepted challenger has a version
        return outcome
    if config.rollout is not None and _has_champion(store, config.model):
        rollout_config = config.rollout
        try:
            rollout = start_rollout(
                store,
                rollout_config.endpoint,
                version,
                stages=rollout_config.stages,
                min_samples=rollout_config.min_samples,
                min_duration_s=parse_duration(rollout_config.min_duration) / 1000,
                gates=rollout_config.gates,
                evaluation=evaluation,
                actor=settings.actor,
            )
        except Conflict as exc:
            details["rollout_error"] = exc.message
            return outcome
        return dataclasses.replace(outcome, rollout=rollout)
    _promote(store, settings, config, version, evaluation)
    return dataclasses.replace(outcome, promoted=True)


def _has_champion(store: Store, model: str) -> bool:
    try:
        registry.get_alias(store, model, "champion")
    except NotFound:
        return False
    return True


def _promote(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    version: int,
    evaluation: dict[str, Any],
    *,
    dry_run: bool = False,
) -> PromotionDecision:
    """`registry.promote` to the loop's environment, with the control plane's approvers."""
    return registry.promote(
        store,
        config.model,
        version,
        to=config.environment,
        actor=settings.actor,
        evaluation=evaluation,
        dry_run=dry_run,
        approvers=settings.approvers,
        environments=settings.environments,
    )


def _awaits_approval(verdict: PromotionDecision) -> bool:
    """Every check passes; only approvals are missing."""
    return all(check.passed for check in verdict.checks) and not verdict.approvals.is_met


def _set_pending(store: Store, model: str, pending: dict[str, Any] | None) -> None:
    with store.db.write() as conn:
        conn.execute(
            sa.update(retrain_loops)
            .where(retrain_loops.c.model_name == model)
            .values(pending=pending)
        )


def _take_pending(store: Store, loop: Loop) -> bool:
    """Clear the pending challenger unless another control plane moved the loop first."""
    return _compare_and_set(store, loop, pending=None) is not None


def _claim(store: Store, loop: Loop, key: str, window_start_ms: int) -> Loop | None:
    """Mark the window judged, unless another control plane changed the loop since it was
    read; the loop as now stored, or None when the claim was lost."""
    judged = loop.judged | {key: window_start_ms}
    stamp = _compare_and_set(store, loop, judged=judged)
    return None if stamp is None else dataclasses.replace(loop, judged=judged, updated_at_ms=stamp)


def _compare_and_set(store: Store, loop: Loop, **values: Any) -> int | None:  # Any: columns
    """Write `values` if the loop's row is as `loop` read it (its `updated_at_ms`, bumped by
    every such write); the new stamp, or None when another writer came first."""
    stamp = loop.updated_at_ms + 1
    with store.db.write() as conn:
        updated = conn.execute(
            sa.update(retrain_loops)
            .where(
                retrain_loops.c.model_name == loop.model,
                retrain_loops.c.updated_at_ms == loop.updated_at_ms,
            )
            .values(updated_at_ms=stamp, **values)
        ).rowcount
    return stamp if updated else None


def _schedule_marks(store: Store, model: str) -> tuple[int, int]:
    """When the loop was last enabled, and when its schedule counts from: the later of the
    last retrain and that enabling."""
    enabled_at, retrained_at = 0, None
    for event in trigger_history(store, model):
        if event.action == "retrain.loop_enabled":
            enabled_at = event.at_ms
        elif event.action == TRIGGERED:
            retrained_at = event.at_ms
    return enabled_at, max(enabled_at, retrained_at or 0)


def _record(
    store: Store, settings: Settings, model: str, action: str, details: dict[str, Any]
) -> None:
    with store.db.write() as conn:
        audit.record(
            conn,
            at_ms=store.clock(),
            actor=settings.actor,
            action=action,
            target_type=TARGET_TYPE,
            target_id=model,
            after=details,
        )


def _endpoint(config: TriggerConfig) -> str | None:
    if config.evaluation is not None and config.evaluation.endpoint:
        return config.evaluation.endpoint
    return None if config.rollout is None else config.rollout.endpoint


def _loop(row: sa.RowMapping) -> Loop:
    return Loop(
        model=row["model_name"],
        config=parse_trigger_config(row["document"]),
        enabled=bool(row["enabled"]),
        judged={str(k): int(v) for k, v in dict(row["judged"]).items()},
        created_by=row["created_by"],
        updated_at_ms=int(row["updated_at_ms"]),
        pending=row["pending"],
    )
