"""One window's metrics: data quality, input drift, prediction drift, realised performance
and KPIs, for the whole window and every segment, in about one pass over its columns.

Pure computation: an Arrow table in (one window of the prediction log joined to its
labels), plain values out. Reading the log, scheduling and storing results are the
monitor's job (`steward.monitoring.runs`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from steward.contracts import Contract
from steward.errors import InvalidInput
from steward.monitoring.drift import add_column_drift, add_multivariate_drift
from steward.monitoring.grouping import Segmentation, segment_rows
from steward.monitoring.kpis import add_kpis
from steward.monitoring.metrics import Collector, MetricValue, WindowResult
from steward.monitoring.performance import (
    add_classification,
    add_labelled_share,
    add_prediction_summary,
    add_regression,
    read_outcomes,
)
from steward.monitoring.quality import INPUT_PREFIX, add_contract_violations, add_missing_and_unseen
from steward.monitoring.spec import MonitorSpec
from steward.monitoring.summaries import column_kind, group_summaries
from steward.stats import ColumnSummary, Profile, profile

__all__ = ["MetricValue", "WindowResult", "evaluate_window"]

PREDICTION_COLUMNS = ("prediction", "score")  # profiled with the inputs, drift-tested apart


def evaluate_window(
    table: pa.Table,
    spec: MonitorSpec,
    baseline: Profile | None,
    *,
    prediction_baseline: Profile | None = None,
    contract: Contract | None = None,
) -> WindowResult:
    """Every metric of one window (docs/monitoring.md#what-a-monitor-computes).

    Args:
        table: the window: `in_<feature>` inputs, `prediction`, `score`, `label`,
            `outcome_<name>` and `seg_<key>` columns (those absent are skipped).
        spec: what to compute.
        baseline: the profile drift is measured against: the serving version's training
            profile, or a seasonal one (an earlier window's `WindowResult.profile`). None:
            no input drift; the window is profiled on its own.
        prediction_baseline: a profile with `prediction` and/or `score` columns (e.g. an
            earlier window's profile) for prediction and score drift; None: none computed.
        contract: when given, rows breaking it are counted per column and segment.

    Raises:
        InvalidInput: an argument has the wrong type, a named feature, segment key or KPI
            outcome is not in the window or the baseline, or a column's kind differs from
            the baseline's.
    """
    _check_arguments(table, spec, baseline, prediction_baseline, contract)
    features = _features(table, spec, baseline)
    segments = segment_rows(table, spec.segments, spec.max_segment_values)
    collector = Collector(segments.labels, segments.group_rows.tolist(), spec.min_rows)
    reference = baseline if baseline is not None else _own_profile(table, features)
    window: dict[str, ColumnSummary] = {}
    for feature in features:
        known = reference.columns[feature]
        groups = group_summaries(feature, table.column(INPUT_PREFIX + feature), known, segments)
        window[feature] = groups[0]
        add_missing_and_unseen(collector, feature, groups, known if baseline else None)
        if baseline is not None:
            tests = spec.drift_tests.for_column(feature, known.kind)
            add_column_drift(
                collector,
                "drift",
                feature,
                known,
                groups,
                tests,
                feature=feature,
                min_verdict=spec.min_drift_samples,
            )
    _add_multivariate(collector, table, spec, baseline, features, segments)
    window.update(_prediction_drift(collector, table, spec, prediction_baseline, segments))
    if contract is not None:
        add_contract_violations(collector, table, contract, segments)
    _add_performance(collector, table, spec, segments)
    add_kpis(collector, table, spec.kpis, segments)
    own = Profile(
        table.num_rows,
        window,
        reference.bins,
        reference.categorical_top_k,
        reference.sketch_size,
        reference.reconstruction,
    )
    return WindowResult(table.num_rows, collector.metrics(), own)


def _check_arguments(
    table: object,
    spec: object,
    baseline: object,
    prediction_baseline: object,
    contract: object,
) -> None:
    for name, value, kind, accepted in (
        ("table", table, pa.Table, "a pyarrow.Table"),
        ("spec", spec, MonitorSpec, "a MonitorSpec"),
        ("baseline", baseline, (Profile, type(None)), "a steward.stats.Profile or None"),
        ("prediction_baseline", prediction_baseline, (Profile, type(None)), "a Profile or None"),
        ("contract", contract, (Contract, type(None)), "a steward.contracts.Contract or None"),
    ):
        if not isinstance(value, kind):
            raise InvalidInput(f"{name} must be {accepted}, got {type(value).__name__}", field=name)


def _features(table: pa.Table, spec: MonitorSpec, baseline: Profile | None) -> list[str]:
    """The features compared: the spec's, or every input the baseline (if any) profiles."""
    inputs = [
        n.removeprefix(INPUT_PREFIX) for n in table.column_names if n.startswith(INPUT_PREFIX)
    ]
    if spec.features is None:
        chosen = [
            name
            for name in inputs
            if (baseline is None and column_kind(table.column(INPUT_PREFIX + name)) is not None)
            or (baseline is not None and name in baseline.columns)
        ]
    else:
        chosen = list(spec.features)
        absent = [name for name in chosen if name not in inputs]
        if absent:
            raise InvalidInput(
                f"features {absent} have no in_<feature> column in the window; its inputs: "
                f"{', '.join(inputs) or 'none'}",
                field="features",
            )
        unknown = [name for name in chosen if baseline is not None and name not in baseline.columns]
        if unknown:
            raise InvalidInput(
                f"features {unknown} are not in the baseline profile; it has: "
                f"{', '.join(baseline.columns) if baseline else ''}",
                field="features",
            )
    reserved = [name for name in chosen if name in PREDICTION_COLUMNS]
    if reserved:
        raise InvalidInput(
            f"input features may not be named {reserved}: the window profile keeps the "
            "model's prediction and score under those names",
            field="features",
        )
    return chosen


def _own_profile(table: pa.Table, features: list[str]) -> Profile:
    """Without a baseline, the window is profiled on its own edges and categories."""
    inputs = table.select([INPUT_PREFIX + name for name in features]).rename_columns(features)
    return profile(inputs, multivariate=False)


def _add_multivariate(
    collector: Collector,
    table: pa.Table,
    spec: MonitorSpec,
    baseline: Profile | None,
    features: list[str],
    segments: Segmentation,
) -> None:
    fitted = baseline.reconstruction if baseline is not None else None
    if spec.multivariate is None or fitted is None or not set(fitted.columns) <= set(features):
        return
    columns = {name: INPUT_PREFIX + name for name in fitted.columns}
    config = spec.multivariate.config()
    add_multivariate_drift(
        collector, table, columns, fitted, config, segments, spec.min_drift_samples
    )


def _prediction_drift(
    collector: Collector,
    table: pa.Table,
    spec: MonitorSpec,
    reference: Profile | None,
    segments: Segmentation,
) -> Mapping[str, ColumnSummary]:
    """`prediction_drift.*` and `score_drift.*` against the prediction baseline, and both
    columns' summaries for the window profile (on their own edges without a baseline)."""
    found: dict[str, ColumnSummary] = {}
    for name in PREDICTION_COLUMNS:
        if name not in table.column_names or column_kind(table.column(name)) is None:
            continue
        column = table.column(name)
        if reference is None or name not in reference.columns:
            found[name] = profile(pa.table({name: column}), multivariate=False).columns[name]
            continue
        known = reference.columns[name]
        groups = group_summaries(name, column, known, segments)
        found[name] = groups[0]
        tests = spec.drift_tests.for_column(name, known.kind)
        add_column_drift(
            collector,
            f"{name}_drift",
            name,
            known,
            groups,
            tests,
            feature=None,
            min_verdict=spec.min_drift_samples,
        )
    return found


def _add_performance(
    collector: Collector, table: pa.Table, spec: MonitorSpec, segments: Segmentation
) -> None:
    outcomes = read_outcomes(table, spec.positive_label)
    add_labelled_share(collector, outcomes, segments)
    add_prediction_summary(collector, spec.task, outcomes, table, segments)
    if spec.task == "classification":
        add_classification(collector, outcomes, segments)
    else:
        add_regression(collector, table, segments)
