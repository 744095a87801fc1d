"""Promotion, policies and approvals over the REST API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from steward import registry
from steward.cli.main import app as cli
from steward.config import Settings
from steward.store import Store, open_store
from tests.registry.test_policies import POLICY, _register

runner = CliRunner()


@pytest.fixture
def api(store: Store, home: Path) -> Iterator[TestClient]:
    from steward.server.app import create_app

    settings = Settings(home=home, actor="tester", scheduler_enabled=False, approvers=["alice"])
    with TestClient(create_app(settings, store=store)) as client:
        yield client


def test_policy_approval_and_promotion_over_http(api: TestClient, store: Store) -> None:
    first, second = _register(store, seed=1), _register(store, seed=2)
    policy = {"checks": [{"metric_floor": {"metric": "roc_auc", "min": 0.99}}]}
    policy["approvals"] = {"count": 1}  # type: ignore[assignment]
    put = api.put("/api/v1/models/churn/policies/production", json={"document": policy})
    assert put.status_code == 200, put.text
    assert api.get("/api/v1/models/churn/policies/production").json()["version"] == 1
    url = f"/api/v1/models/churn/versions/{first}"
    denied = api.post(f"{url}/approvals", json={"environment": "production"})
    assert denied.status_code == 403
    ok = api.post(
        f"{url}/approvals", json={"environment": "production"}, headers={"x-steward-actor": "alice"}
    )
    assert ok.status_code == 201, ok.text
    assert [a["approver"] for a in api.get("/api/v1/approvals").json()["approvals"]] == ["alice"]
    refused = api.post(f"{url}/promote", json={"to": "production"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["type"] == "policy_violation"
    assert error["details"][0]["threshold"] == 0.99
    relaxed = {"checks": [], "approvals": {"count": 1}}
    api.put("/api/v1/models/churn/policies/production", json={"document": relaxed})
    dry = api.post(f"{url}/promote", json={"to": "production", "dry_run": True}).json()
    assert (dry["passed"], dry["promoted"]) == (True, False)
    done = api.post(f"{url}/promote", json={"to": "production"})
    assert done.status_code == 200
    assert done.json()["promoted"]
    assert registry.get_alias(store, "churn", "champion").version == first
    unapproved = api.post(
        f"/api/v1/models/churn/versions/{second}/promote", json={"to": "production"}
    )
    assert unapproved.status_code == 409


def test_policy_approval_and_promotion_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / ".steward"))
    monkeypatch.setenv("STEWARD_APPROVERS", '["alice", "bob"]')
    monkeypatch.setenv("STEWARD_ACTOR", "alice")
    store = open_store(Settings())
    try:
        first, second = _register(store, seed=1), _register(store, seed=2, noise=2.0)
    finally:
        store.close()
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY.replace("count: 2", "count: 1"))
    result = runner.invoke(
        cli, ["models", "policy", "set", "churn", "--env", "production", "--file", str(policy_file)]
    )
    assert result.exit_code == 0, result.output
    shown = runner.invoke(cli, ["models", "policy", "show", "churn", "--env", "production"])
    assert "metric_vs_champion" in shown.output
    for version in (first, second):
        approved = runner.invoke(
            cli, ["approvals", "approve", "churn", str(version), "--env", "production"]
        )
        assert approved.exit_code == 0, approved.output
    listed = runner.invoke(cli, ["approvals", "list", "churn", "--json"])
    assert [a["version"] for a in json.loads(listed.output)] == [first, second]
    promoted = runner.invoke(cli, ["models", "promote", "churn", str(first), "--to", "production"])
    assert promoted.exit_code == 0, promoted.output
    assert "promoted: churn@champion None -> 1" in promoted.output
    refused = runner.invoke(
        cli, ["models", "promote", "churn", str(second), "--to", "production", "--json"]
    )
    assert refused.exit_code == 2
    assert "metric_floor[roc_auc]" in refused.output
    dry = runner.invoke(
        cli, ["models", "promote", "churn", str(second), "--to", "production", "--dry-run"]
    )
    assert dry.exit_code == 2
    assert "refused:" in dry.output
