"""`steward labels ...` on a real store and prediction log: files in, summaries and history out."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from steward import registry
from steward.cli.main import app
from steward.config import Settings
from steward.predictions import LabelStore, PredictionLog, compact
from steward.store import open_store
from tests.predictions.records import make_record

# Ids that look like numbers: a reader that guesses types would drop the leading zeros.
IDS = [f"{i:06d}" for i in range(12)]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A STEWARD_HOME with endpoint 'churn' and its predictions `IDS` in the log."""
    home = tmp_path / ".steward"
    monkeypatch.setenv("STEWARD_HOME", str(home))
    monkeypatch.setenv("STEWARD_LABEL_BATCH_MAX", "5")
    monkeypatch.delenv("STEWARD_TRACKING_URL", raising=False)
    settings = Settings()
    rng = np.random.default_rng(3)
    model = LogisticRegression().fit(rng.normal(size=(40, 2)), [0, 1] * 20)
    store = open_store(settings)
    try:
        registry.register_model(store, "churn", model, actor="alice")
        registry.create_endpoint(
            store, "churn", environment="production", model_name="churn", version=1, actor="bob"
        )
    finally:
        store.close()
    log = PredictionLog(settings.resolved_predictions_dir, compact_on_start=False)
    log.append([replace(make_record(i + 1), prediction_id=pid) for i, pid in enumerate(IDS)])
    log.close()
    compact(settings.resolved_predictions_dir)
    return home


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["labels", *args])
    return result.exit_code, result.output


def store(home: Path) -> LabelStore:
    return LabelStore(home / "predictions")


def test_ingest_a_csv_in_chunks_then_show(home: Path, tmp_path: Path) -> None:
    lines = ["prediction_id,label,outcome_revenue,cost,note"]
    lines += [f"{pid},{i % 2},{i}.5,{i},x" for i, pid in enumerate(IDS)]
    lines += ["999999,1,,,unknown"]
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(lines) + "\n")

    code, out = invoke("ingest", str(path), "--endpoint", "churn", "--outcome", "cost")
    show_code, shown = invoke("show", "000003", "--endpoint", "churn")
    _, as_json = invoke("show", "000003", "--endpoint", "churn", "--json")

    assert code == 0, out
    assert "stored 13 labels for endpoint 'churn': 0 relabelled, 1 for predictions not" in out
    assert "unknown prediction ids: 999999" in out
    files = sorted((home / "predictions" / "labels" / "endpoint=churn").glob("*.parquet"))
    assert len(files) == 3  # 5 + 5 + 3
    [record] = store(home).history("churn", "000003")
    assert (record.label, record.outcomes) == (1.0, {"revenue": 3.5, "cost": 3.0})
    assert show_code == 0, shown
    assert "revenue=3.5" in shown
    assert json.loads(as_json)[0]["outcomes"] == {"revenue": 3.5, "cost": 3.0}


def test_ingest_parquet_and_json_lines_with_json_output(home: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"prediction_id": IDS[:3], "label": ["a", "b", "c"]}), parquet)
    jsonl = tmp_path / "labels.jsonl"
    rows: list[dict[str, Any]] = [
        {"prediction_id": IDS[0], "label": "z", "outcomes": {"revenue": 1}},
        {"prediction_id": IDS[5], "outcome_revenue": 2, "at_ms": 9},
    ]
    jsonl.write_text("\n".join(json.dumps(row) for row in rows) + "\n")

    first = invoke("ingest", str(parquet), "--endpoint", "churn", "--json")
    second = invoke("ingest", str(jsonl), "--endpoint", "churn", "--json")

    assert first[0] == 0, first[1]
    assert json.loads(first[1]) == {"accepted": 3, "updated": 0, "unknown": 0, "unknown_ids": []}
    assert json.loads(second[1]) == {"accepted": 2, "updated": 1, "unknown": 0, "unknown_ids": []}
    assert [h.label for h in store(home).history("churn", IDS[0])] == ["a", "z"]
    assert store(home).history("churn", IDS[5])[0].labelled_at_ms == 9


def test_a_bad_row_stops_the_whole_file(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    rows = [f"{pid},1" for pid in IDS] + [",1"]  # row 12 has no id
    path.write_text("prediction_id,label\n" + "\n".join(rows) + "\n")

    code, out = invoke("ingest", str(path), "--endpoint", "churn")

    assert code == 2
    assert "labels[12].prediction_id expects a non-empty string" in out
    assert not (home / "predictions" / "labels").exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("id,label\n1,1\n", "labels.csv", "prediction_id"),
        ("prediction_id,note\n1,x\n", "labels.csv", "label"),
        ("prediction_id,label\n", "labels.txt", "extension"),
        ('{"prediction_id": ', "labels.jsonl", "could not be read"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, content: str, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)

    code, out = invoke("ingest", str(path), "--endpoint", "churn")

    assert code == 2
    assert message in out


def test_missing_file_and_unknown_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("prediction_id,label\n000001,1\n")

    missing = invoke("ingest", str(tmp_path / "nope.csv"), "--endpoint", "churn")
    unknown = invoke("ingest", str(path), "--endpoint", "chrun")
    shown = invoke("show", "000001", "--endpoint", "chrun")
    empty = invoke("show", "000001", "--endpoint", "churn")

    assert missing[0] == 2
    assert "nope.csv" in missing[1]
    assert (unknown[0], shown[0]) == (2, 2)
    assert "chrun" in unknown[1]
    # `in`, not ==: another test of the same worker may have routed library logs to stderr.
    assert empty[0] == 0
    assert "prediction '000001' of endpoint 'churn' has no labels\n" in empty[1]
