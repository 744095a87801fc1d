"""Realised performance on the labelled rows of a window, per group, vectorised.

Every metric equals scikit-learn's on the same rows: accuracy, precision/recall/F1 of the
positive label, ROC AUC and log loss of `score` as the positive label's probability
(classification); MAE, RMSE and MAPE (regression). Counts and sums are added per cell and
summed into groups; ROC AUC, which does not add up, is the Mann-Whitney statistic computed
per grouping after one sort by score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from steward.errors import InvalidInput
from steward.monitoring.grouping import Segmentation
from steward.monitoring.metrics import LABELLED_SHARE, Collector
from steward.monitoring.summaries import column_kind, numeric_values
from steward.stats import ColumnKind

__all__ = [
    "Outcomes",
    "add_classification",
    "add_labelled_share",
    "add_prediction_summary",
    "add_regression",
    "read_outcomes",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
EPS = float(np.finfo(np.float64).eps)  # scikit-learn's clip for log loss, floor for MAPE


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Per row: whether it is labelled, has a prediction, and how they compare."""

    labelled: BoolArray
    predicted: BoolArray
    correct: BoolArray
    label_positive: BoolArray
    predicted_positive: BoolArray
    score: FloatArray  # NaN where absent


def read_outcomes(table: pa.Table, positive: int | float | str) -> Outcomes:
    """Compare `prediction` and `label` (numbers as numbers, anything else as text).

    Raises:
        InvalidInput: the labels are numbers and `positive` is text that is not one.
    """
    rows = table.num_rows
    label = _column(table, "label", rows)
    prediction = _column(table, "prediction", rows)
    score = _column(table, "score", rows)
    scores = (
        numeric_values(score)
        if column_kind(score) is ColumnKind.NUMERIC
        else np.full(rows, np.nan, dtype=np.float64)
    )
    if _is_number(label) and _is_number(prediction):
        wanted = _positive_number(positive)
        truth, guess = numeric_values(label), numeric_values(prediction)
        labelled, predicted = np.isfinite(truth), np.isfinite(guess)
        return Outcomes(
            labelled, predicted, truth == guess, truth == wanted, guess == wanted, scores
        )
    truth_text, guess_text = _text(label), _text(prediction)
    wanted_text = _positive_text(positive)
    return Outcomes(
        _flags(pc.is_valid(truth_text)),
        _flags(pc.is_valid(guess_text)),
        _flags(pc.equal(truth_text, guess_text)),
        _flags(pc.equal(truth_text, wanted_text)),
        _flags(pc.equal(guess_text, wanted_text)),
        scores,
    )


def add_labelled_share(collector: Collector, outcomes: Outcomes, segments: Segmentation) -> None:
    """`labelled_share`: labelled rows / rows, per group."""
    labelled = segments.sums(rows=np.flatnonzero(outcomes.labelled))
    for group, count in enumerate(segments.group_rows):
        if count:
            collector.add(group, LABELLED_SHARE, labelled[group] / count, int(count))


def add_prediction_summary(
    collector: Collector, task: str, outcomes: Outcomes, table: pa.Table, segments: Segmentation
) -> None:
    """`prediction.positive_rate` (classification) or `prediction.mean` (regression), and
    `score.mean`: what the model answered, labelled or not.

    Raises:
        InvalidInput: a regression monitor's predictions are not numbers.
    """
    if task == "classification":
        # 0: no prediction, 1: another class, 2: the positive label
        states = outcomes.predicted.astype(np.int64) + outcomes.predicted_positive
        counts = segments.tally(states, 3)
        answered = counts[:, 1] + counts[:, 2]
        _add_ratios(collector, "prediction.positive_rate", counts[:, 2], answered)
    else:
        guess = _numbers(table, "prediction")
        rows = np.flatnonzero(np.isfinite(guess))
        total = segments.sums(guess[rows], rows)
        _add_ratios(collector, "prediction.mean", total, segments.sums(rows=rows))
    rows = np.flatnonzero(np.isfinite(outcomes.score))
    total = segments.sums(outcomes.score[rows], rows)
    _add_ratios(collector, "score.mean", total, segments.sums(rows=rows))


def add_classification(collector: Collector, outcomes: Outcomes, segments: Segmentation) -> None:
    """`perf.accuracy`, `.precision`, `.recall`, `.f1`, `.log_loss`, `.roc_auc` per group.

    A metric whose denominator is zero in a group (no predicted positives for precision,
    one class only for ROC AUC) is absent there.
    """
    used = np.flatnonzero(outcomes.labelled & outcomes.predicted)
    truth, guess = outcomes.label_positive[used], outcomes.predicted_positive[used]
    # One tally of 8 states: correct x positive label x predicted positive.
    states = outcomes.correct[used] * 4 + truth * 2 + guess.astype(np.int64)
    counts = segments.tally(states, 8, used)
    n, correct = counts.sum(axis=1), counts[:, 4:].sum(axis=1)
    tp = counts[:, 3] + counts[:, 7]
    fp = counts[:, 1] + counts[:, 5]
    fn = counts[:, 2] + counts[:, 6]
    _add_ratios(collector, "perf.accuracy", correct, n, n)
    _add_ratios(collector, "perf.precision", tp, tp + fp, n)
    _add_ratios(collector, "perf.recall", tp, tp + fn, n)
    _add_ratios(collector, "perf.f1", 2 * tp, 2 * tp + fp + fn, n)
    _add_scored(collector, outcomes, segments)


