"""Notifiers: where alert transitions go. A log line, and webhooks (Slack-compatible JSON).

A webhook POSTs JSON with a human `text` (what Slack shows) and structured fields. With a
secret, `X-Steward-Signature: sha256=<hex>` is the HMAC-SHA256 of the raw body and
`X-Steward-Timestamp` the sending time in Unix seconds (also in the body as `sent_at`, so
it is signed too). Connection errors, timeouts, 5xx and 429 answers are retried with
exponential backoff; any other answer fails at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from steward.config import Settings
from steward.errors import InvalidInput, Unavailable
from steward.monitoring import alerts_db as db
from steward.monitoring.alert_entities import (
    COMPARATOR_WORDS,
    AlertRule,
    AlertTransition,
    finite_or_none,
)
from steward.store import Store
from steward.version import __version__

__all__ = [
    "Delivery",
    "LogNotifier",
    "Notifier",
    "Notifiers",
    "WebhookNotifier",
    "alert_payload",
    "alert_text",
    "deliver",
    "notifiers_from_settings",
    "send_test_notification",
    "sign",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Steward-Signature"
TIMESTAMP_HEADER = "X-Steward-Timestamp"
MAX_RETRY_AFTER_S = 60.0
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}


class Notifier(Protocol):
    """A channel alerts reach. `send` raises when the transition could not be delivered."""

    @property
    def name(self) -> str: ...

    def send(self, transition: AlertTransition) -> None: ...


class LogNotifier:
    """Alerts as log lines of logger `steward.monitoring.notifiers`, leveled by severity."""

    name = "log"

    def send(self, transition: AlertTransition) -> None:
        rule = transition.rule
        level = _LEVELS[rule.severity] if transition.kind == "fired" else logging.INFO
        log.log(
            level,
            "alert %s rule=%s monitor=%s metric=%s key=%s value=%s comparator=%s threshold=%s "
            "severity=%s window_start=%s alert=%s",
            transition.kind,
            rule.name,
            rule.monitor,
            rule.metric,
            transition.key,
            transition.value,
            rule.comparator,
            rule.threshold,
            rule.severity,
            transition.window_start.isoformat(),
            transition.alert_id,
        )


class WebhookNotifier:
    """POSTs each transition as JSON to `url`, signed when a secret is set.

    Args:
        attempts: tries in all, at least 1.
        backoff_s: wait before the second try; doubled before each next one (a 429's
            Retry-After is honoured up to 60 s).
        timeout_s: per try.
        transport, sleep, clock: seams for tests and custom networking.

    Raises:
        InvalidInput: a URL that is not http(s), or an out-of-range setting.
    """

    def __init__(
        self,
        url: str,
        secret: str | SecretStr | None = None,
        attempts: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_webhook(url, attempts, backoff_s, timeout_s)
        self.url = url
        self._secret = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        self.attempts, self.backoff_s, self.timeout_s = attempts, backoff_s, timeout_s
        self._transport, self._sleep, self._clock = transport, sleep, clock

    @property
    def name(self) -> str:
        # Webhook paths often carry tokens (Slack's do): only scheme and host are shown.
        parts = urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.netloc.rpartition('@')[2]}"

    def send(self, transition: AlertTransition) -> None:
        """Raises: Unavailable after the last failed try, naming the receiver and the error."""
        sent_at = self._clock()
        body = json.dumps(alert_payload(transition, sent_at=sent_at)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": f"steward/{__version__}"}
        if self._secret is not None:
            headers[TIMESTAMP_HEADER] = str(int(sent_at))
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        with httpx.Client(timeout=self.timeout_s, transport=self._transport) as client:
            self._post(client, body, headers)

    def _post(self, client: httpx.Client, body: bytes, headers: dict[str, str]) -> None:
        problem = ""
        for attempt in range(1, self.attempts + 1):
            problem, retry_after = self._try(client, body, headers)
            if not problem:
                return
            if retry_after is None or attempt == self.attempts:
                break
            delay = max(self.backoff_s * 2 ** (attempt - 1), retry_after)
            log.warning(
                "webhook retry receiver=%s attempt=%d delay_s=%.2f error=%s",
                self.name,
                attempt,
                delay,
                problem,
            )
            self._sleep(delay)
        raise Unavailable(f"{self.name} did not take the alert after {attempt} try(s): {problem}")

    def _try(
        self, client: httpx.Client, body: bytes, headers: dict[str, str]
    ) -> tuple[str, float | None]:
        """('', None) on success; else the problem and, when retrying helps, a minimum wait."""
        try:
            response = client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            return f"{type(exc).__name__}: {exc}", 0.0
        if response.is_success:
            return "", None
        problem = f"HTTP {response.status_code} {response.text[:200]!r}"
        if response.status_code == 429:
            return problem, _retry_after(response)
        return problem, (0.0 if response.status_code >= 500 else None)


@dataclass(frozen=True, slots=True)
class Notifiers:
    """The channels alerts go to. A rule with its own `webhook_url` goes to that receiver
    (built by `rule_webhook`, with the configured secret) instead of the configured webhook."""

    channels: tuple[Notifier, ...] = (LogNotifier(),)
    rule_webhook: Callable[[str], Notifier] = WebhookNotifier

    def for_rule(self, rule: AlertRule) -> tuple[Notifier, ...]:
        if rule.webhook_url is None:
            return self.channels
        kept = tuple(c for c in self.channels if not isinstance(c, WebhookNotifier))
        return (*kept, self.rule_webhook(rule.webhook_url))


def notifiers_from_settings(settings: Settings, *, webhook_url: str | None = None) -> Notifiers:
    """The log, plus the webhook of `webhook_url` or else `alert_webhook_url`, when set.

    Raises:
        InvalidInput: a webhook URL that is not http(s).
    """
    webhook = functools.partial(
        WebhookNotifier,
        secret=settings.alert_webhook_secret,
        attempts=settings.alert_webhook_attempts,
        backoff_s=settings.alert_webhook_backoff_s,
        timeout_s=settings.alert_webhook_timeout_s,
    )
    channels: tuple[Notifier, ...] = (LogNotifier(),)
    url = webhook_url or settings.alert_webhook_url
    if url:
        channels += (webhook(url),)
    return Notifiers(channels=channels, rule_webhook=webhook)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one notifier did with one transition."""

    notifier: str
    ok: bool
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # Any: JSON values


