"""Promotion by policy: stored policies per model and environment, and `promote`.

`promote` evaluates every check of the policy in force, counts approvals, and when all pass
moves the environment's alias, records a deployment and writes `model.promote`, in one write
transaction. The alias is moved by compare-and-set: if it no longer points where it did when
the checks ran (a concurrent promotion won), the promotion is refused with a Conflict.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from steward import audit, tracking
from steward.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from steward.registry import db, policies_db
from steward.registry.deployments import DEFAULT_ENVIRONMENTS
from steward.registry.entities import Deployment, ModelVersion
from steward.registry.missing import model_not_found, version_not_found
from steward.registry.policy_checks import Evidence, run_check
from steward.registry.policy_document import PolicyDocument, default_alias, parse_policy
from steward.registry.policy_entities import ApprovalTally, Policy, PromotionDecision
from steward.registry.validation import check_actor, check_alias, check_environment, check_version
from steward.store import Store

__all__ = ["get_policy", "promote", "set_policy"]

log = logging.getLogger(__name__)

Evaluation = Mapping[str, Mapping[str, float]]


def set_policy(
    store: Store,
    name: str,
    environment: str,
    document: str | dict[str, Any],  # Any: a parsed YAML/JSON document
    actor: str,
    *,
    environments: Sequence[str] = DEFAULT_ENVIRONMENTS,
) -> Policy:
    """Store the next version of the promotion policy of `name` in `environment` (audited).

    Args:
        document: YAML or JSON text, or the parsed mapping (see docs/promotion.md).

    Raises:
        InvalidInput: a bad environment, actor or policy (naming the field).
        NotFound: no such model.
    """
    check_environment(environment, environments)
    check_actor(actor)
    parsed = parse_policy(document)
    if parsed.alias is not None:
        check_alias(parsed.alias)
    stored = parsed.to_dict()
    with store.db.write() as conn:
        if not db.lock_model(conn, name):  # queues concurrent changes for dense versions
            raise model_not_found(conn, name)
        before = policies_db.select_policy(conn, name, environment)
        now = store.clock()
        version = policies_db.insert_policy(
            conn, name, environment, stored, actor=actor, now_ms=now
        )
        audit.record(
            conn,
            at_ms=now,
            actor=actor,
            action="model.policy_set",
            target_type="model_policy",
            target_id=f"{name}:{environment}",
            before=None if before is None else {"version": before.version, **before.document},
            after={"version": version, **stored},
        )
        policy = policies_db.select_policy(conn, name, environment, version)
    log.info("policy set model=%s environment=%s version=%d", name, environment, version)
    if policy is None:  # pragma: no cover - just written in this transaction
        raise NotFound(f"policy of {name} in {environment} vanished")
    return policy


def get_policy(store: Store, name: str, environment: str, version: int | None = None) -> Policy:
    """The policy in force for (model, environment), or one of its earlier versions.

    Raises:
        NotFound: no such model, or no policy (version) for that environment.
    """
    with store.db.read() as conn:
        if not db.model_exists(conn, name):
            raise model_not_found(conn, name)
        policy = policies_db.select_policy(conn, name, environment, version)
    if policy is None:
        which = "" if version is None else f" version {version}"
        raise NotFound(
            f"model {name!r} has no policy{which} for environment {environment!r} "
            f"(set one: steward models policy set {name} --env {environment} --file POLICY.yaml)",
            field="environment",
        )
    return policy


def promote(
    store: Store,
    name: str,
    version: int,
    *,
    to: str,
    actor: str,
    evaluation: Evaluation | None = None,
    dry_run: bool = False,
    approvers: Collection[str] = (),
    environments: Sequence[str] = DEFAULT_ENVIRONMENTS,
) -> PromotionDecision:
    """Promote `version` to environment `to` if its policy allows it.

    Args:
        evaluation: metrics measured on the same evaluation data, overriding the runs'
            logged metrics: `{"challenger": {"roc_auc": 0.91}, "champion": {"roc_auc": 0.9}}`.
        dry_run: evaluate and return the decision; change nothing, write no audit event.
        approvers: the identities holding the approver role; only their approvals count.

    Raises:
        InvalidInput: a bad version, environment, actor or evaluation.
        NotFound: no such model or version.
        PolicyViolation: a check failed or approvals are missing; the message lists every
            failure with its numbers, `details` each failed check (audited as
            `model.promote_refused`).
        Conflict: the version already holds the environment's alias, or a concurrent
            promotion moved the alias after the checks ran.
    """
    check_version(version)
    check_environment(to, environments)
    check_actor(actor)
    decision = _decide(store, name, version, to, actor, _evaluation(evaluation), approvers)
    if dry_run:
        return decision
    if not decision.passed:
        _refuse(store, decision)
    return _apply(store, decision)


def _decide(
    store: Store,
    name: str,
    version: int,
    environment: str,
    actor: str,
    evaluation: Evaluation,
    approvers: Collection[str],
) -> PromotionDecision:
    with store.db.read() as conn:
        challenger = _existing_version(conn, name, version)
        stored = policies_db.select_policy(conn, name, environment)
        policy = PolicyDocument() if stored is None else parse_policy(stored.document)
        alias = policy.alias or default_alias(environment)
        current = db.select_alias(conn, name, alias)
        champion = None if current is None else db.select_version(conn, name, current)
        approved = policies_db.select_approvals(
            conn, name=name, version=version, environment=environment
        )
    if current == version:
        raise Conflict(
            f"{name} v{version} already holds alias {alias!r} in {environment}; nothing to promote",
            field="version",
        )
    evidence = Evidence(
        challenger,
        champion,
        _metrics(store, challenger, evaluation.get("challenger")),
        _metrics(store, champion, evaluation.get("champion")),
    )
    checks = tuple(run_check(check, config, evidence) for check, config in policy.checks)
    tally = ApprovalTally(
        required=policy.approvals.count,
        role=policy.approvals.role,
        approved_by=tuple(a.approver for a in approved if a.approver in approvers),
    )
    return PromotionDecision(
        model_name=name,
        version=version,
        environment=environment,
        alias=alias,
        champion_version=current,
        policy_version=None if stored is None else stored.version,
        checks=checks,
        approvals=tally,
        passed=all(c.passed for c in checks) and tally.is_met,
        promoted=False,
        decided_by=actor,
        decided_at=datetime.fromtimestamp(store.clock() / 1000, tz=UTC),
    )


def _refuse(store: Store, decision: PromotionDecision) -> None:
    name, version, environment = decision.model_name, decision.version, decision.environment
    with store.db.write() as conn:
        audit.record(
            conn,
            at_ms=store.clock(),
            actor=decision.decided_by,
            action="model.promote_refused",
            target_type="model_version",
            target_id=f"{name}/{version}",
            after=decision.to_dict(),
        )
    log.info("promotion refused model=%s version=%d env=%s", name, version, environment)
    raise PolicyViolation(
        f"{name} v{version} cannot go to {environment}: " + "; ".join(decision.failures),
        field="version",
        details=[c.to_dict() for c in decision.checks if not c.passed]
        + ([] if decision.approvals.is_met else [decision.approvals.to_dict()]),
    )


def _apply(store: Store, decision: PromotionDecision) -> PromotionDecision:
    """Move the alias by compare-and-set, record the deployment and the audit events."""
    name, version, alias = decision.model_name, decision.version, decision.alias
    with store.db.write() as conn:
        if not db.lock_model(conn, name):  # serialises promotions of one model
            raise model_not_found(conn, name)
        current = db.select_alias(conn, name, alias)
        if current != decision.champion_version:
            raise Conflict(
                f"{name}@{alias} moved from version {decision.champion_version} to {current} "
                f"while {name} v{version} was being checked (a concurrent promotion); "
                "run the promotion again to check against the new champion",
                field="version",
            )
        now = store.clock()
        db.upsert_alias(conn, name, alias, version, now)
        db.touch_model(conn, name, now)
        deployment = Deployment(
            name, version, decision.environment, decision.decided_by, _at(now), "promoted"
        )
        db.insert_deployment(conn, deployment)
        promoted = dataclasses.replace(decision, promoted=True)
        _audit_promotion(conn, promoted, now)
    log.info(
        "model promoted model=%s version=%d env=%s alias=%s from=%s",
        name,
        version,
        decision.environment,
        alias,
        decision.champion_version,
    )
    return promoted


def _audit_promotion(conn: Connection, decision: PromotionDecision, now: int) -> None:
    name, actor = decision.model_name, decision.decided_by
    before = None if decision.champion_version is None else {"version": decision.champion_version}
    after = {"version": decision.version}
    audit.record(
        conn,
        at_ms=now,
        actor=actor,
        action="model_alias.set",
        target_type="model_alias",
        target_id=f"{name}@{decision.alias}",
        before=before,
        after=after,
    )
    audit.record(
        conn,
        at_ms=now,
        actor=actor,
        action="deployment.record",
        target_type="deployment",
        target_id=f"{name}:{decision.environment}",
        before=before,
        after={**after, "note": "promoted"},
    )
    audit.record(
        conn,
        at_ms=now,
        actor=actor,
        action="model.promote",
        target_type="model_version",
        target_id=f"{name}/{decision.version}",
        before=before,
        after=decision.to_dict(),
    )


def _existing_version(conn: Connection, name: str, version: int) -> ModelVersion:
    if not db.model_exists(conn, name):
        raise model_not_found(conn, name)
    record = db.select_version(conn, name, version)
    if record is None:
        raise version_not_found(conn, name, version)
    return record


def _metrics(
    store: Store, version: ModelVersion | None, override: Mapping[str, float] | None
) -> dict[str, float]:
    """The version's run metrics (latest value per key), with `override` on top."""
    found: dict[str, float] = {}
    if version is not None and version.run_id is not None:
        found.update(tracking.get_run(store, version.run_id).metrics)
    found.update(override or {})
    return found


def _evaluation(evaluation: Evaluation | None) -> Evaluation:
    if evaluation is None:
        return {}
    if not isinstance(evaluation, Mapping) or set(evaluation) - {"challenger", "champion"}:
        raise InvalidInput(
            f"evaluation must map 'challenger' and/or 'champion' to metrics, got {evaluation!r}",
            field="evaluation",
        )
    for side, metrics in evaluation.items():
        if not isinstance(metrics, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
            for k, v in metrics.items()
        ):
            raise InvalidInput(
                f"evaluation.{side} must map metric names to numbers, got {metrics!r}",
                field=f"evaluation.{side}",
            )
    return {side: {k: float(v) for k, v in m.items()} for side, m in evaluation.items()}


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
