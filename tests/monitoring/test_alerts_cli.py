"""`steward alerts ...` on a real store: rules from YAML, listing, history, test notifications."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from steward import audit
from steward.cli.main import app
from steward.config import Settings
from steward.monitoring.alerts import evaluate_rules
from steward.store import Store, open_store
from tests.monitoring.alert_support import add_monitor, put, receiver, start

RULES_YAML = """\
rules:
  - name: income-drift
    monitor: churn
    metric: drift.psi
    feature: income
    threshold: 0.2
    min_samples: 0
  - name: auc-floor
    monitor: churn
    metric: perf.roc_auc
    comparator: lt
    threshold: 0.6
    severity: critical
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / ".steward"
    monkeypatch.setenv("STEWARD_HOME", str(home))
    monkeypatch.setenv("STEWARD_ACTOR", "carol")
    for name in list(Settings.model_fields):
        if name.startswith("alert_webhook"):
            monkeypatch.delenv(f"STEWARD_{name.upper()}", raising=False)
    store = open_store(Settings())
    add_monitor(store)
    store.close()
    return home


@pytest.fixture
def local_store(home: Path) -> Any:
    store = open_store(Settings())
    yield store
    store.close()


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["alerts", *args])
    return result.exit_code, result.output


def words(*args: str) -> tuple[int, str]:
    """Like `invoke`, with the terminal's line wrapping undone."""
    code, out = invoke(*args)
    return code, " ".join(out.split())


def test_create_rules_from_yaml_then_list_them(tmp_path: Path, local_store: Store) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML)
    code, out = invoke("rules", "--create", str(path))
    assert code == 0, out
    assert "alert rule income-drift created" in out
    assert "alert rule auc-floor created" in out
    code, out = invoke("rules", "--monitor", "churn", "--json")
    assert code == 0, out
    rules = {rule["name"]: rule for rule in json.loads(out)}
    assert rules["auc-floor"]["comparator"] == "lt"
    assert rules["income-drift"]["feature"] == "income"
    assert rules["income-drift"]["created_by"] == "carol"
    code, out = invoke("rules")
    assert code == 0
    assert "auc-floor" in out
    assert "income-drift" in out
    actions = [e.action for e in audit.list_events(local_store, target_type="alert_rule")]
    assert actions == ["alert_rule.create", "alert_rule.create"]


def test_update_and_delete_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML)
    invoke("rules", "--create", str(path))
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"name": "auc-floor", "threshold": 0.55}))
    code, out = invoke("rules", "--update", str(change))
    assert code == 0, out
    code, out = invoke("rules", "--json")
    assert {r["name"]: r["threshold"] for r in json.loads(out)}["auc-floor"] == 0.55
    code, out = invoke("rules", "--delete", "auc-floor")
    assert code == 0
    assert "alert rule auc-floor deleted" in out
    code, out = words("rules", "--delete", "auc-floor")
    assert code == 2
    assert "no alert rule 'auc-floor'" in out


def test_bad_rule_files_are_one_readable_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmonitor: churn\nmetric: drift.psi\nthreshold: 1\ncomparator: eq\n")
    code, out = words("rules", "--create", str(bad))
    assert code == 2
    assert "comparator" in out
    assert "'eq'" in out
    assert "gt, ge, lt, le" in out
    code, out = words("rules", "--create", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "cannot read rule file" in out
    empty = tmp_path / "empty.yaml"
    empty.write_text("- 1\n- 2\n")
    code, out = words("rules", "--create", str(empty))
    assert code == 2
    assert "holds no rules" in out


def test_list_and_show_alerts(tmp_path: Path, local_store: Store) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML)
    invoke("rules", "--create", str(path))
    put(local_store, 0, 0.5, feature="income")
    evaluate_rules(local_store, "churn", start(0))
    code, out = invoke("list", "--state", "firing", "--json")
    assert code == 0, out
    (alert,) = json.loads(out)
    assert (alert["rule"], alert["key"], alert["state"]) == (
        "income-drift",
        "feature=income",
        "firing",
    )
    code, out = invoke("list", "--state", "resolved", "--json")
    assert json.loads(out) == []
    code, out = invoke("list")
    assert code == 0
    assert "income-drift" in out
    code, out = invoke("show", str(alert["id"]), "--json")
    assert code == 0, out
    assert [e["kind"] for e in json.loads(out)["history"]] == ["fired"]
    code, out = invoke("show", str(alert["id"]))
    assert code == 0
    assert "Alert fired" in out
    code, out = words("list", "--state", "open")
    assert code == 2
    assert "'open'" in out


def test_send_a_test_notification(local_store: Store) -> None:
    code, out = invoke("test")
    assert code == 0
    assert "log: ok" in out
    with receiver([400]) as hook:
        code, out = words("test", "--webhook", hook.url)
    assert code == 1
    assert "webhook http://127.0.0.1:" in out
    assert "FAILED" in out
    assert "HTTP 400" in out
    with receiver() as hook:
        code, out = invoke("test", "--webhook", hook.url, "--json")
    assert code == 0, out
    assert [d["ok"] for d in json.loads(out)] == [True, True]