def deliver(notifiers: Sequence[Notifier], transition: AlertTransition) -> list[Delivery]:
    """Send to each notifier; a failing one is reported, never raised, and never stops the rest."""
    deliveries = []
    for notifier in notifiers:
        try:
            notifier.send(transition)
        except Exception as exc:  # any channel's failure, including third-party ones
            log.warning("notification failed notifier=%s error=%s", notifier.name, exc)
            deliveries.append(Delivery(notifier.name, ok=False, error=str(exc)))
        else:
            deliveries.append(Delivery(notifier.name, ok=True))
    return deliveries


def send_test_notification(
    store: Store, notifiers: Notifiers | Sequence[Notifier]
) -> list[Delivery]:
    """Send a test message through every channel; the outcome is recorded as a `test` event."""
    channels = notifiers.channels if isinstance(notifiers, Notifiers) else tuple(notifiers)
    now = store.clock()
    at = datetime.fromtimestamp(now / 1000, tz=UTC)
    rule = AlertRule(name="steward-test", monitor="steward", metric="test", threshold=0.0)
    transition = AlertTransition("test", None, rule, "overall", None, at, at, at)
    deliveries = deliver(channels, transition)
    ok = sum(d.ok for d in deliveries)
    results = [{"notifier": d.notifier, "ok": d.ok, "error": d.error} for d in deliveries]
    event = {"alert_id": None, "rule_id": None, "at_ms": now, "kind": "test"}
    event |= {"message": f"test notification: {ok} of {len(deliveries)} notifiers took it"}
    with store.db.write() as conn:
        db.insert_events(conn, [{**event, "details": {"results": results}}])
    return deliveries


# Payload -------------------------------------------------------------------------------


def alert_payload(transition: AlertTransition, *, sent_at: float) -> dict[str, Any]:
    """The webhook body: Slack's `text` plus structured fields (`Any`: JSON values)."""
    rule = transition.rule
    return {
        "text": alert_text(transition),
        "event": transition.kind,
        "state": transition.state,
        "alert": transition.alert_id,
        "rule": rule.name,
        "monitor": rule.monitor,
        "metric": rule.metric,
        "key": transition.key,
        "severity": rule.severity,
        "value": finite_or_none(transition.value),
        "comparator": rule.comparator,
        "threshold": rule.threshold,
        "window_start": transition.window_start.isoformat(),
        "window_end": transition.window_end.isoformat(),
        "at": transition.at.isoformat(),
        "sent_at": datetime.fromtimestamp(sent_at, tz=UTC).isoformat(),
    }


def alert_text(transition: AlertTransition) -> str:
    """One sentence a person reads in a chat channel."""
    rule = transition.rule
    if transition.kind == "test":
        return "Steward test notification: this channel receives Steward alerts."
    where = "" if transition.key == "overall" else f" for {transition.key}"
    value = "no value" if transition.value is None else f"{transition.value:.4g}"
    words = COMPARATOR_WORDS[rule.comparator]
    window = f"{_clock_time(transition.window_start)} to {_clock_time(transition.window_end)}"
    if transition.kind == "fired":
        what = f"is {value}, {words} the threshold {rule.threshold:g}"
        head = f"[{rule.severity.upper()}] Alert fired"
    else:
        what = f"is {value}, no longer {words} the threshold {rule.threshold:g}"
        head = f"[{rule.severity.upper()}] Resolved"
    return (
        f"{head}: rule {rule.name} on monitor {rule.monitor}: {rule.metric}{where} {what} "
        f"(window {window})."
    )


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex HMAC-SHA256 of body>`: the value of the signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _clock_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", "0"))
    except ValueError:  # an HTTP date: fall back to the backoff
        return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _check_webhook(url: str, attempts: int, backoff_s: float, timeout_s: float) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput(
            f"webhook URL {url!r} is not accepted; use an http:// or https:// URL",
            field="webhook_url",
        )
    checks = (
        ("attempts", attempts, attempts >= 1, "a whole number of at least 1"),
        ("backoff_s", backoff_s, backoff_s >= 0, "a number of seconds, at least 0"),
        ("timeout_s", timeout_s, timeout_s > 0, "a number of seconds above 0"),
    )
    for name, value, is_ok, accepted in checks:
        if not is_ok:
            raise InvalidInput(
                f"webhook {name} {value!r} is not accepted; use {accepted}", field=name
            )
