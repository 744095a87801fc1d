"""Drift metrics of a window, per group: each feature's tests, prediction and score drift,
and PCA reconstruction (multivariate) drift.

Column drift reads the per-group summaries against the baseline through the statistics
engine's registry (`steward.stats.evaluate`), so every registered test works here. The
multivariate measure scores one seeded sample of the window's rows (as `drift_report`
does) and splits the sampled rows' errors by group.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from steward.monitoring.grouping import Segmentation
from steward.monitoring.metrics import MULTIVARIATE_DRIFT, Collector
from steward.monitoring.summaries import column_kind, numeric_values
from steward.stats import (
    ColumnSummary,
    DriftTestConfig,
    Moments,
    PcaReconstruction,
    Reconstruction,
    evaluate,
)
from steward.stats.frames import Column, ColumnKind, category_codes
from steward.stats.multivariate import multivariate_drift
from steward.stats.pca_fit import sample_rows
from steward.stats.reconstruction import row_errors

__all__ = ["SCORED_ROWS", "add_column_drift", "add_multivariate_drift"]

SCORED_ROWS = 20_000  # rows scored for multivariate drift, as `steward.stats.drift_report`
SEED = 0


def add_column_drift(
    collector: Collector,
    prefix: str,
    name: str,
    reference: ColumnSummary,
    groups: Sequence[ColumnSummary],
    tests: Sequence[DriftTestConfig],
    *,
    feature: str | None,
    min_verdict: int,
) -> None:
    """`<prefix>.<test>` per group and test (plus `.p_value` for tests that have one).

    A test without enough data on either side (`not_enough_data`) gives no value; with
    fewer than `min_verdict` values, the value comes without a verdict.
    """
    for group, current in enumerate(groups):
        for config in tests:
            result = evaluate(config, name, reference, current)
            if result.statistic is None:
                continue
            metric = f"{prefix}.{config.name}"
            collector.add(
                group,
                metric,
                result.statistic,
                current.count,
                feature=feature,
                drifted=result.is_drifted if current.count >= min_verdict else None,
            )
            if result.p_value is not None:
                collector.add(
                    group, f"{metric}.p_value", result.p_value, current.count, feature=feature
                )


def add_multivariate_drift(
    collector: Collector,
    table: pa.Table,
    columns: Mapping[str, str],
    fitted: Reconstruction,
    config: PcaReconstruction,
    segments: Segmentation,
    min_verdict: int,
) -> None:
    """`drift.multivariate` per group: relative change of the mean reconstruction error.

    Args:
        columns: feature name -> window column, for every column the PCA was fitted on.
        min_verdict: fewer scored rows than this give the value without a verdict.
    """
    rows = table.num_rows
    picked = (
        sample_rows(rows, SCORED_ROWS, SEED)
        if rows > SCORED_ROWS
        else np.arange(rows, dtype=np.int64)
    )
    if len(picked) == 0:
        return
    taken = pa.array(picked)
    encoded = [
        _encoded(fitted, name, table.column(columns[name]).take(taken)) for name in fitted.columns
    ]
    errors = row_errors(fitted, encoded)
    for partition in segments.partitions:
        codes = partition.codes[picked]
        per_cell = [Moments.of_values(errors[codes == cell]) for cell in range(partition.cells)]
        for position, group in enumerate(partition.groups):
            members = np.flatnonzero(partition.members[position])
            moments = functools.reduce(Moments.merge, [per_cell[c] for c in members])
            result = multivariate_drift(config, fitted.reference_error, moments)
            if result.statistic is None:
                continue
            drifted = result.is_drifted if moments.count >= min_verdict else None
            collector.add(
                group, MULTIVARIATE_DRIFT, result.statistic, moments.count, drifted=drifted
            )
            if result.p_value is not None:
                collector.add(group, f"{MULTIVARIATE_DRIFT}.p_value", result.p_value, moments.count)


def _encoded(fitted: Reconstruction, name: str, values: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """The sampled rows as the PCA reads them: numbers, or a category's reference share."""
    encoding = fitted.encodings.get(name)
    if encoding is None:
        if column_kind(values) is ColumnKind.NUMERIC:
            return numeric_values(values)
        return np.full(len(values), np.nan)
    if column_kind(values) is not ColumnKind.CATEGORICAL:
        return np.full(len(values), np.nan)
    column = Column(name, ColumnKind.CATEGORICAL, None, str(values.type), values)
    return encoding.encode(category_codes(column, encoding.categories, slice(None)))
