"""The calculation of each policy check: a challenger version against the environment's champion.

Every check returns a `CheckResult` with the numbers it compared, pass or fail. A check that
compares with the champion passes when the environment has no champion yet (the first
promotion), and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from steward.registry.entities import ModelVersion
from steward.registry.policy_document import (
    FairnessGap,
    MaxFeatureDrift,
    MetricFloor,
    MetricVsChampion,
)
from steward.registry.policy_drift import feature_drift
from steward.registry.policy_entities import CheckResult

__all__ = ["Evidence", "run_check"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the checks read: both versions and each one's evaluation metrics."""

    challenger: ModelVersion
    champion: ModelVersion | None
    challenger_metrics: Mapping[str, float]
    champion_metrics: Mapping[str, float]


def run_check(name: str, config: Any, evidence: Evidence) -> CheckResult:  # Any: a CHECKS config
    """Compute one check of the policy."""
    return _CALCULATIONS[name](config, evidence)


def _metric_vs_champion(config: MetricVsChampion, evidence: Evidence) -> CheckResult:
    name = f"metric_vs_champion[{config.metric}]"
    challenger = evidence.challenger_metrics.get(config.metric)
    if evidence.champion is None:
        return CheckResult(name, True, challenger, None, None, f"{name}: no champion yet")
    champion = evidence.champion_metrics.get(config.metric)
    if challenger is None or champion is None:
        return _missing(name, config.metric, challenger=challenger, champion=champion)
    bound = champion + config.min_delta
    passed = challenger >= bound
    verdict = ">=" if passed else "<"
    message = (
        f"{name}: challenger {challenger:.6g} {verdict} champion {champion:.6g} "
        f"{config.min_delta:+.6g} = {bound:.6g}"
    )
    return CheckResult(name, passed, challenger, champion, bound, message)


def _metric_floor(config: MetricFloor, evidence: Evidence) -> CheckResult:
    name = f"metric_floor[{config.metric}]"
    challenger = evidence.challenger_metrics.get(config.metric)
    if challenger is None:
        return _missing(name, config.metric, challenger=None)
    passed = challenger >= config.min
    verdict = ">=" if passed else "<"
    message = f"{name}: challenger {challenger:.6g} {verdict} minimum {config.min:.6g}"
    return CheckResult(name, passed, challenger, None, config.min, message)


def _contract_matches_champion(_config: object, evidence: Evidence) -> CheckResult:
    name = "contract_matches_champion"
    if evidence.champion is None:
        return CheckResult(name, True, None, None, None, f"{name}: no champion yet")
    mine, theirs = _columns(evidence.challenger), _columns(evidence.champion)
    added = sorted(set(mine) - set(theirs))
    removed = sorted(set(theirs) - set(mine))
    retyped = sorted(c for c in set(mine) & set(theirs) if mine[c] != theirs[c])
    passed = not (added or removed or retyped)
    differences = {
        "added": added,
        "removed": removed,
        "retyped": {c: {"champion": theirs[c], "challenger": mine[c]} for c in retyped},
    }
    message = (
        f"{name}: same {len(mine)} required columns and types"
        if passed
        else f"{name}: required columns differ: added {added}, removed {removed}, "
        f"type changed {retyped}"
    )
    return CheckResult(name, passed, None, None, None, message, differences)


def _max_feature_drift(config: MaxFeatureDrift, evidence: Evidence) -> CheckResult:
    name = f"max_feature_drift[{config.test}]"
    champion = evidence.champion
    if champion is None:
        return CheckResult(name, True, None, None, config.threshold, f"{name}: no champion yet")
    if champion.profile is None or evidence.challenger.profile is None:
        side = "champion" if champion.profile is None else "challenger"
        message = f"{name}: the {side} version has no training profile to compare"
        return CheckResult(name, False, None, None, config.threshold, message)
    per_column = feature_drift(
        champion.profile, evidence.challenger.profile, config.test, config.threshold
    )
    worst = max(per_column.items(), key=lambda item: item[1], default=(None, 0.0))
    drifted = sorted(c for c, value in per_column.items() if value >= config.threshold)
    passed = not drifted
    message = (
        f"{name}: largest drift {worst[1]:.6g} ({worst[0]}) "
        f"{'<' if passed else '>='} threshold {config.threshold:.6g}"
        + ("" if passed else f"; drifted features: {drifted}")
    )
    details = {"per_feature": per_column, "drifted": drifted}
    return CheckResult(name, passed, worst[1], None, config.threshold, message, details)


def _fairness_gap(config: FairnessGap, evidence: Evidence) -> CheckResult:
    name = f"fairness_gap[{config.metric}]"
    prefix = config.segment_metric_prefix
    segments = {
        key[len(prefix) :]: value
        for key, value in evidence.challenger_metrics.items()
        if key.startswith(prefix) and len(key) > len(prefix)
    }
    if len(segments) < 2:
        message = (
            f"{name}: needs metrics of at least 2 segments named {prefix}<segment>, "
            f"found {sorted(segments)}"
        )
        return CheckResult(name, False, None, None, config.max_gap, message)
    gap = max(segments.values()) - min(segments.values())
    passed = gap <= config.max_gap
    best, worst = max(segments, key=segments.__getitem__), min(segments, key=segments.__getitem__)
    message = (
        f"{name}: gap {gap:.6g} between segments {best!r} ({segments[best]:.6g}) and "
        f"{worst!r} ({segments[worst]:.6g}) {'<=' if passed else '>'} {config.max_gap:.6g}"
    )
    details = {"segments": segments, "overall": evidence.challenger_metrics.get(config.metric)}
    return CheckResult(name, passed, gap, None, config.max_gap, message, details)


def _missing(
    name: str, metric: str, *, challenger: float | None, champion: float | None = 0.0
) -> CheckResult:
    sides = [s for s, v in (("challenger", challenger), ("champion", champion)) if v is None]
    message = (
        f"{name}: no {metric!r} metric for the {' and '.join(sides)} (log it on the version's "
        "run, or pass it in the evaluation)"
    )
    return CheckResult(name, False, challenger, champion, None, message)


def _columns(version: ModelVersion) -> dict[str, str]:
    """Required column -> type, from the contract, or from the input schema without one."""
    contract = version.contract
    if contract is not None:
        required = set(contract.get("required_columns") or [])
        return {
            str(c["name"]): str(c.get("type"))
            for c in contract.get("columns", [])
            if not required or c["name"] in required
        }
    return {str(c["name"]): str(c.get("type")) for c in version.input_schema}


_CALCULATIONS: dict[str, Callable[[Any, Evidence], CheckResult]] = {
    "metric_vs_champion": _metric_vs_champion,
    "metric_floor": _metric_floor,
    "contract_matches_champion": _contract_matches_champion,
    "max_feature_drift": _max_feature_drift,
    "fairness_gap": _fairness_gap,
}
