"""Checks on what callers send about endpoints, each naming the field and what is accepted."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from steward.errors import InvalidInput
from steward.registry.entities import CONTRACT_MODES, ContractMode, TrafficTarget
from steward.registry.validation import check_alias, check_text, check_version

__all__ = [
    "UPDATABLE_FIELDS",
    "Traffic",
    "check_changes",
    "check_endpoint_name",
    "check_traffic",
    "initial_traffic",
    "parse_target",
]

Traffic = Sequence[TrafficTarget] | Mapping[str, float]
"""Traffic as callers give it: `TrafficTarget`s, or a mapping such as `{"@champion": 100}`."""

UPDATABLE_FIELDS = (
    "shadow",
    "fallback",
    "default_response",
    "sticky_key",
    "contract_mode",
    "timeout_ms",
)
MAX_TARGETS = 32
MAX_TIMEOUT_MS = 600_000
MAX_DEFAULT_RESPONSE_BYTES = 65_536
WEIGHT_TOLERANCE = 1e-6
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$")
_TARGET_FORMS = "'@ALIAS' (e.g. '@champion') or a version number (e.g. '3')"


def parse_target(target: str | int, field: str = "target") -> tuple[str | None, int | None]:
    """`(alias, None)` for `"@alias"`, `(None, version)` for `"3"` or `3`.

    Raises:
        InvalidInput: neither form, or a bad alias; `field` names the offending input.
    """
    if isinstance(target, str) and target.startswith("@"):
        try:
            return check_alias(target[1:]), None
        except InvalidInput as exc:
            raise InvalidInput(f"{field}: {exc.message}", field=field) from None
    if isinstance(target, str) and target.isascii() and target.isdigit() and int(target) >= 1:
        return None, int(target)
    if isinstance(target, int) and not isinstance(target, bool) and target >= 1:
        return None, target
    raise InvalidInput(f"{field} {target!r} is not a target; use {_TARGET_FORMS}", field=field)


def check_endpoint_name(name: str) -> None:
    """Raises: InvalidInput unless 1-256 letters, digits, '.', '-', '_', starting alphanumeric."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"endpoint name {name!r} is invalid; use 1 to 256 letters, digits, '.', '-' or "
            "'_', starting with a letter or digit (e.g. 'churn-prod')",
            field="name",
        )


def initial_traffic(
    alias: str | None, version: int | None, traffic: Traffic | None
) -> tuple[TrafficTarget, ...]:
    """A new endpoint's traffic: 100% to `alias` or `version`, or the checked `traffic`.

    Raises:
        InvalidInput: not exactly one of the three given, or a bad value.
    """
    offered = (("alias", alias), ("version", version), ("traffic", traffic))
    given = [key for key, value in offered if value is not None]
    if len(given) != 1:
        raise InvalidInput(
            "give the endpoint's traffic as exactly one of alias (e.g. 'champion'), version "
            f"(e.g. 3) or traffic (e.g. {{'@champion': 90, '@challenger': 10}}); got "
            f"{', '.join(given) or 'none'}",
            field="traffic",
        )
    if alias is not None:
        target = f"@{alias.removeprefix('@')}" if isinstance(alias, str) else alias
        return (TrafficTarget(_canonical(target, "alias"), 100.0),)
    if version is not None:
        return (TrafficTarget(str(check_version(version)), 100.0),)
    return check_traffic(traffic if traffic is not None else {})


def check_traffic(traffic: Traffic) -> tuple[TrafficTarget, ...]:
    """The traffic split with every target in its canonical spelling, weights as floats.

    Raises:
        InvalidInput: no targets or more than 32, a malformed or repeated target, a weight
            outside 0-100, or weights that do not sum to 100 (within 1e-6).
    """
    pairs = _traffic_pairs(traffic)
    if not pairs or len(pairs) > MAX_TARGETS:
        raise InvalidInput(
            f"traffic has {len(pairs)} targets; give 1 to {MAX_TARGETS}, e.g. {{'@champion': 100}}",
            field="traffic",
        )
    checked = tuple(
        TrafficTarget(
            _canonical(target, f"traffic[{index}].target"),
            _weight(weight, target, f"traffic[{index}].weight"),
        )
        for index, (target, weight) in enumerate(pairs)
    )
    _reject_duplicates([t.target for t in checked], "traffic")
    total = math.fsum(t.weight for t in checked)
    if abs(total - 100.0) > WEIGHT_TOLERANCE:
        shown = ", ".join(f"{t.target}={t.weight:g}" for t in checked)
        raise InvalidInput(
            f"traffic weights sum to {total:g}, not 100 ({shown}); weights are percentages "
            "of requests",
            field="traffic",
        )
    return checked


