"""`steward pipelines run`: one run, a fleet with a failing tenant, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steward.cli.main import app

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / ".steward"))
    path = tmp_path / "pipeline.yaml"
    path.write_text("params:\n  rows: 300\n  C: 0.5\ntenant_key: store_id\n")
    return path


def test_run_once_then_cached(config: Path) -> None:
    args = ["pipelines", "run", "tests.pipelines.example:churn", "--config", str(config)]
    first = runner.invoke(app, [*args, "--executor", "inline"])
    assert first.exit_code == 0, first.output
    assert "registered churn version 1" in first.output
    again = runner.invoke(app, [*args, "--executor", "inline", "--json"])
    assert again.exit_code == 0, again.output
    assert [s["status"] for s in json.loads(again.output)] == ["cached"] * 3


def test_fleet_with_a_failing_tenant_exits_1(config: Path) -> None:
    result = runner.invoke(
        app,
        [
            *("pipelines", "run", "tests.pipelines.example:shops", "--config", str(config)),
            *("--executor", "inline", "--tenant", "0", "--tenant", "99", "--json"),
        ],
    )
    assert result.exit_code == 1
    rows = {r["tenant"]: r for r in json.loads(result.output)}
    assert rows["0"]["error"] is None
    assert rows["0"]["model_name"] == "shops-0"
    assert "no rows for store '99'" in rows["99"]["error"]


def test_errors_are_one_clear_line(config: Path) -> None:
    result = runner.invoke(
        app, ["pipelines", "run", "tests.pipelines.example:nothing", "--config", str(config)]
    )
    assert result.exit_code == 2
    assert "has no attribute 'nothing'" in result.output
    result = runner.invoke(
        app,
        ["pipelines", "run", "tests.pipelines.example:churn", "-c", str(config), "--executor", "x"],
    )
    assert result.exit_code == 2
    assert "executor 'x' is not known" in result.output
