"""`steward data` on real CSV and Parquet files: tables, --json, exit codes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from steward.cli.data import app
from steward.contracts import infer_contract

runner = CliRunner()


def _frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows) + shift,
            "visits": rng.poisson(3, rows),
            "plan": rng.choice(["free", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
        }
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "reference": tmp_path / "reference.parquet",
        "same": tmp_path / "same.csv",
        "shifted": tmp_path / "shifted.csv",
    }
    _frame(3_000, 1).to_parquet(paths["reference"])
    _frame(2_000, 2).to_csv(paths["same"], index=False)
    _frame(2_000, 3, shift=8.0).to_csv(paths["shifted"], index=False)
    return paths


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if args[-1] == "--json" or "--json" in args:
        return result.exit_code, result.output
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


def test_profile_prints_a_table_and_json(files: dict[str, Path], tmp_path: Path) -> None:
    code, out = invoke("profile", str(files["same"]))
    assert code == 0
    assert "2,000 rows" in out
    assert "plan" in out
    code, out = invoke("profile", str(files["reference"]), "--json", "-o", str(tmp_path / "p.json"))
    assert code == 0
    body = json.loads(out)
    assert body["rows"] == 3_000
    assert [c["column"] for c in body["columns"]] == ["age", "visits", "plan"]
    assert body["columns"][2]["top"]["free"] > 1_500
    assert json.loads((tmp_path / "p.json").read_text())["format"] == "steward.profile/1"


def test_drift_flags_the_shifted_column(files: dict[str, Path]) -> None:
    code, out = invoke("drift", str(files["reference"]), str(files["shifted"]), "--json")
    assert code == 0
    assert json.loads(out)["drifted_columns"] == ["age"]
    code, out = invoke("drift", str(files["reference"]), str(files["same"]))
    assert code == 0
    assert "0 of 3 columns drifted" in out
    code, out = invoke("drift", str(files["reference"]), str(files["shifted"]), "--fail-on-drift")
    assert code == 1
    assert "1 of 3 columns drifted: age" in out


def test_drift_against_a_saved_profile_with_chosen_tests(
    files: dict[str, Path], tmp_path: Path
) -> None:
    saved = tmp_path / "baseline.json"
    assert invoke("profile", str(files["reference"]), "-o", str(saved))[0] == 0
    code, out = invoke(
        "drift", str(saved), str(files["shifted"]), "--test", "psi", "--column", "age", "--json"
    )
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert (result["column"], result["test"], result["is_drifted"]) == ("age", "psi", True)


def test_validate_against_a_contract(files: dict[str, Path], tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text(infer_contract(_frame(3_000, 1), name="people").to_yaml())
    code, out = invoke("validate", str(files["same"]), "--contract", str(contract), "--json")
    assert code == 0, out
    assert json.loads(out)["is_valid"] is True
    broken = tmp_path / "broken.csv"
    _frame(50, 4).assign(plan="enterprise").to_csv(broken, index=False)
    code, out = invoke("validate", str(broken), "-c", str(contract))
    assert code == 1
    assert "invalid" in out
    assert "unseen_category" in out


def test_bad_input_exits_non_zero_with_a_clear_message(
    files: dict[str, Path], tmp_path: Path
) -> None:
    code, out = invoke("profile", str(tmp_path / "nope.csv"))
    assert code == 2
    assert "does not exist" in out
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, out = invoke("drift", str(files["reference"]), str(text))
    assert code == 2
    assert "has extension '.txt'; accepted: .csv, .parquet" in out
    code, out = invoke("validate", str(files["same"]), "--contract", str(text))
    assert code == 2
    assert "accepted: .yaml, .yml, .json" in out
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet")
    code, out = invoke("profile", str(garbage))
    assert code == 2
    assert "could not be read" in out
    code, out = invoke("drift", str(files["reference"]), str(files["same"]), "--test", "nope")
    assert code == 2
    assert "no drift test named 'nope'" in out