def _traffic_pairs(traffic: Traffic) -> list[tuple[Any, Any]]:
    if isinstance(traffic, Mapping):
        return list(traffic.items())
    if isinstance(traffic, str | bytes) or not isinstance(traffic, Sequence):
        raise InvalidInput(
            f"traffic must be a list of TrafficTarget or a mapping of target to weight, got "
            f"{type(traffic).__name__}",
            field="traffic",
        )
    for index, item in enumerate(traffic):
        if not isinstance(item, TrafficTarget):
            raise InvalidInput(
                f"traffic[{index}] must be a TrafficTarget(target, weight), got "
                f"{type(item).__name__}",
                field=f"traffic[{index}]",
            )
    return [(item.target, item.weight) for item in traffic]


def _weight(weight: Any, target: Any, field: str) -> float:  # Any: whatever the caller sent
    is_number = isinstance(weight, int | float) and not isinstance(weight, bool)
    if not is_number or not math.isfinite(weight) or not 0 <= weight <= 100:
        raise InvalidInput(
            f"weight {weight!r} of target {target!r} is invalid; use a percentage from 0 to 100",
            field=field,
        )
    return float(weight)


def _canonical(target: Any, field: str) -> str:  # Any: whatever the caller sent
    """The one spelling of a target: `"@alias"`, or the version number without zeros."""
    alias, version = parse_target(target, field)
    return f"@{alias}" if alias is not None else str(version)


def _checked_targets(targets: Any, field: str) -> tuple[str, ...]:  # Any: caller's input
    if isinstance(targets, str | bytes) or not isinstance(targets, Sequence):
        raise InvalidInput(
            f"{field} must be a list of targets such as ['@challenger', '3'], got {targets!r}",
            field=field,
        )
    if len(targets) > MAX_TARGETS:
        raise InvalidInput(
            f"{field} has {len(targets)} targets; at most {MAX_TARGETS}", field=field
        )
    canonical = tuple(_canonical(t, f"{field}[{index}]") for index, t in enumerate(targets))
    _reject_duplicates(canonical, field)
    return canonical


def _reject_duplicates(targets: Sequence[str], field: str) -> None:
    repeated = sorted({target for target in targets if targets.count(target) > 1})
    if repeated:
        raise InvalidInput(
            f"{field} names {', '.join(repeated)} more than once; list each target once",
            field=field,
        )


def check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The checked values of the `UPDATABLE_FIELDS` given; targets in canonical spelling.

    Raises:
        InvalidInput: a field not in `UPDATABLE_FIELDS`, or a bad value (naming the field).
    """
    unknown = sorted(set(changes) - set(UPDATABLE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"endpoint field(s) {', '.join(map(repr, unknown))} cannot be changed here; "
            f"accepted: {', '.join(UPDATABLE_FIELDS)} (traffic: set_traffic)",
            field=unknown[0],
        )
    return {key: _CHECKS[key](value) for key, value in changes.items()}


def _checked_sticky_key(key: str | None) -> str | None:
    return None if key is None else check_text(key, "sticky_key", max_length=256, required=True)


def _checked_contract_mode(mode: str) -> ContractMode:
    for accepted in CONTRACT_MODES:
        if mode == accepted:
            return accepted
    raise InvalidInput(
        f"contract mode {mode!r} is unknown; accepted: {', '.join(CONTRACT_MODES)}",
        field="contract_mode",
    )


def _checked_timeout(timeout_ms: int) -> int:
    is_int = isinstance(timeout_ms, int) and not isinstance(timeout_ms, bool)
    if not is_int or not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
        raise InvalidInput(
            f"timeout_ms {timeout_ms!r} is invalid; use whole milliseconds from 1 to "
            f"{MAX_TIMEOUT_MS}",
            field="timeout_ms",
        )
    return timeout_ms


def _checked_default_response(document: Any) -> Any:  # Any: a JSON document
    if document is None:
        return None
    try:
        text = json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"default_response is not a JSON document ({exc}); use objects, lists, strings, "
            "finite numbers, booleans and null",
            field="default_response",
        ) from exc
    if len(text) > MAX_DEFAULT_RESPONSE_BYTES:
        raise InvalidInput(
            f"default_response is {len(text)} bytes of JSON; at most {MAX_DEFAULT_RESPONSE_BYTES}",
            field="default_response",
        )
    return json.loads(text)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "shadow": lambda targets: _checked_targets(targets, "shadow"),
    "fallback": lambda targets: _checked_targets(targets, "fallback"),
    "default_response": _checked_default_response,
    "sticky_key": _checked_sticky_key,
    "contract_mode": _checked_contract_mode,
    "timeout_ms": _checked_timeout,
}
