"""The alert REST API on the real app: rules CRUD, alerts with history, test notifications,
and 4xx answers that name the field, the value and what is accepted."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from steward.config import Settings
from steward.monitoring.alerts import evaluate_rules
from steward.server.app import create_app
from steward.store import Store
from tests.monitoring.alert_support import add_monitor, dead_url, put, receiver, start

RULE = {"name": "drift", "monitor": "churn", "metric": "drift.psi", "threshold": 0.2}
ACTOR = {"x-steward-actor": "alice"}


def test_rule_crud(client: TestClient, store: Store) -> None:
    add_monitor(store)
    created = client.post("/api/v1/alert-rules", json=RULE | {"segment": "*"}, headers=ACTOR)
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == "alice"
    assert created.json()["segment"] == "*"
    listed = client.get("/api/v1/alert-rules", params={"monitor": "churn"}).json()["rules"]
    assert [r["name"] for r in listed] == ["drift"]
    assert client.get("/api/v1/alert-rules", params={"monitor": "x"}).json() == {"rules": []}
    changed = client.put("/api/v1/alert-rules/drift", json={"threshold": 0.25, "consecutive": 3})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["threshold"], changed.json()["consecutive"]) == (0.25, 3)
    assert changed.json()["segment"] == "*"
    assert client.delete("/api/v1/alert-rules/drift").status_code == 204
    assert client.delete("/api/v1/alert-rules/drift").status_code == 404


def test_bad_rules_are_4xx_naming_field_value_and_accepted(
    client: TestClient, store: Store
) -> None:
    add_monitor(store)
    bad = client.post("/api/v1/alert-rules", json=RULE | {"comparator": "bigger"})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["field"] == "comparator"
    assert "'bigger'" in error["message"]
    assert "gt, ge, lt, le" in error["message"]
    assert client.post("/api/v1/alert-rules", json=[RULE]).status_code == 422
    assert client.post("/api/v1/alert-rules", content=b"{not json").status_code == 422
    missing = client.post("/api/v1/alert-rules", json=RULE | {"monitor": "fraud"})
    assert missing.status_code == 404
    assert "no monitor 'fraud'" in missing.json()["error"]["message"]
    assert client.post("/api/v1/alert-rules", json=RULE).status_code == 201
    assert client.post("/api/v1/alert-rules", json=RULE).status_code == 409
    renamed = client.put("/api/v1/alert-rules/drift", json={"name": "other"})
    assert renamed.status_code == 422
    assert client.put("/api/v1/alert-rules/nope", json={"threshold": 1}).status_code == 404
    assert client.put("/api/v1/alert-rules/a%00b", json={"threshold": 1}).status_code == 422
    assert client.get("/api/v1/alert-rules", params={"monitor": "a\x00"}).status_code == 422
    huge = client.post("/api/v1/alert-rules", json=RULE | {"name": "x", "min_samples": 10**30})
    assert huge.status_code == 422
    bad_update = client.put("/api/v1/alert-rules/drift", json={"min_samples": -3})
    assert bad_update.status_code == 422
    assert bad_update.json()["error"]["field"] == "min_samples"


def test_alerts_list_filter_and_show_with_history(client: TestClient, store: Store) -> None:
    add_monitor(store)
    client.post("/api/v1/alert-rules", json=RULE | {"min_samples": 0}).raise_for_status()
    put(store, 0, 0.5)
    put(store, 1, 0.1)
    put(store, 2, 0.6)
    for window in range(3):
        evaluate_rules(store, "churn", start(window))
    everything = client.get("/api/v1/alerts").json()["alerts"]
    assert [a["state"] for a in everything] == ["firing", "resolved"]
    firing = client.get("/api/v1/alerts", params={"state": "firing", "monitor": "churn"})
    (alert,) = firing.json()["alerts"]
    assert (alert["rule"], alert["key"], alert["value"]) == ("drift", "overall", 0.6)
    assert client.get("/api/v1/alerts", params={"monitor": "fraud"}).json() == {"alerts": []}
    bad = client.get("/api/v1/alerts", params={"state": "open"})
    assert bad.status_code == 422
    assert "'open'" in bad.json()["error"]["message"]
    resolved = everything[1]
    detail = client.get(f"/api/v1/alerts/{resolved['id']}").json()
    assert detail["alert"]["resolved_at"] is not None
    assert [e["kind"] for e in detail["history"]] == ["fired", "resolved"]
    assert detail["history"][0]["details"]["value"] == 0.5
    assert client.get("/api/v1/alerts/999").status_code == 404
    assert client.get(f"/api/v1/alerts/{10**20}").status_code == 404
    assert client.get("/api/v1/alerts", params={"monitor": "a\x00b"}).status_code == 422
    assert client.get("/api/v1/alerts/abc").status_code == 422


def test_test_notifications(client: TestClient) -> None:
    only_log = client.post("/api/v1/alerts/test")
    assert only_log.status_code == 200
    assert only_log.json() == {"results": [{"notifier": "log", "ok": True, "error": None}]}
    with receiver() as hook:
        sent = client.post("/api/v1/alerts/test", json={"webhook_url": hook.url})
    assert [r["ok"] for r in sent.json()["results"]] == [True, True]
    assert hook.requests[0].json()["state"] == "test"
    bad = client.post("/api/v1/alerts/test", json={"webhook_url": "mailto:x"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "webhook_url"


def test_a_dead_test_webhook_is_reported_not_a_server_error(store: Store, home: Path) -> None:
    settings = Settings(home=home, alert_webhook_attempts=2, alert_webhook_backoff_s=0)
    with TestClient(create_app(settings, store=store)) as client:
        response = client.post("/api/v1/alerts/test", json={"webhook_url": dead_url()})
    assert response.status_code == 200
    webhook = response.json()["results"][1]
    assert webhook["ok"] is False
    assert "after 2 try(s): ConnectError" in webhook["error"]
