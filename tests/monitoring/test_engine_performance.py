"""Realised performance per group equals scikit-learn's on the same rows, to 1e-9."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics

from steward.errors import InvalidInput
from steward.monitoring.engine import evaluate_window
from steward.monitoring.metrics import WindowResult
from steward.monitoring.spec import MonitorSpec

CLASSIFICATION = MonitorSpec(task="classification", segments=("region",), min_rows=0)
REGRESSION = MonitorSpec(task="regression", segments=("region",), min_rows=0)


def _table(**columns: Any) -> pa.Table:
    rows = len(next(iter(columns.values())))
    return pa.table({"in_x": np.zeros(rows), **columns})


def _segments(table: pa.Table) -> dict[str | None, np.ndarray]:
    region = np.asarray(table.column("seg_region").to_pylist(), dtype=object)
    masks: dict[str | None, np.ndarray] = {None: np.ones(len(region), dtype=bool)}
    for value in sorted(set(region)):
        masks[f"region={value}"] = region == value
    return masks


def _check(
    result: WindowResult, metric: str, segment: str | None, expected: float, size: int
) -> None:
    got = result.get(metric, segment=segment)
    assert got is not None, (metric, segment)
    assert got.value == pytest.approx(expected, rel=1e-9, abs=1e-12), (metric, segment)
    assert got.sample_size == size


def _absent(result: WindowResult, metric: str, segment: str | None) -> None:
    assert result.get(metric, segment=segment) is None, (metric, segment)


def _classification_expectations(
    truth: np.ndarray, guess: np.ndarray, score: np.ndarray, positive: Any
) -> dict[str, tuple[Callable[[], float], int, bool]]:
    """metric -> (scikit-learn's value, rows, whether it is defined)."""
    labelled = np.array([t is not None and t == t for t in truth], dtype=bool)
    answered = np.array([g is not None for g in guess], dtype=bool)
    used = labelled & answered
    y, p = truth[used], guess[used]
    is_pos, says_pos = y == positive, p == positive
    scored = labelled & np.isfinite(score)
    y_scored, s = truth[scored] == positive, score[scored]
    kind = str if isinstance(positive, str) else float
    tp, fp, fn = (is_pos & says_pos).sum(), (~is_pos & says_pos).sum(), (is_pos & ~says_pos).sum()
    return {
        "perf.accuracy": (
            lambda: metrics.accuracy_score(y.astype(kind), p.astype(kind)),
            len(y),
            len(y) > 0,
        ),
        "perf.precision": (lambda: metrics.precision_score(is_pos, says_pos), len(y), tp + fp > 0),
        "perf.recall": (lambda: metrics.recall_score(is_pos, says_pos), len(y), tp + fn > 0),
        "perf.f1": (lambda: metrics.f1_score(is_pos, says_pos), len(y), tp + fp + fn > 0),
        "perf.log_loss": (
            lambda: metrics.log_loss(y_scored, y_proba=s, labels=[False, True]),
            len(s),
            len(s) > 0,
        ),
        "perf.roc_auc": (
            lambda: metrics.roc_auc_score(y_scored, s),
            len(s),
            0 < y_scored.sum() < len(y_scored),
        ),
    }


def _assert_classification(
    table: pa.Table, result: WindowResult, truth: np.ndarray, guess: np.ndarray, positive: Any
) -> None:
    score = np.asarray(table.column("score").to_pylist(), dtype=np.float64)
    for segment, inside in _segments(table).items():
        expected = _classification_expectations(
            truth[inside], guess[inside], score[inside], positive
        )
        for metric, (value, size, defined) in expected.items():
            if defined:
                _check(result, metric, segment, value(), size)
            else:
                _absent(result, metric, segment)


def test_binary_metrics_per_segment_equal_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    rows = 20_000
    score = np.round(rng.random(rows), 3)  # ties
    score[rng.random(rows) < 0.05] = np.nan
    score[:2] = [0.0, 1.0]  # log loss clips these as scikit-learn does
    truth = (rng.random(rows) < np.nan_to_num(score, nan=0.5)).astype(np.float64)
    truth[:2] = [1.0, 0.0]
    truth[rng.random(rows) < 0.4] = np.nan
    guess = np.where(rng.random(rows) < 0.9, (score > 0.5).astype(float), 1 - (score > 0.5))
    table = _table(
        prediction=pa.array(guess.astype(np.int64), mask=rng.random(rows) < 0.02),
        score=pa.array(score, from_pandas=True),
        label=pa.array(truth, from_pandas=True),
        seg_region=rng.choice(["EU", "US", "APAC"], rows),
    )
    result = evaluate_window(table, CLASSIFICATION, None)
    truths = np.asarray(table.column("label").to_pylist(), dtype=object)
    guesses = np.asarray(table.column("prediction").to_pylist(), dtype=object)
    _assert_classification(table, result, truths, guesses, 1)
    labelled = result.get("labelled_share")
    assert labelled is not None
    assert labelled.value == pytest.approx(np.isfinite(truth).mean())


def test_text_classes_count_the_positive_label_against_the_rest() -> None:
    rng = np.random.default_rng(2)
    rows = 5_000
    classes = np.array(["yes", "no", "maybe"])
    truth = classes[rng.choice(3, rows)].astype(object)
    truth[rng.random(rows) < 0.3] = None
    guess = np.where(rng.random(rows) < 0.7, truth, classes[rng.choice(3, rows)]).astype(object)
    guess[[i for i in range(rows) if guess[i] is None]] = "no"
    score = rng.random(rows)
    table = _table(
        prediction=pa.array(guess.tolist(), pa.string()),
        score=score,
        label=pa.array(truth.tolist(), pa.string()),
        seg_region=rng.choice(["EU", "US"], rows),
    )
    spec = CLASSIFICATION.model_copy(update={"positive_label": "yes"})
    result = evaluate_window(table, spec, None)
    _assert_classification(table, result, truth, guess, "yes")
    rate = result.get("prediction.positive_rate")
    assert rate is not None
    assert rate.value == pytest.approx(np.mean(guess == "yes"))


def test_a_segment_with_one_class_has_no_roc_auc_and_nothing_is_nan() -> None:
    table = _table(
        prediction=[1, 0, 1, 1, 0, 1],
        score=[0.9, 0.2, 0.8, 0.7, 0.1, 0.6],
        label=[1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
        seg_region=["EU", "EU", "US", "US", "US", "US"],
    )
    result = evaluate_window(table, CLASSIFICATION, None)
    assert result.get("perf.roc_auc", segment="region=EU") is not None
    _absent(result, "perf.roc_auc", "region=US")
    assert all(np.isfinite(m.value) for m in result.metrics)
    no_score = evaluate_window(table.drop_columns(["score"]), CLASSIFICATION, None)
    for metric in ("perf.roc_auc", "perf.log_loss", "score.mean"):
        _absent(no_score, metric, None)
    assert no_score.get("perf.accuracy") is not None
    unlabelled = evaluate_window(table.drop_columns(["label"]), CLASSIFICATION, None)
    share = unlabelled.get("labelled_share")
    assert share is not None
    assert share.value == 0.0
    assert not [m for m in unlabelled.metrics if m.metric.startswith("perf.")]


def test_regression_metrics_per_segment_equal_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    rows = 10_000
    truth = rng.normal(100, 30, rows)
    truth[:5] = 0.0  # MAPE divides by max(|y|, eps), as scikit-learn does
    truth[rng.random(rows) < 0.3] = np.nan
    guess = truth + rng.normal(0, 10, rows)
    guess[rng.random(rows) < 0.1] = np.nan
    guess[:5] = 1.0
    table = _table(
        prediction=pa.array(guess, from_pandas=True),
        score=pa.nulls(rows, pa.float64()),
        label=pa.array(truth, from_pandas=True),
        seg_region=rng.choice(["EU", "US", "APAC"], rows),
    )
    result = evaluate_window(table, REGRESSION, None)
    for segment, inside in _segments(table).items():
        used = inside & np.isfinite(truth) & np.isfinite(guess)
        y, p = truth[used], guess[used]
        _check(result, "perf.mae", segment, metrics.mean_absolute_error(y, p), len(y))
        _check(result, "perf.rmse", segment, metrics.root_mean_squared_error(y, p), len(y))
        _check(result, "perf.mape", segment, metrics.mean_absolute_percentage_error(y, p), len(y))
        answered = inside & np.isfinite(guess)
        _check(result, "prediction.mean", segment, guess[answered].mean(), int(answered.sum()))


def test_regression_needs_numbers() -> None:
    table = _table(prediction=["a", "b"], label=[1.0, 2.0], seg_region=["EU", "US"])
    with pytest.raises(InvalidInput, match="a regression monitor needs numeric predictions"):
        evaluate_window(table, REGRESSION, None)
    numeric = _table(prediction=[1, 0], label=[1.0, 0.0], seg_region=["EU", "US"])
    with pytest.raises(InvalidInput, match="positive_label 'yes' cannot match numeric labels"):
        evaluate_window(numeric, CLASSIFICATION.model_copy(update={"positive_label": "yes"}), None)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 1.0, None]),  # label
            st.sampled_from([0, 1, None]),  # prediction
            st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])),  # score, tied
            st.sampled_from(["a", "b", "c"]),  # segment
        ),
        min_size=1,
        max_size=60,
    )
)
def test_any_small_window_matches_scikit_learn_or_leaves_the_metric_out(
    rows: list[tuple[float | None, int | None, float | None, str]],
) -> None:
    truth, guess, score, region = zip(*rows, strict=True)
    table = _table(
        prediction=pa.array(guess, pa.int64()),
        score=pa.array(score, pa.float64()),
        label=pa.array(truth, pa.float64()),
        seg_region=list(region),
    )
    result = evaluate_window(table, CLASSIFICATION, None)
    truths = np.asarray([np.nan if t is None else t for t in truth], dtype=object)
    _assert_classification(table, result, truths, np.asarray(guess, dtype=object), 1.0)
