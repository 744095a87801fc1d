"""Notifiers against a real HTTP receiver on 127.0.0.1: payload, signature, retries, a dead
receiver; the log channel; channels from settings; test notifications."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from steward.config import Settings
from steward.errors import InvalidInput, Unavailable
from steward.monitoring.alert_entities import AlertRule, AlertTransition
from steward.monitoring.alerts import alert_history, create_rule, evaluate_rules, list_alerts
from steward.monitoring.notifiers import (
    LogNotifier,
    Notifiers,
    WebhookNotifier,
    notifiers_from_settings,
    send_test_notification,
)
from steward.store import Store
from steward.store.tables import alert_events
from tests.monitoring.alert_support import add_monitor, dead_url, put, receiver, start

RULE = AlertRule(
    name="income-drift",
    monitor="churn",
    metric="drift.psi",
    threshold=0.2,
    severity="critical",
)
WINDOW = datetime(2024, 5, 1, 10, tzinfo=UTC)


def transition(kind: str = "fired") -> AlertTransition:
    end = WINDOW.replace(hour=11)
    return AlertTransition(kind, 7, RULE, "feature=income", 0.31, WINDOW, end, end)  # type: ignore[arg-type]


class Sleeps(list[float]):
    """An injected sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_the_payload_is_slack_compatible_and_signed_with_the_secret() -> None:
    with receiver() as hook:
        WebhookNotifier(hook.url, secret="s3cret", clock=lambda: 1_714_557_600.5).send(transition())
    (request,) = hook.requests
    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-steward-signature"] == expected
    assert request.headers["x-steward-timestamp"] == "1714557600"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["text"] == (
        "[CRITICAL] Alert fired: rule income-drift on monitor churn: drift.psi for "
        "feature=income is 0.31, above the threshold 0.2 "
        "(window 2024-05-01 10:00 UTC to 2024-05-01 11:00 UTC)."
    )
    assert {k: body[k] for k in ("alert", "rule", "state", "value", "threshold", "key")} == {
        "alert": 7,
        "rule": "income-drift",
        "state": "firing",
        "value": 0.31,
        "threshold": 0.2,
        "key": "feature=income",
    }
    assert body["window_start"] == "2024-05-01T10:00:00+00:00"
    assert body["sent_at"].startswith("2024-05-01T10:00:00.5")


def test_without_a_secret_nothing_is_signed_and_resolutions_say_so() -> None:
    with receiver() as hook:
        WebhookNotifier(hook.url).send(transition("resolved"))
    (request,) = hook.requests
    assert "x-steward-signature" not in request.headers
    assert request.json()["state"] == "resolved"
    assert "Resolved" in request.json()["text"]
    assert "no longer above the threshold 0.2" in request.json()["text"]


def test_a_receiver_failing_twice_gets_it_on_the_third_try_with_backoff() -> None:
    sleeps = Sleeps()
    with receiver([500, 503]) as hook:
        WebhookNotifier(hook.url, attempts=5, backoff_s=0.5, sleep=sleeps).send(transition())
    assert len(hook.requests) == 3
    assert hook.requests[0].body == hook.requests[2].body
    assert sleeps == [0.5, 1.0]


def test_429_is_retried_after_the_receivers_retry_after() -> None:
    sleeps = Sleeps()
    with receiver([429], Retry_After="3") as hook:
        WebhookNotifier(hook.url, backoff_s=0.5, sleep=sleeps).send(transition())
    assert len(hook.requests) == 2
    assert sleeps == [3.0]


def test_a_client_error_is_not_retried() -> None:
    sleeps = Sleeps()
    with receiver([400]) as hook, pytest.raises(Unavailable, match="HTTP 400") as caught:
        WebhookNotifier(hook.url, sleep=sleeps).send(transition())
    assert len(hook.requests) == 1
    assert sleeps == []
    assert "secret-token" not in caught.value.message  # the URL's path is never shown


