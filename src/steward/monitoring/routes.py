"""HTTP edge of monitoring: alerts, alert rules and test notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from steward.config import Settings
from steward.monitoring import alerts
from steward.monitoring.alert_entities import Alert, AlertEvent, AlertRule
from steward.monitoring.notifiers import notifiers_from_settings, send_test_notification
from steward.web import ActorDep, StoreDep, json_body_openapi

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["monitoring"])

# Any: a JSON object, checked field by field by the service so errors name field and value.
RuleBody = Annotated[dict[str, Any], Body()]


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AlertResponse(_Response):
    id: int
    rule: str
    monitor: str
    metric: str
    severity: str
    key: str
    state: str
    fired_at: datetime
    resolved_at: datetime | None
    window_start: datetime
    value: float | None
    threshold: float
    last_notified_at: datetime | None


class AlertEventResponse(_Response):
    id: int
    at: datetime
    kind: str
    message: str
    details: dict[str, Any]  # Any: JSON


class AlertListResponse(BaseModel):
    alerts: list[AlertResponse]  # newest first


class AlertDetailResponse(BaseModel):
    alert: AlertResponse
    history: list[AlertEventResponse]  # oldest first


class AlertRuleListResponse(BaseModel):
    rules: list[AlertRule]


class TestNotificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: str | None = None


class DeliveryResponse(BaseModel):
    notifier: str
    ok: bool
    error: str | None


class TestNotificationResponse(BaseModel):
    results: list[DeliveryResponse]


def _alert(alert: Alert) -> AlertResponse:
    return AlertResponse.model_validate(alert)


def _event(event: AlertEvent) -> AlertEventResponse:
    return AlertEventResponse.model_validate(event)


# Alerts --------------------------------------------------------------------------------


@router.get("/alerts")
def list_alerts(
    store: StoreDep,
    state: Annotated[str | None, Query(description="firing or resolved")] = None,
    monitor: str | None = None,
) -> AlertListResponse:
    """Alerts newest first."""
    found = alerts.list_alerts(store, state=state, monitor=monitor)
    return AlertListResponse(alerts=[_alert(alert) for alert in found])


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: int, store: StoreDep) -> AlertDetailResponse:
    """One alert with its history: fired, notified, resolved..."""
    alert = alerts.get_alert(store, alert_id)
    history = alerts.alert_history(store, alert_id)
    return AlertDetailResponse(alert=_alert(alert), history=[_event(e) for e in history])


@router.post("/alerts/test")
def send_test(
    request: Request, store: StoreDep, body: TestNotificationRequest | None = None
) -> TestNotificationResponse:
    """Send a test message through the configured channels (or `webhook_url` instead)."""
    settings = getattr(request.app.state, "settings", None) or Settings()
    url = body.webhook_url if body is not None else None
    deliveries = send_test_notification(store, notifiers_from_settings(settings, webhook_url=url))
    results = [DeliveryResponse(notifier=d.notifier, ok=d.ok, error=d.error) for d in deliveries]
    return TestNotificationResponse(results=results)


# Rules ---------------------------------------------------------------------------------


@router.get("/alert-rules")
def list_rules(store: StoreDep, monitor: str | None = None) -> AlertRuleListResponse:
    return AlertRuleListResponse(rules=alerts.list_rules(store, monitor=monitor))


@router.post("/alert-rules", status_code=201, openapi_extra=json_body_openapi(AlertRule))
def create_rule(body: RuleBody, store: StoreDep, actor: ActorDep) -> AlertRule:
    return alerts.create_rule(store, body, actor=actor)


@router.put("/alert-rules/{name}", openapi_extra=json_body_openapi(AlertRule))
def update_rule(name: str, body: RuleBody, store: StoreDep, actor: ActorDep) -> AlertRule:
    """Change the rule; fields left out keep their values."""
    return alerts.update_rule(store, name, body, actor=actor)


@router.delete("/alert-rules/{name}", status_code=204)
def delete_rule(name: str, store: StoreDep, actor: ActorDep) -> Response:
    """Remove the rule with its alerts."""
    alerts.delete_rule(store, name, actor=actor)
    return Response(status_code=204)
