"""The `steward` command on a real store: tables, --json, exit codes, clear errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steward.cli.main import app
from steward.config import Settings
from steward.demo.scenario import run_demo

runner = CliRunner()


@pytest.fixture
def demo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / ".steward"
    monkeypatch.setenv("STEWARD_HOME", str(home))
    run_demo(Settings(), rows=400, echo=lambda _line: None)
    return home


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_listing_commands_as_json(demo_home: Path) -> None:
    code, out = invoke("experiments", "list", "--json")
    assert code == 0
    assert [e["name"] for e in json.loads(out)] == ["churn-demo", "churn"]  # + the retrains
    code, out = invoke("runs", "list", "-e", "churn-demo", "--json")
    assert code == 0
    assert json.loads(out)[0]["status"] == "FINISHED"
    code, out = invoke("models", "versions", "churn", "--json")
    assert code == 0
    # v1 from the demo's run, v2 retrained and promoted by the loop, v3 rolled back
    versions = {v["version"]: v["aliases"] for v in json.loads(out)}
    assert versions == {1: [], 2: ["champion"], 3: []}


def test_tables_for_people(demo_home: Path) -> None:
    code, out = invoke("models", "list")
    assert code == 0
    assert "churn" in out
    code, out = invoke("runs", "show", _first_run())
    assert code == 0
    assert "holdout_auc" in out


def _first_run() -> str:
    return str(json.loads(invoke("runs", "list", "-e", "churn-demo", "--json")[1])[0]["id"])


def test_alias_set_moves_and_is_audited(demo_home: Path) -> None:
    code, out = invoke("models", "alias", "set", "churn", "challenger", "1")
    assert code == 0
    assert "churn@challenger -> version 1" in out
    code, out = invoke("audit", "list", "--json")
    assert any(e["action"] == "model_alias.set" and e["after"] for e in json.loads(out))


def test_audit_verify_catches_a_tampered_row(demo_home: Path) -> None:
    code, out = invoke("audit", "verify")
    assert code == 0
    assert "intact" in out
    with sqlite3.connect(demo_home / "steward.db") as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    code, out = invoke("audit", "verify")
    assert code == 1
    assert "event 1" in out


def test_unknown_model_is_a_clear_error(demo_home: Path) -> None:
    code, out = invoke("models", "versions", "chrun")
    assert code == 2
    assert "did you mean 'churn'" in out
