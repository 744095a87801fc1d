"""What promotion reads and returns: stored policies, check results, approvals, decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Approval", "ApprovalTally", "CheckResult", "Policy", "PromotionDecision"]


@dataclass(frozen=True, slots=True)
class Policy:
    """One version of the promotion policy of a model in an environment.

    Attributes:
        document: the policy as stored (JSON): `alias`, `checks`, `approvals`.
        version: 1 for the first policy of (model, environment), plus one per change.
    """

    model_name: str
    environment: str
    version: int
    document: dict[str, Any]  # JSON: the policy as written
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One policy check with its numbers.

    Attributes:
        check: the check's name, e.g. `metric_vs_champion`.
        challenger, champion: the values compared (None when a side has none).
        threshold: the bound the check applies (None when it has no number).
        message: one sentence a person reads, with the numbers.
    """

    check: str
    passed: bool
    challenger: float | None
    champion: float | None
    threshold: float | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)  # JSON extras (per-column drift...)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "passed": self.passed,
            "challenger": self.challenger,
            "champion": self.champion,
            "threshold": self.threshold,
            "message": self.message,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class ApprovalTally:
    """Approvals a promotion needs and the approvers who gave one (others do not count)."""

    required: int
    role: str
    approved_by: tuple[str, ...]

    @property
    def is_met(self) -> bool:
        return len(self.approved_by) >= self.required

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "role": self.role,
            "approved_by": list(self.approved_by),
            "is_met": self.is_met,
        }


@dataclass(frozen=True, slots=True)
class Approval:
    """A person's approval of a model version for an environment."""

    model_name: str
    version: int
    environment: str
    approver: str
    comment: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PromotionDecision:
    """The outcome of evaluating a promotion of `version` to `environment`.

    Attributes:
        alias: the alias the environment moves (`champion` for production by default).
        champion_version: the version the alias pointed at when the checks ran (None: none).
        policy_version: the policy in force (None: the environment has no policy).
        passed: every check passed and the approvals are met.
        promoted: the alias moved and a deployment was recorded (False for a dry run).
    """

    model_name: str
    version: int
    environment: str
    alias: str
    champion_version: int | None
    policy_version: int | None
    checks: tuple[CheckResult, ...]
    approvals: ApprovalTally
    passed: bool
    promoted: bool
    decided_by: str
    decided_at: datetime

    @property
    def failures(self) -> tuple[str, ...]:
        """Every reason the promotion is refused, one sentence each, with the numbers."""
        failed = [c.message for c in self.checks if not c.passed]
        if not self.approvals.is_met:
            missing = self.approvals.required - len(self.approvals.approved_by)
            failed.append(
                f"approvals: needs {self.approvals.required} by role {self.approvals.role}, "
                f"has {len(self.approvals.approved_by)} ({missing} more needed)"
            )
        return tuple(failed)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values: what the audit event records."""
        return {
            "model_name": self.model_name,
            "version": self.version,
            "environment": self.environment,
            "alias": self.alias,
            "champion_version": self.champion_version,
            "policy_version": self.policy_version,
            "checks": [c.to_dict() for c in self.checks],
            "approvals": self.approvals.to_dict(),
            "passed": self.passed,
            "promoted": self.promoted,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
        }
