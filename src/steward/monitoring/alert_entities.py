"""Alert rules as users write them, and the alerts, events and transitions they produce.

A rule is a small stored config (pydantic: JSON and YAML in, JSON out); alerts and events
are frozen records read back from the store. Times in entities are aware UTC datetimes.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from steward.errors import InvalidInput

__all__ = [
    "COMPARATORS",
    "EVENT_KINDS",
    "SEVERITIES",
    "Alert",
    "AlertEvent",
    "AlertRule",
    "AlertState",
    "AlertTransition",
    "Comparator",
    "Severity",
    "alert_key",
    "check_lookup",
    "parse_rule",
]

Comparator = Literal["gt", "ge", "lt", "le"]
Severity = Literal["info", "warning", "critical"]
AlertState = Literal["firing", "resolved"]
TransitionKind = Literal["fired", "resolved", "test"]

COMPARATORS: Final = ("gt", "ge", "lt", "le")
SEVERITIES: Final = ("info", "warning", "critical")
ALERT_STATES: Final = ("firing", "resolved")
EVENT_KINDS: Final = ("fired", "resolved", "notified", "notify_failed", "test")
EVERY_SEGMENT: Final = "*"
MAX_SAMPLES: Final = 10**15

_COMPARE: Final[dict[str, Callable[[float, float], bool]]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
COMPARATOR_WORDS: Final = {"gt": "above", "ge": "at or above", "lt": "below", "le": "at or below"}

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$"
_MONITOR = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_METRIC = r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$"

# What each field accepts, for messages that tell the caller how to fix the input.
ACCEPTED: Final = {
    "name": "1 to 256 letters, digits, '.', '-' or '_', starting with a letter or digit",
    "monitor": "a monitor name: 1 to 128 letters, digits, '.', '-' or '_'",
    "metric": "a metric name such as drift.psi, missing_rate, perf.roc_auc or kpi.<name>",
    "feature": "a feature name (1 to 256 characters), or null for every feature",
    "segment": "null (overall only), '*' (every segment) or one segment such as 'region=EU'",
    "comparator": "one of gt, ge, lt, le",
    "threshold": "a finite number",
    "min_samples": "a whole number from 0 to 10^15",
    "consecutive": "a whole number from 1 to 1000",
    "cooldown_s": "a finite number of seconds, at least 0",
    "severity": "one of info, warning, critical",
    "webhook_url": "an http:// or https:// URL of at most 2048 characters, or null",
    "enabled": "true or false",
}
SERVER_FIELDS: Final = ("id", "created_at", "updated_at", "created_by")


class AlertRule(BaseModel):
    """A condition on one metric of one monitor's results.

    Attributes:
        feature: one feature, or None to watch every feature (one alert state per feature).
        segment: None for the overall results only, `'*'` for every segment (one state per
            segment), or one segment such as `'region=EU'`.
        comparator: the metric breaches when `value <comparator> threshold`.
        min_samples: a window with a smaller sample size is skipped: it neither breaches
            nor clears.
        consecutive: the alert fires when this many qualifying windows in a row breach.
        cooldown_s: after an alert resolves, the same rule and key stay quiet this long
            (measured on window times).
        webhook_url: this rule's own receiver, instead of the configured webhook.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=_NAME)]
    monitor: Annotated[str, Field(pattern=_MONITOR)]
    metric: Annotated[str, Field(pattern=_METRIC)]
    feature: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    segment: Annotated[str, Field(min_length=1, max_length=512)] | None = None
    comparator: Comparator = "gt"
    threshold: Annotated[float, Field(allow_inf_nan=False)]
    min_samples: Annotated[int, Field(ge=0, le=MAX_SAMPLES)] = 100
    consecutive: Annotated[int, Field(ge=1, le=1000)] = 1
    cooldown_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 3600.0
    severity: Severity = "warning"
    webhook_url: Annotated[str, Field(max_length=2048)] | None = None
    enabled: bool = True
    # Set by the store; ignored when a rule is created or updated.
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None

    @field_validator("webhook_url")
    @classmethod
    def _is_http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("not an http:// or https:// URL")
        return url

    @field_validator("feature", "segment")
    @classmethod
    def _is_printable(cls, text: str | None) -> str | None:
        if text is not None and not text.isprintable():
            raise ValueError("contains control characters")
        return text

    def breaches(self, value: float) -> bool:
        return _COMPARE[self.comparator](value, self.threshold)

    def config(self) -> dict[str, Any]:
        """The rule as the user wrote it (no store fields): for audit events and exports."""
        return self.model_dump(mode="json", exclude=set(SERVER_FIELDS))


