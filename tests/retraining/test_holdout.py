"""The loop's fresh holdout: an endpoint's labelled predictions, or a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.predictions import Label, LabelStore, PredictionLog, PredictionRecord
from steward.retraining.holdout import holdout_frame, read_holdout
from steward.retraining.triggers import EvaluationConfig

T0 = 1_700_000_000_000


def _log(settings: Settings, rows: int) -> None:
    log = PredictionLog(settings.resolved_predictions_dir, compact_on_start=False)
    log.append(
        [
            PredictionRecord(
                prediction_id=f"p{i}",
                at_ms=T0 + i * 1000,
                endpoint="churn-prod",
                model_name="churn",
                model_version=1,
                route="primary",
                inputs={"tenure": float(i), "region": "north" if i % 2 else "south"},
                outputs={"prediction": i % 2},
                latency_ms=1.0,
            )
            for i in range(rows)
        ]
    )
    log.close()


def test_labelled_predictions_of_the_window_make_the_holdout(settings: Settings) -> None:
    _log(settings, 40)
    LabelStore(settings.resolved_predictions_dir).ingest(
        "churn-prod", [Label(f"p{i}", label=i % 3 == 0) for i in range(0, 40, 2)]
    )
    evaluation = EvaluationConfig(endpoint="churn-prod", lookback="1h", min_rows=5)
    since = T0 + 10_000  # from the triggering window on: rows 10 and later
    frame = holdout_frame(settings, evaluation, now_ms=T0 + 3_600_000, since_ms=since)

    assert list(frame.columns) == ["tenure", "region", "label"]
    assert frame["tenure"].tolist() == [float(i) for i in range(10, 40, 2)]
    assert frame["label"].tolist() == [i % 3 == 0 for i in range(10, 40, 2)]
    with pytest.raises(InvalidInput, match="holdout needs at least 100"):
        holdout_frame(
            settings, evaluation.model_copy(update={"min_rows": 100}), now_ms=T0 + 3_600_000
        )


def test_numeric_labels_that_are_whole_become_integers(settings: Settings) -> None:
    _log(settings, 10)
    LabelStore(settings.resolved_predictions_dir).ingest(
        "churn-prod", [Label(f"p{i}", label=i % 2) for i in range(10)]
    )
    evaluation = EvaluationConfig(endpoint="churn-prod", lookback="1h", min_rows=1)
    frame = holdout_frame(settings, evaluation, now_ms=T0 + 60_000)
    assert frame["label"].dtype == "int64"
    assert frame["label"].tolist() == [i % 2 for i in range(10)]


def test_a_file_is_read_as_it_is(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "holdout.csv"
    pd.DataFrame({"x": [1, 2], "y": [0, 1]}).to_csv(path, index=False)
    evaluation = EvaluationConfig(path=str(path), label="y")
    assert holdout_frame(settings, evaluation, now_ms=T0).to_dict("list") == {
        "x": [1, 2],
        "y": [0, 1],
    }
    with pytest.raises(NotFound):
        read_holdout(tmp_path / "absent.csv")
    with pytest.raises(InvalidInput, match=r"\.csv or \.parquet"):
        read_holdout(Path(__file__))
