"""The policy document: which checks a promotion must pass and how many approvals it needs.

A policy is a small stored config (YAML or JSON); its checks are computed in
`policy_checks.py`. Every field is validated here, so a stored policy always evaluates.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steward.errors import InvalidInput

__all__ = [
    "BINNED_TESTS",
    "CHECKS",
    "ApprovalRule",
    "ContractMatchesChampion",
    "FairnessGap",
    "MaxFeatureDrift",
    "MetricFloor",
    "MetricVsChampion",
    "PolicyDocument",
    "default_alias",
    "parse_policy",
]

# Drift tests that read both sides as histograms over the champion's bins (docs/promotion.md).
BINNED_TESTS = ("psi", "jensen_shannon", "hellinger", "l_infinity", "chi2")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricVsChampion(_Config):
    """challenger >= champion + min_delta (min_delta -0.005 tolerates a 0.005 drop)."""

    metric: str = Field(min_length=1)
    min_delta: float = 0.0


class MetricFloor(_Config):
    """challenger >= min."""

    metric: str = Field(min_length=1)
    min: float


class ContractMatchesChampion(_Config):
    """The same required columns with the same types as the champion."""


class MaxFeatureDrift(_Config):
    """Every feature's drift from the champion's training profile below `threshold`."""

    test: str = "psi"
    threshold: float = Field(default=0.2, gt=0)


class FairnessGap(_Config):
    """max - min of the segment metrics (`prefix` + segment) at most `max_gap`."""

    metric: str = Field(min_length=1)
    segment_metric_prefix: str = Field(min_length=1)
    max_gap: float = Field(ge=0)


class ApprovalRule(_Config):
    count: int = Field(default=0, ge=0, le=100)
    role: str = "approver"


CHECKS: dict[str, type[_Config]] = {
    "metric_vs_champion": MetricVsChampion,
    "metric_floor": MetricFloor,
    "contract_matches_champion": ContractMatchesChampion,
    "max_feature_drift": MaxFeatureDrift,
    "fairness_gap": FairnessGap,
}


class PolicyDocument(_Config):
    """A parsed policy: `checks` in order as (name, config) pairs."""

    alias: str | None = None
    checks: tuple[tuple[str, Any], ...] = ()  # Any: one of the CHECKS configs
    approvals: ApprovalRule = ApprovalRule()

    def to_dict(self) -> dict[str, Any]:
        """The normalised document that is stored: every default written out."""
        return {
            "alias": self.alias,
            "checks": [{name: config.model_dump()} for name, config in self.checks],
            "approvals": self.approvals.model_dump(),
        }


def default_alias(environment: str) -> str:
    """The alias an environment moves unless its policy names one: production -> champion."""
    return "champion" if environment == "production" else environment


def parse_policy(document: str | dict[str, Any]) -> PolicyDocument:
    """A policy from YAML/JSON text or a mapping.

    Raises:
        InvalidInput: not a mapping, an unknown key or check, or a bad field, naming its path
            (e.g. `checks[1].metric_floor.min`) and what is accepted.
    """
    data = _load(document)
    unknown = sorted(set(data) - {"alias", "checks", "approvals"})
    if unknown:
        raise InvalidInput(
            f"policy keys {unknown} are unknown; accepted: alias, checks, approvals",
            field="policy",
        )
    checks = data.get("checks") or []
    if not isinstance(checks, list):
        raise InvalidInput(f"policy checks must be a list, got {checks!r}", field="checks")
    parsed = tuple(_check(index, entry) for index, entry in enumerate(checks))
    try:
        return PolicyDocument(
            alias=data.get("alias"),
            checks=parsed,
            approvals=ApprovalRule.model_validate(data.get("approvals") or {}),
        )
    except ValidationError as error:
        raise _invalid(error, "policy") from None


def _load(document: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(document, str):
        try:
            document = yaml.safe_load(document)
        except yaml.YAMLError as error:
            raise InvalidInput(
                f"policy is not valid YAML or JSON: {error}", field="policy"
            ) from None
    if not isinstance(document, dict):
        raise InvalidInput(
            f"policy must be a mapping with checks and approvals, got {type(document).__name__}",
            field="policy",
        )
    return document


def _check(index: int, entry: object) -> tuple[str, Any]:
    path = f"checks[{index}]"
    if not isinstance(entry, dict) or len(entry) != 1:
        raise InvalidInput(
            f"{path} must be one check name with its settings, e.g. "
            f"{{metric_floor: {{metric: roc_auc, min: 0.7}}}}; got {entry!r}",
            field=path,
        )
    ((name, settings),) = entry.items()
    if name not in CHECKS:
        raise InvalidInput(
            f"{path}: check {name!r} is unknown; accepted: {', '.join(CHECKS)}", field=path
        )
    try:
        config = CHECKS[name].model_validate(settings or {})
    except ValidationError as error:
        raise _invalid(error, f"{path}.{name}") from None
    if isinstance(config, MaxFeatureDrift) and config.test not in BINNED_TESTS:
        raise InvalidInput(
            f"{path}.max_feature_drift.test {config.test!r} is not accepted; "
            f"use one of {', '.join(BINNED_TESTS)}",
            field=f"{path}.max_feature_drift.test",
        )
    return name, config


def _invalid(error: ValidationError, path: str) -> InvalidInput:
    first = error.errors()[0]
    where = ".".join([path, *(str(part) for part in first["loc"])])
    return InvalidInput(
        f"{where}: {first['msg']} (got {first.get('input')!r})",
        field=where,
        details=[{"field": where, "message": e["msg"]} for e in error.errors()],
    )
