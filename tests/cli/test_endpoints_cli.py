"""`steward endpoints ...` on a real store: tables, --json, audited changes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from steward import audit, registry
from steward.cli.endpoints import endpoints_app
from steward.config import Settings
from steward.store import open_store

app = typer.Typer()
app.add_typer(endpoints_app)
app.command("noop", hidden=True)(lambda: None)  # two entries keep "endpoints" a group


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A STEWARD_HOME holding model 'churn' v1-v3, champion -> 1, challenger -> 2."""
    home = tmp_path / ".steward"
    monkeypatch.setenv("STEWARD_HOME", str(home))
    monkeypatch.setenv("STEWARD_ACTOR", "carol")
    rng = np.random.default_rng(3)
    model = LogisticRegression().fit(rng.normal(size=(40, 2)), [0, 1] * 20)
    store = open_store(Settings())
    try:
        for _ in range(3):
            registry.register_model(store, "churn", model, actor="alice")
        registry.set_alias(store, "churn", "champion", 1, actor="alice")
        registry.set_alias(store, "churn", "challenger", 2, actor="alice")
    finally:
        store.close()
    return home


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["endpoints", *args])
    return result.exit_code, result.output


def _json(*args: str) -> Any:
    code, out = invoke(*args, "--json")
    assert code == 0, out
    return json.loads(out)


def test_create_set_traffic_show_and_list(home: Path) -> None:
    code, out = invoke(
        "create", "churn-prod", "--env", "production", "--model", "churn", "--alias", "champion"
    )
    assert code == 0, out
    assert "endpoint churn-prod (revision 1): @champion=100%" in out
    code, out = invoke("set-traffic", "churn-prod", "@champion=90", "@challenger=10")
    assert (code, "revision 2") == (0, out.split("(")[1].split(")")[0])
    shown = _json("show", "churn-prod")
    assert shown["endpoint"]["traffic"] == [
        {"target": "@champion", "weight": 90.0},
        {"target": "@challenger", "weight": 10.0},
    ]
    assert [(t["target"], t["version"]) for t in shown["resolved"]["traffic"]] == [
        ("@champion", 1),
        ("@challenger", 2),
    ]
    assert shown["problem"] is None
    code, out = invoke("show", "churn-prod")
    assert code == 0
    assert "production" in out
    assert "@challenger" in out
    code, out = invoke("list")
    assert code == 0
    assert "churn-prod" in out
    assert "@champion=" in out
    assert [e["name"] for e in _json("list", "--env", "production")] == ["churn-prod"]
    assert _json("list", "--env", "dev") == []


def test_a_pinned_version_and_every_option(home: Path) -> None:
    created = _json(
        "create", "churn-ab", "--env", "staging", "--model", "churn", "--version", "3",
        "--shadow", "@challenger", "--fallback", "@champion", "--fallback", "1",
        "--sticky-key", "customer_id", "--default-response", '{"prediction": 0}',
        "--contract-mode", "warn", "--timeout-ms", "250",
    )  # fmt: skip
    assert created["traffic"] == [{"target": "3", "weight": 100.0}]
    assert (created["shadow"], created["fallback"]) == (["@challenger"], ["@champion", "1"])
    assert (created["sticky_key"], created["default_response"]) == (
        "customer_id",
        {"prediction": 0},
    )
    assert (created["contract_mode"], created["timeout_ms"]) == ("warn", 250)
    assert created["created_by"] == "carol"
    changed = _json("update", "churn-ab", "--no-shadow", "--timeout-ms", "500", "--no-sticky-key")
    assert (changed["shadow"], changed["timeout_ms"], changed["sticky_key"]) == ([], 500, None)
    assert changed["fallback"] == ["@champion", "1"]
    assert changed["revision"] == 2


def test_changes_are_audited_with_the_configured_actor(home: Path) -> None:
    invoke("create", "e", "--env", "dev", "--model", "churn", "--version", "1")
    invoke("set-traffic", "e", "1=50", "2=50%")
    assert invoke("delete", "e") == (0, "endpoint e deleted\n")
    store = open_store(Settings())
    try:
        events = audit.list_events(store, target_type="endpoint")
    finally:
        store.close()
    assert [(e.action, e.actor) for e in events] == [
        ("endpoint.create", "carol"),
        ("endpoint.traffic", "carol"),
        ("endpoint.delete", "carol"),
    ]
    assert events[1].after["traffic"] == [
        {"target": "1", "weight": 50.0},
        {"target": "2", "weight": 50.0},
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "x", "--env", "prod", "--model", "churn", "--alias", "champion"),
         "environment 'prod' is unknown; use one of dev, staging, production"),
        (("create", "x", "--env", "dev", "--model", "chrun", "--alias", "champion"),
         "did you mean 'churn'"),
        (("create", "x", "--env", "dev", "--model", "churn"), "exactly one of alias"),
        (("create", "x", "--env", "dev", "--model", "churn", "--alias", "nope"),
         "has no alias 'nope'"),
        (("create", "x", "--env", "dev", "--model", "churn", "--version", "1",
          "--default-response", "{oops"), "is not JSON"),
        (("set-traffic", "x", "@champion=100"), "no endpoint 'x'"),
        (("show", "x"), "list them: steward endpoints list"),
    ],
)  # fmt: skip
def test_refusals_are_one_clear_line(home: Path, args: tuple[str, ...], message: str) -> None:
    code, out = invoke(*args)
    assert code == 2
    assert message in " ".join(out.split())


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        (("@champion=90",), "sum to 90, not 100"),
        (("@champion",), "is not TARGET=PERCENT"),
        (("@champion=ninety",), "is not TARGET=PERCENT"),
        (("@champion=50", "@gone=50"), "no alias 'gone'"),
    ],
)
def test_bad_splits_change_nothing(home: Path, splits: tuple[str, ...], message: str) -> None:
    invoke("create", "e", "--env", "dev", "--model", "churn", "--alias", "champion")
    code, out = invoke("set-traffic", "e", *splits)
    assert code == 2
    assert message in " ".join(out.split())
    assert _json("show", "e")["endpoint"]["revision"] == 1


def test_show_still_works_when_an_alias_was_deleted(home: Path) -> None:
    invoke("create", "e", "--env", "dev", "--model", "churn", "--alias", "challenger")
    store = open_store(Settings())
    try:
        registry.delete_alias(store, "churn", "challenger", actor="alice")
    finally:
        store.close()
    shown = _json("show", "e")
    assert shown["resolved"] is None
    assert "has no alias 'challenger' any more" in shown["problem"]
    code, out = invoke("show", "e")
    assert code == 0
    assert "unresolved" in out