def test_a_dead_receiver_gives_up_after_the_attempts() -> None:
    sleeps = Sleeps()
    with pytest.raises(Unavailable, match=r"after 3 try\(s\): ConnectError"):
        WebhookNotifier(dead_url(), attempts=3, backoff_s=0.1, sleep=sleeps).send(transition())
    assert sleeps == [0.1, 0.2]


def test_bad_webhook_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match="'ftp://x'"):
        WebhookNotifier("ftp://x")
    with pytest.raises(InvalidInput, match="attempts 0"):
        WebhookNotifier("http://127.0.0.1/x", attempts=0)


def test_the_log_channel_writes_one_structured_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="steward.monitoring.notifiers"):
        LogNotifier().send(transition())
    (record,) = caplog.records
    assert record.levelno == logging.ERROR  # critical severity
    assert "alert fired rule=income-drift monitor=churn metric=drift.psi" in record.getMessage()
    assert "key=feature=income value=0.31" in record.getMessage()


def test_channels_from_settings_hide_the_webhook_path() -> None:
    assert [n.name for n in notifiers_from_settings(Settings()).channels] == ["log"]
    settings = Settings(alert_webhook_url="https://hooks.example.com/T/B/token")
    names = [n.name for n in notifiers_from_settings(settings).channels]
    assert names == ["log", "webhook https://hooks.example.com"]
    override = notifiers_from_settings(settings, webhook_url="http://127.0.0.1:9/x")
    assert [n.name for n in override.channels][1] == "webhook http://127.0.0.1:9"


# Through evaluation, on the store --------------------------------------------------------


def _drift_rule(store: Store, **fields: object) -> None:
    add_monitor(store)
    document = {"name": "drift", "monitor": "churn", "metric": "drift.psi", "threshold": 0.2}
    create_rule(store, document | {"min_samples": 0} | fields, actor="tester")
    put(store, 0, 0.5)


def test_a_dead_receiver_is_a_notify_failed_event_not_an_error(store: Store) -> None:
    _drift_rule(store)
    dead = WebhookNotifier(dead_url(), attempts=2, backoff_s=0, sleep=Sleeps())
    transitions = evaluate_rules(store, "churn", start(0), notifiers=[dead])
    assert [t.kind for t in transitions] == ["fired"]
    (alert,) = list_alerts(store, state="firing")
    events = alert_history(store, alert.id)
    assert [e.kind for e in events] == ["fired", "notify_failed"]
    assert "ConnectError" in events[1].message
    assert events[1].details["notifier"].startswith("webhook http://127.0.0.1:")
    assert alert.last_notified_at is None


def test_a_rules_own_webhook_gets_its_alerts_signed_with_the_same_secret(store: Store) -> None:
    with receiver() as shared, receiver() as own:
        _drift_rule(store, webhook_url=own.url)
        notifiers = Notifiers(
            channels=(LogNotifier(), WebhookNotifier(shared.url, secret="k")),
            rule_webhook=functools.partial(WebhookNotifier, secret="k"),
        )
        evaluate_rules(store, "churn", start(0), notifiers=notifiers)
    assert shared.requests == []
    (request,) = own.requests
    signature = "sha256=" + hmac.new(b"k", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-steward-signature"] == signature
    assert request.json()["rule"] == "drift"
    (alert,) = list_alerts(store)
    assert [e.kind for e in alert_history(store, alert.id)] == ["fired", "notified", "notified"]


def test_a_test_notification_reports_each_channel_and_is_recorded(store: Store) -> None:
    with receiver() as hook:
        deliveries = send_test_notification(
            store,
            [LogNotifier(), WebhookNotifier(hook.url), WebhookNotifier(dead_url(), attempts=1)],
        )
    assert [d.ok for d in deliveries] == [True, True, False]
    assert hook.requests[0].json()["state"] == "test"
    with store.db.read() as conn:
        (row,) = conn.execute(sa.select(alert_events)).mappings()
    assert row["kind"] == "test"
    assert row["message"] == "test notification: 2 of 3 notifiers took it"
    assert [r["ok"] for r in row["details"]["results"]] == [True, True, False]
    assert json.dumps(row["details"])  # JSON all the way