def _add_ratios(
    collector: Collector,
    metric: str,
    numerator: npt.NDArray[np.generic],
    denominator: npt.NDArray[np.generic],
    sizes: npt.NDArray[np.generic] | None = None,
) -> None:
    """numerator / denominator per group where the denominator is positive; the sample
    size is `sizes` (default: the denominator)."""
    counts = denominator if sizes is None else sizes
    for group, bottom in enumerate(denominator.tolist()):
        if bottom > 0:
            collector.add(group, metric, float(numerator[group]) / bottom, int(counts[group]))


def add_regression(collector: Collector, table: pa.Table, segments: Segmentation) -> None:
    """`perf.mae`, `perf.rmse`, `perf.mape` per group, on rows with a label and a prediction.

    Raises:
        InvalidInput: the labels or predictions are not numbers.
    """
    truth, guess = _numbers(table, "label"), _numbers(table, "prediction")
    rows = np.flatnonzero(np.isfinite(truth) & np.isfinite(guess))
    error = np.abs(guess[rows] - truth[rows])
    n = segments.sums(rows=rows)
    _add_ratios(collector, "perf.mae", segments.sums(error, rows), n)
    squared = segments.sums(error * error, rows)
    _add_ratios(collector, "perf.rmse", np.sqrt(squared / np.maximum(n, 1)), np.sign(n), n)
    relative = error / np.maximum(np.abs(truth[rows]), EPS)  # as scikit-learn's MAPE
    _add_ratios(collector, "perf.mape", segments.sums(relative, rows), n)


def _add_scored(collector: Collector, outcomes: Outcomes, segments: Segmentation) -> None:
    rows = np.flatnonzero(outcomes.labelled & np.isfinite(outcomes.score))
    if len(rows) == 0:
        return
    score, truth = outcomes.score[rows], outcomes.label_positive[rows]
    probability = np.clip(np.where(truth, score, 1.0 - score), EPS, 1 - EPS)
    loss = segments.sums(-np.log(probability), rows)
    _add_ratios(collector, "perf.log_loss", loss, segments.sums(rows=rows))
    for partition in segments.by_key:
        codes = partition.codes[rows]
        order = np.argsort(codes, kind="stable")  # by cell: small integers, a radix sort
        bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=partition.cells))))
        for cell, group in enumerate(partition.groups):
            inside = order[bounds[cell] : bounds[cell + 1]]
            auc = _auc(score[inside], truth[inside])
            collector.add(group, "perf.roc_auc", auc, len(inside))


def _auc(score: FloatArray, truth: BoolArray) -> float:
    """ROC AUC, NaN without both classes.

    AUC = U / (positives x negatives), U counting for each positive the negatives scored
    below it plus half of those tied with it: what the ROC curve's trapezoids integrate.
    With both classes' scores sorted, the counts are two binary searches.
    """
    positives, negatives = np.sort(score[truth]), np.sort(score[~truth])
    if len(positives) == 0 or len(negatives) == 0:
        return math.nan
    below = int(np.searchsorted(negatives, positives, side="left").sum())
    not_above = int(np.searchsorted(negatives, positives, side="right").sum())
    return (below + not_above) / 2 / (len(positives) * len(negatives))


def _column(table: pa.Table, name: str, rows: int) -> pa.ChunkedArray:
    if name in table.column_names:
        return table.column(name)
    return pa.chunked_array([pa.nulls(rows, pa.float64())])


def _is_number(column: pa.ChunkedArray) -> bool:
    return column_kind(column) is ColumnKind.NUMERIC or pa.types.is_boolean(column.type)


def _numbers(table: pa.Table, name: str) -> FloatArray:
    column = _column(table, name, table.num_rows)
    if not _is_number(column) and column.null_count < len(column):
        raise InvalidInput(
            f"a regression monitor needs numeric {name}s, got column {name!r} of type "
            f"{column.type}",
            field=name,
        )
    if not _is_number(column):
        return np.full(table.num_rows, np.nan, dtype=np.float64)
    return numeric_values(column)


def _positive_number(positive: int | float | str) -> float:
    try:
        return float(positive)
    except ValueError:
        raise InvalidInput(
            f"positive_label {positive!r} cannot match numeric labels; give a number",
            field="positive_label",
        ) from None


def _positive_text(positive: int | float | str) -> str:
    if isinstance(positive, float) and positive.is_integer():
        return str(int(positive))  # as Arrow writes 1.0 as text
    return str(positive)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "True", "False")
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return pc.cast(column, pa.large_string())


def _flags(values: pa.ChunkedArray | pa.Array) -> BoolArray:
    filled = pc.fill_null(values, False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks() if filled.num_chunks != 1 else filled.chunk(0)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.bool_)
