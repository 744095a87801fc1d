"""Batch scoring of CSV and Parquet files with a real registered model and its contract."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from typer.testing import CliRunner

from steward import registry
from steward.cli.predict import predict
from steward.config import Settings
from steward.contracts import infer_contract
from steward.errors import InvalidInput, NotFound
from steward.predictions import PredictionLog, PredictionStore, compact
from steward.serving import BatchProgress, batch_files, rejected_path_for, score_file
from steward.store import Store, open_store

ROWS = 250


@pytest.fixture
def backend() -> str:
    return "sqlite"  # scoring reads the registry once; the registry suite covers both backends


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer": [f"c{i:05d}" for i in range(rows)],
            "age": rng.integers(18, 80, rows),
            "income": rng.normal(50.0, 15.0, rows).round(3),
            "plan": rng.choice(["basic", "pro", "team"], rows),
        }
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder holding only the test's data files (the store lives beside it)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return _frame(400, seed=1)


@pytest.fixture(scope="module")
def classifier(training: pd.DataFrame) -> Any:
    labels = (training["income"] / 15 - training["age"] / 20 > 0).astype(int)
    features = make_column_transformer(
        (StandardScaler(), ["age", "income"]), (OneHotEncoder(), ["plan"])
    )
    return make_pipeline(features, LogisticRegression()).fit(training, labels)


@pytest.fixture
def churn(store: Store, classifier: Any, training: pd.DataFrame) -> str:
    """`models:/churn@champion`: the classifier with the contract of its training data."""
    features = training[["age", "income", "plan"]]
    contract = infer_contract(features, name="churn").to_dict()
    version = registry.register_model(
        store, "churn", classifier, sample_input=features.head(20), contract=contract, actor="a"
    )
    registry.set_alias(store, "churn", "champion", version.version, actor="a")
    return "models:/churn@champion"


@pytest.fixture
def scoring() -> pd.DataFrame:
    return _frame(ROWS, seed=2)


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


@pytest.mark.parametrize(
    ("source", "target"),
    [("in.parquet", "out.parquet"), ("in.csv", "out.csv"), ("in.csv", "out.parquet")],
)
def test_chunked_scoring_matches_one_shot_predict(
    store: Store,
    churn: str,
    classifier: Any,
    scoring: pd.DataFrame,
    files: Path,
    source: str,
    target: str,
) -> None:
    seen: list[BatchProgress] = []
    logged: list[pa.Table] = []
    result = score_file(
        store,
        churn,
        _write(scoring, files / source),
        files / target,
        chunk_rows=70,
        progress=seen.append,
        log=logged.append,
    )
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (ROWS, ROWS, 0)
    assert (result.model_uri, result.rejected_path) == ("models:/churn/1", None)
    assert [p.rows_in for p in seen] == [70, 140, 210, 250]  # four chunks
    assert seen[-1].fraction == 1.0
    assert [t.num_rows for t in logged] == [70, 70, 70, 40]

    out = _read(files / target)
    pd.testing.assert_frame_equal(out[list(scoring.columns)], scoring, check_dtype=False)
    assert out["prediction"].tolist() == classifier.predict(scoring).tolist()
    probabilities = classifier.predict_proba(scoring)
    np.testing.assert_allclose(out[["proba_0", "proba_1"]].to_numpy(), probabilities)
    assert out["prediction_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert out["prediction_id"].nunique() == ROWS
    assert [p.name for p in files.iterdir() if p.name.startswith(".")] == []


def test_a_regressor_has_no_probabilities(
    store: Store, training: pd.DataFrame, scoring: pd.DataFrame, files: Path
) -> None:
    model = LinearRegression().fit(training[["age", "income"]], training["income"] * 2)
    registry.register_model(
        store, "spend", model, sample_input=training[["age", "income"]].head(5), actor="a"
    )
    score_file(store, "models:/spend/1", _write(scoring, files / "in.csv"), files / "o.csv")
    out = pd.read_csv(files / "o.csv")
    assert [c for c in out.columns if c.startswith(("prediction", "proba"))] == [
        "prediction",
        "prediction_id",
    ]
    np.testing.assert_allclose(out["prediction"], model.predict(scoring[["age", "income"]]))


def test_reject_mode_names_the_row_and_leaves_no_output(
    store: Store, churn: str, scoring: pd.DataFrame, files: Path
) -> None:
    bad = scoring.astype({"age": object})
    bad.loc[123, "age"] = "forty"
    source = _write(bad, files / "in.csv")
    earlier = _write(scoring.head(3), files / "out.parquet")
    before = earlier.read_bytes()
    with pytest.raises(InvalidInput) as caught:
        score_file(store, churn, source, earlier, chunk_rows=100)
    message = caught.value.message
    assert "column 'age' expects an integer, got 'forty' in row 123 (contract churn v1)" in message
    assert "checked rows 100 to 199" in message
    assert caught.value.field == "age"
    assert earlier.read_bytes() == before  # an earlier output is never half-overwritten
    assert sorted(p.name for p in files.iterdir()) == ["in.csv", "out.parquet"]


def test_reject_mode_catches_out_of_range_values_in_parquet(
    store: Store, churn: str, scoring: pd.DataFrame, files: Path
) -> None:
    bad = scoring.copy()
    bad.loc[240, "age"] = 500
    with pytest.raises(InvalidInput, match=r"got 500 in row 240"):
        score_file(store, churn, _write(bad, files / "in.parquet"), files / "o.parquet")
    assert not (files / "o.parquet").exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_drop_mode_sets_bad_rows_aside(
    store: Store,
    churn: str,
    classifier: Any,
    scoring: pd.DataFrame,
    files: Path,
    suffix: str,
) -> None:
    bad = scoring.astype({"age": object})
    bad.loc[5, "age"] = "forty" if suffix == ".csv" else 500  # Parquet holds one type
    bad.loc[130, "plan"] = "platinum"
    bad.loc[200, "age"] = -3
    target = files / f"out{suffix}"
    result = score_file(
        store,
        churn,
        _write(bad.astype({"age": object if suffix == ".csv" else int}), files / f"in{suffix}"),
        target,
        chunk_rows=64,
        contract_mode="drop",
    )
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (ROWS, ROWS - 3, 3)
    assert result.rows_invalid == 3
    assert result.rejected_path == rejected_path_for(target) == files / f"out.rejected{suffix}"
    rejected = _read(result.rejected_path)
    assert rejected["input_row"].tolist() == [5, 130, 200]
    assert rejected["customer"].tolist() == ["c00005", "c00130", "c00200"]
    out = _read(target)
    kept = scoring.drop(index=[5, 130, 200])
    assert out["customer"].tolist() == kept["customer"].tolist()
    assert out["prediction"].tolist() == classifier.predict(kept).tolist()


def test_a_stale_rejected_file_is_removed(
    store: Store, churn: str, scoring: pd.DataFrame, files: Path
) -> None:
    stale = _write(scoring.head(2), files / "out.rejected.csv")
    result = score_file(
        store,
        churn,
        _write(scoring, files / "in.csv"),
        files / "out.csv",
        contract_mode="drop",
    )
    assert result.rows_rejected == 0
    assert not stale.exists()


def test_warn_mode_scores_every_row_and_logs(
    store: Store,
    churn: str,
    scoring: pd.DataFrame,
    files: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = scoring.copy()
    bad.loc[77, "age"] = 500
    caplog.set_level(logging.WARNING, logger="steward.serving.batch")
    result = score_file(
        store,
        churn,
        _write(bad, files / "in.parquet"),
        files / "out.parquet",
        contract_mode="warn",
    )
    assert (result.rows_scored, result.rows_rejected, result.rows_invalid) == (ROWS, 0, 1)
    assert "got 500 in row 77" in caplog.text
    assert not rejected_path_for(files / "out.parquet").exists()


def test_contract_mode_off_and_a_version_without_contract_skip_the_check(
    store: Store, churn: str, classifier: Any, scoring: pd.DataFrame, files: Path
) -> None:
    bad = scoring.copy()
    bad.loc[0, "age"] = 500
    source = _write(bad, files / "in.parquet")
    result = score_file(store, churn, source, files / "a.parquet", contract_mode="off")
    assert result.rows_scored == ROWS
    registry.register_model(store, "bare", classifier, actor="a")
    assert score_file(store, "models:/bare/1", source, files / "b.csv").rows_scored == ROWS


def test_a_header_only_csv_gives_an_empty_output(
    store: Store, churn: str, scoring: pd.DataFrame, files: Path
) -> None:
    source = _write(scoring.head(0), files / "in.csv")
    result = score_file(store, churn, source, files / "out.parquet")
    assert (result.rows_in, result.rows_scored) == (0, 0)
    out = pq.read_table(files / "out.parquet")
    assert out.num_rows == 0
    assert {"customer", "prediction", "prediction_id"} <= set(out.column_names)


def test_an_input_column_named_like_an_output_is_refused(
    store: Store, churn: str, scoring: pd.DataFrame, files: Path
) -> None:
    source = _write(scoring.assign(prediction=1), files / "in.parquet")
    with pytest.raises(InvalidInput, match=r"already has column.*'prediction'"):
        score_file(store, churn, source, files / "out.parquet")
    assert not (files / "out.parquet").exists()


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"input_path": "missing.csv"}, NotFound, "does not exist"),
        ({"input_path": "in.json"}, InvalidInput, r"accepted: \.csv, \.parquet, \.pq"),
        ({"output_path": "out.txt"}, InvalidInput, "output_path 'out.txt'|out.txt"),
        ({"output_path": "in.csv"}, InvalidInput, "would overwrite the input"),
        ({"input_path": "old.rejected.csv", "output_path": "old.csv"}, InvalidInput, "would"),
        ({"chunk_rows": 0}, InvalidInput, "chunk_rows 0"),
        ({"contract_mode": "strict"}, InvalidInput, "accepted: reject, warn, drop, off"),
        ({"model_uri": "models:/chrun@champion"}, NotFound, "did you mean 'churn'"),
        ({"model_uri": "models:/churn@nope"}, NotFound, "no alias 'nope'"),
        ({"model_uri": "churn"}, InvalidInput, "names no version"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    store: Store,
    churn: str,
    scoring: pd.DataFrame,
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    monkeypatch.chdir(files)
    _write(scoring, files / "in.csv")
    (files / "in.json").write_text("{}")
    _write(scoring, files / "old.rejected.csv")
    arguments: dict[str, Any] = {
        "model_uri": churn,
        "input_path": "in.csv",
        "output_path": "out.csv",
        **change,
    }
    with pytest.raises(error, match=match):
        score_file(store, **arguments)
    assert sorted(p.name for p in files.iterdir()) == ["in.csv", "in.json", "old.rejected.csv"]


def test_a_column_that_changes_type_midway_is_a_clear_error(
    store: Store,
    churn: str,
    scoring: pd.DataFrame,
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch_files, "CSV_BLOCK_BYTES", 2048)  # Arrow types columns from block one
    ids = scoring.assign(customer=range(ROWS)).astype({"customer": object})
    ids.loc[ROWS - 1, "customer"] = "X-1"  # not a contract column: its type is Arrow's guess
    source = _write(ids, files / "in.csv")
    with pytest.raises(
        InvalidInput, match=r"could not be read after row \d+: column 'customer': .*'X-1'"
    ):
        score_file(store, churn, source, files / "out.csv", chunk_rows=1000)
    assert not (files / "out.csv").exists()


def test_scored_rows_go_to_the_prediction_log_with_their_ids(
    store: Store, churn: str, classifier: Any, scoring: pd.DataFrame, files: Path
) -> None:
    directory = files / "predictions"
    prediction_log = PredictionLog(directory, compact_on_start=False)
    try:
        score_file(
            store,
            churn,
            _write(scoring, files / "in.parquet"),
            files / "out.parquet",
            chunk_rows=100,
            prediction_log=prediction_log,
            endpoint="churn-batch",
        )
    finally:
        prediction_log.close()
    compact(directory)
    logged = PredictionStore(directory).read("churn-batch").to_pandas()
    out = pd.read_parquet(files / "out.parquet")
    assert sorted(logged["prediction_id"]) == sorted(out["prediction_id"])
    assert set(logged["route"]) == {"batch"}
    assert set(zip(logged["model_name"], logged["model_version"], strict=True)) == {("churn", 1)}
    joined = out.merge(logged, on="prediction_id", suffixes=("", "_logged"))
    assert joined["in_income"].tolist() == pytest.approx(joined["income"].tolist())
    assert joined["in_plan"].tolist() == joined["plan"].tolist()
    assert len(joined) == ROWS


# The `steward predict` command ------------------------------------------------------------


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classifier: Any) -> Path:
    """A STEWARD_HOME with `models:/churn@champion` registered, as the CLI will open it."""
    home = tmp_path / "home"
    monkeypatch.setenv("STEWARD_HOME", str(home))
    store = open_store(Settings())
    try:
        version = registry.register_model(store, "churn", classifier, actor="a")
        registry.set_alias(store, "churn", "champion", version.version, actor="a")
    finally:
        store.close()
    return home


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("predict")(predict)
    app.command("noop", hidden=True)(lambda: None)  # two commands keep "predict" a subcommand
    return app


def test_the_predict_command(cli_store: Path, scoring: pd.DataFrame, files: Path) -> None:
    source = _write(scoring, files / "in.parquet")
    arguments = ["--model", "models:/churn@champion", "--input", str(source)]
    result = CliRunner().invoke(
        _cli(), ["predict", *arguments, "--output", str(files / "out.csv"), "--chunk-rows", "60"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"scored 250 of 250 rows with models:/churn/1", result.output)
    assert len(pd.read_csv(files / "out.csv")) == ROWS
    as_json = CliRunner().invoke(
        _cli(), ["predict", *arguments, "--output", str(files / "o.parquet"), "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    assert '"rows_scored": 250' in as_json.output
    # Both runs were logged under the model's name, nothing lost at the command's exit.
    directory = cli_store / "predictions"
    compact(directory)
    assert PredictionStore(directory).count("churn") == 2 * ROWS
    unlogged = CliRunner().invoke(
        _cli(),
        ["predict", *arguments, "-o", str(files / "u.csv"), "--no-log-predictions"],
    )
    assert unlogged.exit_code == 0, unlogged.output
    compact(directory)
    assert PredictionStore(directory).count("churn") == 2 * ROWS


def test_the_predict_command_reports_errors_in_one_line(
    cli_store: Path, scoring: pd.DataFrame, files: Path
) -> None:
    source = _write(scoring, files / "in.csv")
    result = CliRunner().invoke(
        _cli(),
        ["predict", "-m", "models:/churn@nope", "-i", str(source), "-o", str(files / "o.csv")],
    )
    assert result.exit_code == 2
    assert "NotFound" in result.output
    assert "no alias 'nope'" in result.output
