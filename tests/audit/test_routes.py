"""GET /api/v1/audit and /api/v1/audit/verify."""

from __future__ import annotations

from fastapi.testclient import TestClient

from steward import audit
from steward.store import Store
from steward.store.tables import audit_events


def _append(store: Store, count: int) -> None:
    with store.db.write() as conn:
        for i in range(count):
            audit.record(
                conn,
                at_ms=1_000 * i,
                actor="alice",
                action="model_alias.set",
                target_type="model_alias",
                target_id=f"churn@{'champion' if i % 2 else 'challenger'}",
                before={"version": i} if i else None,
                after={"version": i + 1},
            )


def test_list_filters_and_pages(client: TestClient, store: Store) -> None:
    _append(store, 5)
    body = client.get("/api/v1/audit", params={"limit": 2}).json()
    assert [event["seq"] for event in body["events"]] == [1, 2]
    assert body["events"][1]["before"] == {"version": 1}
    assert body["events"][0]["at"].startswith("1970-01-01T00:00:00")
    after = body["next_after_seq"]
    body = client.get("/api/v1/audit", params={"after_seq": after, "limit": 2}).json()
    assert [event["seq"] for event in body["events"]] == [3, 4]
    body = client.get("/api/v1/audit", params={"target_id": "churn@champion"}).json()
    assert [event["seq"] for event in body["events"]] == [2, 4]
    assert body["next_after_seq"] is None


def test_list_refuses_bad_paging(client: TestClient) -> None:
    response = client.get("/api/v1/audit", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "limit"
    assert client.get("/api/v1/audit", params={"limit": "many"}).status_code == 422


def test_verify_reports_intact_then_the_first_broken_event(
    client: TestClient, store: Store
) -> None:
    _append(store, 4)
    body = client.get("/api/v1/audit/verify").json()
    assert body["is_intact"] is True
    assert (body["checked"], body["head_seq"]) == (4, 4)
    head = {"anchor_seq": body["head_seq"], "anchor_hash": body["head_hash"]}
    with store.db.write() as conn:
        conn.execute(audit_events.update().where(audit_events.c.seq == 2).values(actor="eve"))
    body = client.get("/api/v1/audit/verify").json()
    assert (body["is_intact"], body["first_broken_seq"]) == (False, 2)
    assert "altered" in body["reason"]
    assert client.get("/api/v1/audit/verify", params=head).json()["first_broken_seq"] == 2


def test_verify_with_an_anchor_sees_deleted_newest_events(client: TestClient, store: Store) -> None:
    _append(store, 3)
    head = client.get("/api/v1/audit/verify").json()
    with store.db.write() as conn:
        conn.execute(audit_events.delete().where(audit_events.c.seq == 3))
    params = {"anchor_seq": head["head_seq"], "anchor_hash": head["head_hash"]}
    body = client.get("/api/v1/audit/verify", params=params).json()
    assert (body["is_intact"], body["first_broken_seq"]) == (False, 3)


def test_verify_needs_both_halves_of_an_anchor(client: TestClient) -> None:
    response = client.get("/api/v1/audit/verify", params={"anchor_seq": 3})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "anchor_hash"
