"""Endpoints: create, change, resolve, delete; each change revised and audited, on both backends."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from steward import audit, registry
from steward.errors import Conflict, InvalidInput, NotFound, StewardError
from steward.registry.endpoints import update_endpoint
from steward.registry.entities import TrafficTarget
from steward.store import Store, tables

PROD = "production"


@pytest.fixture
def churn(store: Store, version_fields: dict[str, Any]) -> str:
    """Model 'churn' with versions 1 to 3; champion -> 1, challenger -> 2."""
    for _ in range(3):
        registry.create_version(store, "churn", **version_fields, actor="alice")
    registry.set_alias(store, "churn", "champion", 1, actor="alice")
    registry.set_alias(store, "churn", "challenger", 2, actor="alice")
    return "churn"


@pytest.fixture
def endpoint(store: Store, churn: str) -> str:
    registry.create_endpoint(
        store, "churn-prod", environment=PROD, model_name=churn, alias="champion", actor="alice"
    )
    return "churn-prod"


@pytest.fixture
def snapshot(store: Store) -> Any:
    """Every endpoint row, alias row and audit event: proof that a refused call wrote nothing."""

    def take() -> dict[str, list[tuple[str, ...]]]:
        with store.db.read() as conn:
            return {
                name: sorted(
                    tuple(map(str, row))
                    for row in conn.execute(sa.select(tables.metadata.tables[name]))
                )
                for name in ("endpoints", "model_aliases", "audit_events")
            }

    return take


def _events(store: Store) -> list[tuple[str, Any, Any]]:
    found = audit.list_events(store, target_type="endpoint", limit=1000)
    return [(e.action, e.before, e.after) for e in found]


def test_create_show_and_list(store: Store, churn: str) -> None:
    created = registry.create_endpoint(
        store, "churn-prod", environment=PROD, model_name=churn, alias="champion", actor="alice"
    )
    assert created.traffic == (TrafficTarget("@champion", 100.0),)
    assert (created.revision, created.created_by, created.contract_mode) == (1, "alice", "reject")
    assert (created.shadow, created.fallback, created.sticky_key) == ((), (), None)
    assert (created.timeout_ms, created.default_response) == (1000, None)
    assert registry.get_endpoint(store, "churn-prod") == created
    pinned = registry.create_endpoint(
        store, "churn-dev", environment="dev", model_name=churn, version=3, actor="bob"
    )
    assert pinned.traffic == (TrafficTarget("3", 100.0),)
    assert [e.name for e in registry.list_endpoints(store)] == ["churn-dev", "churn-prod"]
    assert registry.list_endpoints(store, PROD) == [created]
    assert registry.list_endpoints(store, "staging") == []
    assert _events(store)[0][0] == "endpoint.create"
    assert _events(store)[0][2]["traffic"] == [{"target": "@champion", "weight": 100.0}]


def test_every_option_at_creation(store: Store, churn: str) -> None:
    created = registry.create_endpoint(
        store,
        "ab",
        environment="staging",
        model_name=churn,
        traffic={"@champion": 50, "@challenger": 50},
        shadow=["03"],
        sticky_key="customer_id",
        fallback=["1", "@champion"],
        default_response={"prediction": 0},
        contract_mode="warn",
        timeout_ms=250,
        actor="alice",
    )
    assert registry.get_endpoint(store, "ab") == created
    assert created.shadow == ("3",)  # targets are stored in one spelling
    assert created.targets == ("@champion", "@challenger", "3", "1")
    resolved = registry.resolve_endpoint(store, "ab")
    assert [(t.target, t.weight, t.version.version) for t in resolved.traffic] == [
        ("@champion", 50.0, 1),
        ("@challenger", 50.0, 2),
    ]
    assert [(t.target, t.version.version) for t in resolved.shadow] == [("3", 3)]
    assert [(t.target, t.version.version) for t in resolved.fallback] == [
        ("1", 1),
        ("@champion", 1),
    ]
    assert [v.version for v in resolved.versions] == [1, 2, 3]
    assert (resolved.name, resolved.revision) == ("ab", 1)


def test_changes_bump_the_revision_and_are_audited(store: Store, endpoint: str) -> None:
    moved = registry.set_traffic(
        store,
        endpoint,
        [TrafficTarget("@champion", 90), TrafficTarget("@challenger", 10)],
        actor="b",
    )
    assert (moved.revision, moved.traffic[1]) == (2, TrafficTarget("@challenger", 10.0))
    changed = update_endpoint(store, endpoint, actor="c", shadow=["3"], timeout_ms=500)
    assert (changed.revision, changed.shadow, changed.timeout_ms) == (3, ("3",), 500)
    assert changed.updated_at >= changed.created_at
    cleared = update_endpoint(store, endpoint, actor="c", sticky_key="user", default_response=[1])
    cleared = update_endpoint(store, endpoint, actor="c", sticky_key=None, default_response=None)
    assert (cleared.revision, cleared.sticky_key, cleared.default_response) == (5, None, None)
    registry.delete_endpoint(store, endpoint, actor="d")
    events = _events(store)
    assert [action for action, _, _ in events] == [
        "endpoint.create",
        "endpoint.traffic",
        "endpoint.update",
        "endpoint.update",
        "endpoint.update",
        "endpoint.delete",
    ]
    assert events[1][1:] == (
        {"traffic": [{"target": "@champion", "weight": 100.0}], "revision": 1},
        {
            "traffic": [
                {"target": "@champion", "weight": 90.0},
                {"target": "@challenger", "weight": 10.0},
            ],
            "revision": 2,
        },
    )
    # An update names only the fields that changed.
    assert events[2][1:] == (
        {"shadow": [], "timeout_ms": 1000, "revision": 2},
        {"shadow": ["3"], "timeout_ms": 500, "revision": 3},
    )
    assert (events[5][1]["revision"], events[5][2]) == (5, None)
    assert [e.actor for e in audit.list_events(store, target_type="endpoint")][-1] == "d"
    assert audit.verify(store).is_intact


def test_a_change_to_what_is_already_there_writes_nothing(
    store: Store, endpoint: str, snapshot: Any
) -> None:
    before = snapshot()
    same = registry.set_traffic(store, endpoint, {"@champion": 100.0}, actor="b")
    assert same.revision == 1
    assert update_endpoint(store, endpoint, actor="b", timeout_ms=1000).revision == 1
    assert update_endpoint(store, endpoint, actor="b").revision == 1
    assert snapshot() == before


def test_an_alias_move_changes_the_fingerprint_but_not_the_revision(
    store: Store, churn: str, endpoint: str
) -> None:
    first = registry.resolve_endpoint(store, endpoint)
    assert registry.resolve_endpoint(store, endpoint).fingerprint == first.fingerprint
    assert len(first.fingerprint) == 64
    registry.set_alias(store, churn, "champion", 3, actor="alice")
    moved = registry.resolve_endpoint(store, endpoint)
    assert (moved.revision, moved.traffic[0].version.version) == (1, 3)
    assert moved.fingerprint != first.fingerprint
    registry.set_alias(store, churn, "champion", 1, actor="alice")
    assert registry.resolve_endpoint(store, endpoint).fingerprint == first.fingerprint
    update_endpoint(store, endpoint, actor="b", timeout_ms=200)
    changed = registry.resolve_endpoint(store, endpoint)
    assert changed.revision == 2
    assert changed.fingerprint not in {first.fingerprint, moved.fingerprint}


BAD_CREATIONS: list[tuple[dict[str, Any], type[StewardError], str, str]] = [
    ({"traffic": {"@champion": 90}}, InvalidInput, "traffic", "sum to 90, not 100"),
    ({"traffic": {"@champion": 110, "1": -10}}, InvalidInput, "traffic[0].weight", "0 to 100"),
    ({"traffic": {"@champion": float("nan")}}, InvalidInput, "traffic[0].weight", "0 to 100"),
    ({"traffic": {"3": 50, "03": 50}}, InvalidInput, "traffic", "names 3 more than once"),
    ({"traffic": {}}, InvalidInput, "traffic", "has 0 targets"),
    ({"traffic": {"champion": 100}}, InvalidInput, "traffic[0].target", "'@ALIAS'"),
    ({"traffic": {"@latest": 100}}, InvalidInput, "traffic[0].target", "reserved"),
    ({"traffic": {"0": 100}}, InvalidInput, "traffic[0].target", "not a target"),
    ({"traffic": "@champion"}, InvalidInput, "traffic", "must be a list"),
    ({"traffic": {"@champ": 100}}, NotFound, "traffic[0].target", "did you mean 'champion'"),
    ({"traffic": {"9": 100}}, NotFound, "traffic[0].target", "its versions are 1 to 3"),
    ({"alias": "champion", "version": 1}, InvalidInput, "traffic", "got alias, version"),
    ({}, InvalidInput, "traffic", "got none"),
    ({"version": 0}, InvalidInput, "version", "whole numbers from 1"),
    ({"alias": "nope"}, NotFound, "traffic[0].target", "has no alias 'nope'"),
    ({"alias": "champion", "shadow": ["@nope"]}, NotFound, "shadow[0]", "no alias 'nope'"),
    ({"alias": "champion", "shadow": "@challenger"}, InvalidInput, "shadow", "list of targets"),
    ({"alias": "champion", "fallback": ["1", "1"]}, InvalidInput, "fallback", "more than once"),
    ({"alias": "champion", "fallback": ["7"]}, NotFound, "fallback[0]", "no version 7"),
    ({"alias": "champion", "contract_mode": "drop"}, InvalidInput, "contract_mode", "reject"),
    ({"alias": "champion", "timeout_ms": 0}, InvalidInput, "timeout_ms", "1 to 600000"),
    ({"alias": "champion", "timeout_ms": True}, InvalidInput, "timeout_ms", "1 to 600000"),
    ({"alias": "champion", "sticky_key": " "}, InvalidInput, "sticky_key", "1 to 256"),
    (
        {"alias": "champion", "default_response": float("inf")},
        InvalidInput,
        "default_response",
        "JSON",
    ),
    (
        {"alias": "champion", "environment": "prod"},
        InvalidInput,
        "environment",
        "dev, staging, production",
    ),
    ({"alias": "champion", "model_name": "chrun"}, NotFound, "model_name", "did you mean 'churn'"),
    ({"alias": "champion", "name": "has space"}, InvalidInput, "name", "endpoint name"),
    ({"alias": "champion", "actor": ""}, InvalidInput, "actor", "actor"),
]


@pytest.mark.parametrize(("change", "error", "field", "message"), BAD_CREATIONS)
def test_bad_creations_are_refused_and_nothing_is_written(
    store: Store,
    churn: str,
    snapshot: Any,
    change: dict[str, Any],
    error: type[StewardError],
    field: str,
    message: str,
) -> None:
    arguments: dict[str, Any] = {
        "name": "churn-prod",
        "environment": PROD,
        "model_name": churn,
        "actor": "alice",
        **change,
    }
    before = snapshot()
    with pytest.raises(error, match=message) as caught:
        registry.create_endpoint(store, arguments.pop("name"), **arguments)
    assert type(caught.value) is error
    assert caught.value.field == field
    assert snapshot() == before


def test_a_taken_name_is_a_conflict(store: Store, endpoint: str, snapshot: Any) -> None:
    before = snapshot()
    with pytest.raises(Conflict, match="endpoint 'churn-prod' already exists"):
        registry.create_endpoint(
            store, endpoint, environment="dev", model_name="churn", version=2, actor="bob"
        )
    assert snapshot() == before


def test_configured_environments_are_the_accepted_ones(store: Store, churn: str) -> None:
    with pytest.raises(InvalidInput, match="use one of blue, green"):
        registry.create_endpoint(
            store,
            "x",
            environment=PROD,
            model_name=churn,
            alias="champion",
            actor="a",
            environments=("blue", "green"),
        )
    created = registry.create_endpoint(
        store,
        "x",
        environment="blue",
        model_name=churn,
        alias="champion",
        actor="a",
        environments=("blue", "green"),
    )
    assert created.environment == "blue"


def _set(split: Any, name: str = "churn-prod") -> Any:
    return lambda store: registry.set_traffic(store, name, split, actor="b")


def _update(**changes: Any) -> Any:
    return lambda store: update_endpoint(store, "churn-prod", actor="b", **changes)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (_set({"@champion": 50}), InvalidInput, "sum to 50"),
        (_set({"@gone": 100}), NotFound, "no alias 'gone'"),
        (_set({"1": 100}, name="churn-prd"), NotFound, "did you mean 'churn-prod'"),
        (_update(traffic={"1": 100}), InvalidInput, "traffic: set_traffic"),
        (_update(environment="dev"), InvalidInput, "accepted: shadow"),
        (_update(shadow=None), InvalidInput, "list of targets"),
        (_update(fallback=["9"]), NotFound, "no version 9"),
        (lambda s: registry.delete_endpoint(s, "nope", actor="b"), NotFound, "no endpoint 'nope'"),
        (lambda s: registry.get_endpoint(s, "nope"), NotFound, "steward endpoints list"),
        (lambda s: registry.resolve_endpoint(s, "nope"), NotFound, "no endpoint 'nope'"),
    ],
)
def test_bad_changes_are_refused_and_nothing_is_written(
    store: Store, endpoint: str, snapshot: Any, call: Any, error: type[Exception], match: str
) -> None:
    before = snapshot()
    with pytest.raises(error, match=match):
        call(store)
    assert snapshot() == before
    assert registry.get_endpoint(store, endpoint).revision == 1


def test_a_deleted_alias_is_reported_and_the_endpoint_can_be_repaired(
    store: Store, churn: str, endpoint: str
) -> None:
    update_endpoint(store, endpoint, actor="b", shadow=["@challenger"])
    registry.delete_alias(store, churn, "challenger", actor="alice")
    with pytest.raises(NotFound, match="routes to @challenger but model 'churn' has no alias"):
        registry.resolve_endpoint(store, endpoint)
    # Only the targets being written must exist, so unrelated changes still go through.
    registry.set_traffic(store, endpoint, {"2": 100}, actor="b")
    update_endpoint(store, endpoint, actor="b", shadow=[])
    resolved = registry.resolve_endpoint(store, endpoint)
    assert [v.version for v in resolved.versions] == [2]


def test_a_deleted_endpoint_is_gone_and_its_name_free(store: Store, endpoint: str) -> None:
    registry.delete_endpoint(store, endpoint, actor="b")
    assert registry.list_endpoints(store) == []
    with pytest.raises(NotFound):
        registry.get_endpoint(store, endpoint)
    again = registry.create_endpoint(
        store, endpoint, environment="dev", model_name="churn", version=1, actor="c"
    )
    assert again.revision == 1


def test_concurrent_traffic_changes_each_get_their_own_revision(
    store: Store, endpoint: str
) -> None:
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def shift(share: int) -> None:
        start.wait(timeout=30)
        try:
            split = {"@champion": 100 - share, "@challenger": share}
            registry.set_traffic(store, endpoint, split, actor=f"w{share}")
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=shift, args=(share,)) for share in (5, 10, 15, 20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    events = [e for e in _events(store) if e[0] == "endpoint.traffic"]
    # Each change saw the one before it: revisions 1..4 before, 2..5 after, none lost.
    assert [before["revision"] for _, before, _ in events] == [1, 2, 3, 4]
    assert [before["traffic"] for _, before, _ in events[1:]] == [
        after["traffic"] for _, _, after in events[:-1]
    ]
    assert registry.get_endpoint(store, endpoint).revision == 5
    assert audit.verify(store).is_intact


# REST -----------------------------------------------------------------------------------


def _create(client: TestClient, **body: Any) -> Any:
    payload = {"name": "churn-prod", "environment": PROD, "model_name": "churn", **body}
    return client.post("/api/v1/endpoints", json=payload, headers={"x-steward-actor": "alice"})


def test_endpoints_over_http(client: TestClient, churn: str) -> None:
    created = _create(client, alias="champion")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["traffic"] == [{"target": "@champion", "weight": 100.0}]
    assert (body["revision"], body["created_by"]) == (1, "alice")
    assert client.get("/api/v1/endpoints").json() == {"endpoints": [body]}
    assert client.get("/api/v1/endpoints", params={"environment": "dev"}).json()["endpoints"] == []
    assert client.get("/api/v1/endpoints/churn-prod").json() == body

    split = {"traffic": [{"target": "@champion", "weight": 90}, {"target": "2", "weight": 10}]}
    moved = client.put("/api/v1/endpoints/churn-prod/traffic", json=split)
    assert (moved.status_code, moved.json()["revision"]) == (200, 2)
    patched = client.patch(
        "/api/v1/endpoints/churn-prod",
        json={"shadow": ["@challenger"], "default_response": {"prediction": 0}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["shadow"] == ["@challenger"]
    assert patched.json()["sticky_key"] is None
    cleared = client.patch("/api/v1/endpoints/churn-prod", json={"default_response": None})
    assert (cleared.json()["default_response"], cleared.json()["shadow"]) == (None, ["@challenger"])

    resolved = client.get("/api/v1/endpoints/churn-prod/resolved").json()
    assert (resolved["name"], resolved["revision"]) == ("churn-prod", 4)
    assert [(t["target"], t["weight"], t["version"]["version"]) for t in resolved["traffic"]] == [
        ("@champion", 90.0, 1),
        ("2", 10.0, 2),
    ]
    assert resolved["shadow"][0]["version"]["uri"] == "models:/churn/2"
    assert len(resolved["fingerprint"]) == 64

    assert client.delete("/api/v1/endpoints/churn-prod").status_code == 204
    assert client.get("/api/v1/endpoints/churn-prod").status_code == 404
    actions = [e["action"] for e in client.get("/api/v1/audit").json()["events"]]
    assert [a for a in actions if a.startswith("endpoint.")] == [
        "endpoint.create",
        "endpoint.traffic",
        "endpoint.update",
        "endpoint.update",
        "endpoint.delete",
    ]


def test_refusals_over_http_name_their_field(client: TestClient, churn: str) -> None:
    bad_weights = _create(client, traffic=[{"target": "@champion", "weight": 60}])
    assert (bad_weights.status_code, bad_weights.json()["error"]["field"]) == (422, "traffic")
    unknown = _create(client, alias="nope")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["field"] == "traffic[0].target"
    bad_env = _create(client, alias="champion", environment="qa")
    assert bad_env.status_code == 422
    assert "dev, staging, production" in bad_env.json()["error"]["message"]
    assert _create(client, alias="champion").status_code == 201
    assert _create(client, alias="champion").status_code == 409
    missing = client.get("/api/v1/endpoints/churn-prd")
    assert missing.status_code == 404
    assert "did you mean 'churn-prod'" in missing.json()["error"]["message"]


NEW = {"name": "x", "environment": PROD, "model_name": "churn"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/endpoints", {"name": "x", "environment": PROD}),
        ("post", "/api/v1/endpoints", {**NEW, "colour": 1}),
        ("post", "/api/v1/endpoints", {**NEW, "version": "two"}),
        ("put", "/api/v1/endpoints/x/traffic", {"traffic": [{"target": "@a", "weight": "ninety"}]}),
        ("put", "/api/v1/endpoints/x/traffic", {"traffic": [{"target": "@a"}]}),
        ("put", "/api/v1/endpoints/x/traffic", None),
        ("patch", "/api/v1/endpoints/x", {"traffic": []}),
        ("patch", "/api/v1/endpoints/x", {"timeout_ms": "soon"}),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite"])  # refused by FastAPI before any SQL runs
def test_malformed_endpoint_requests_are_422(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 422
    assert client.get("/api/v1/audit").json()["events"] == []