def parse_rule(document: AlertRule | Mapping[str, Any]) -> AlertRule:  # Any: JSON/YAML values
    """A checked rule from a parsed JSON or YAML mapping.

    Raises:
        InvalidInput: not a mapping, an unknown or missing field, or a bad value; the
            message names the field, the value received and what is accepted.
    """
    if isinstance(document, AlertRule):
        return document
    if not isinstance(document, Mapping):
        raise InvalidInput(
            f"an alert rule must be a mapping of fields, got {type(document).__name__}",
            field="rule",
        )
    try:
        return AlertRule.model_validate(dict(document))
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> InvalidInput:
    details = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "rule"
        details.append({"field": name, "message": _message(name, error)})
    first = details[0]
    return InvalidInput(first["message"], field=first["field"], details=details)


def _message(name: str, error: Mapping[str, Any]) -> str:
    accepted = ACCEPTED.get(name.split(".")[0])
    if error["type"] == "missing":
        return f"alert rule field {name!r} is missing; give {accepted or 'a value'}"
    if error["type"] == "extra_forbidden":
        return f"alert rule has no field {name!r}; fields are {', '.join(ACCEPTED)}"
    why = accepted or str(error["msg"])
    return f"alert rule field {name!r}: {error.get('input')!r} is not accepted; use {why}"


def check_lookup(value: str | None, field: str) -> None:
    """Raises: InvalidInput for a name no stored thing can have (not text, NUL, over-long)."""
    if value is not None and (not isinstance(value, str) or "\x00" in value or len(value) > 512):
        raise InvalidInput(
            f"{field} {value!r} is not a name; use up to 512 characters without NUL",
            field=field,
        )


def alert_key(feature: str, segment: str) -> str:
    """The key one rule keeps a state for, e.g. `feature=income,segment=region=EU`."""
    parts = [f"feature={feature}"] if feature else []
    parts += [f"segment={segment}"] if segment else []
    return ",".join(parts) or "overall"


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing (or since resolved) episode of a rule for one key.

    `fired_at` and `resolved_at` are the ends of the windows that fired and resolved it;
    `window_start` is the start of the last window evaluated for it.
    """

    id: int
    rule: str
    rule_id: int
    monitor: str
    metric: str
    severity: str
    key: str
    state: AlertState
    fired_at: datetime
    resolved_at: datetime | None
    window_start: datetime
    value: float | None
    threshold: float
    last_notified_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An entry of the alert log: fired, resolved, notified, notify_failed or test."""

    id: int
    alert_id: int | None
    rule_id: int | None
    at: datetime
    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)  # Any: JSON values


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """An alert that fired or resolved in an evaluation: what notifiers are told."""

    kind: TransitionKind
    alert_id: int | None
    rule: AlertRule
    key: str
    value: float | None
    window_start: datetime
    window_end: datetime
    at: datetime

    @property
    def state(self) -> str:
        return {"fired": "firing", "resolved": "resolved"}.get(self.kind, self.kind)


def finite_or_none(value: float | None) -> float | None:
    """A JSON-safe number: NaN and infinities become None."""
    return value if value is not None and math.isfinite(value) else None
