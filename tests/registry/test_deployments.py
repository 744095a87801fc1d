"""Deployment records per environment: history, what runs where now, audit, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from steward import audit, registry
from steward.errors import InvalidInput, NotFound
from steward.store import Store


@pytest.fixture
def churn(store: Store, version_fields: dict[str, Any]) -> str:
    for _ in range(2):
        registry.create_version(store, "churn", **version_fields, actor="alice")
    return "churn"


def test_deployments_per_environment(store: Store, churn: str) -> None:
    registry.record_deployment(store, churn, 1, "dev", actor="alice", note="smoke test")
    registry.record_deployment(store, churn, 1, "staging", actor="bob")
    latest = registry.record_deployment(store, churn, 2, "dev", actor="carol", note="retrained")
    assert (latest.version, latest.environment, latest.deployed_by, latest.note) == (
        2,
        "dev",
        "carol",
        "retrained",
    )
    assert latest.deployed_at.tzinfo is not None
    current = registry.current_deployments(store, churn)
    assert {env: d.version for env, d in current.items()} == {"dev": 2, "staging": 1}
    history = registry.list_deployments(store, name=churn)
    assert [(d.environment, d.version) for d in history] == [
        ("dev", 2),
        ("staging", 1),
        ("dev", 1),
    ]
    assert [d.version for d in registry.list_deployments(store, environment="dev")] == [2, 1]
    events = audit.list_events(store, action="deployment.record")
    assert [(e.target_id, e.before, e.after) for e in events] == [
        ("churn:dev", None, {"version": 1, "note": "smoke test"}),
        ("churn:staging", None, {"version": 1, "note": ""}),
        ("churn:dev", {"version": 1}, {"version": 2, "note": "retrained"}),
    ]


def test_an_unknown_environment_lists_the_accepted_ones(
    store: Store, churn: str, state: Any
) -> None:
    before = state()
    with pytest.raises(InvalidInput) as caught:
        registry.record_deployment(store, churn, 1, "prod", actor="a")
    assert caught.value.message == (
        "environment 'prod' is unknown; use one of dev, staging, production"
    )
    assert caught.value.field == "environment"
    assert state() == before


def test_environments_are_configurable(store: Store, churn: str) -> None:
    deployment = registry.record_deployment(
        store, churn, 1, "eu-prod", actor="a", environments=("eu-prod", "us-prod")
    )
    assert deployment.environment == "eu-prod"
    with pytest.raises(InvalidInput, match="use one of eu-prod, us-prod"):
        registry.record_deployment(
            store, churn, 1, "dev", actor="a", environments=("eu-prod", "us-prod")
        )


def test_unknown_model_or_version_records_nothing(store: Store, churn: str, state: Any) -> None:
    before = state()
    with pytest.raises(NotFound, match="has no version 7; its versions are 1 to 2"):
        registry.record_deployment(store, churn, 7, "dev", actor="a")
    with pytest.raises(NotFound, match="no registered model 'fraud'"):
        registry.record_deployment(store, "fraud", 1, "dev", actor="a")
    with pytest.raises(NotFound, match="no registered model 'fraud'"):
        registry.current_deployments(store, "fraud")
    with pytest.raises(InvalidInput, match="note"):
        registry.record_deployment(store, churn, 1, "dev", actor="a", note="x" * 10_001)
    assert state() == before


def test_every_change_writes_one_audit_event(store: Store, version_fields: dict[str, Any]) -> None:
    registry.create_model(store, "churn", actor="alice")
    registry.create_version(store, "churn", **version_fields, actor="alice")
    registry.create_version(store, "fraud", **version_fields, actor="bob")
    registry.set_alias(store, "churn", "champion", 1, actor="alice")
    registry.record_deployment(store, "churn", 1, "production", actor="carol")
    registry.delete_alias(store, "churn", "champion", actor="alice")
    events = audit.list_events(store)
    assert [(e.action, e.target_type, e.target_id, e.actor) for e in events] == [
        ("model.create", "model", "churn", "alice"),
        ("model_version.create", "model_version", "churn/1", "alice"),
        ("model.create", "model", "fraud", "bob"),
        ("model_version.create", "model_version", "fraud/1", "bob"),
        ("model_alias.set", "model_alias", "churn@champion", "alice"),
        ("deployment.record", "deployment", "churn:production", "carol"),
        ("model_alias.delete", "model_alias", "churn@champion", "alice"),
    ]
    assert events[1].after["artifact_digest"] == version_fields["artifact_digest"]
    assert audit.verify(store).checked == len(events)
