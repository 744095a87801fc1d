"""Data quality of a window, per group: missing values, unseen categories, contract
violations.

Contract violations come from the contract's own vectorised column checks (the ones
`steward.contracts.validate` runs), kept as per-row masks so that each segment's count is
one grouped sum rather than one validation per segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from steward.contracts import Contract
from steward.contracts.cells import read_cells
from steward.contracts.checks import check_column
from steward.contracts.report import ROW_KINDS
from steward.monitoring.grouping import Segmentation
from steward.monitoring.metrics import (
    CONTRACT_VIOLATION_RATE,
    MISSING_RATE,
    MISSING_RATE_CHANGE,
    UNSEEN_CATEGORY_RATE,
    UNSEEN_CATEGORY_RATE_CHANGE,
    Collector,
)
from steward.stats import CategoricalSummary, ColumnSummary

__all__ = ["add_contract_violations", "add_missing_and_unseen", "violation_masks"]

BoolArray = npt.NDArray[np.bool_]
INPUT_PREFIX = "in_"


def add_missing_and_unseen(
    collector: Collector,
    feature: str,
    groups: Sequence[ColumnSummary],
    baseline: ColumnSummary | None,
) -> None:
    """`missing_rate` and, for categorical features, `unseen_category_rate` per group;
    with a baseline also their `_change` against the baseline's own rates."""
    base_missing = _missing_share(baseline) if baseline is not None else None
    base_unseen = _other_share(baseline) if isinstance(baseline, CategoricalSummary) else None
    for group, summary in enumerate(groups):
        rows = summary.missing + summary.count
        if rows == 0:
            continue
        rate = summary.missing / rows
        collector.add(group, MISSING_RATE, rate, rows, feature=feature)
        if base_missing is not None:
            collector.add(group, MISSING_RATE_CHANGE, rate - base_missing, rows, feature=feature)
        if not isinstance(summary, CategoricalSummary) or base_unseen is None or not summary.count:
            continue
        unseen = summary.other / summary.count
        collector.add(group, UNSEEN_CATEGORY_RATE, unseen, summary.count, feature=feature)
        collector.add(
            group, UNSEEN_CATEGORY_RATE_CHANGE, unseen - base_unseen, summary.count, feature=feature
        )


def violation_masks(table: pa.Table, contract: Contract) -> dict[str, BoolArray | None]:
    """Per contract column (and extra input column the contract rejects), the rows that
    break a row-level rule; None for a column every row breaks (missing, rejected)."""
    names = set(table.column_names)
    masks: dict[str, BoolArray | None] = {}
    for column in contract.columns:
        name = INPUT_PREFIX + column.name
        if name not in names:
            if column.name in contract.required_columns:
                masks[column.name] = None
            continue
        source = table.column(name)
        findings = check_column(column, read_cells(source, column.logical_type), source)
        mask = np.zeros(table.num_rows, dtype=np.bool_)
        for finding in findings:
            if finding.kind in ROW_KINDS and finding.rows is not None:
                mask |= finding.rows
        masks[column.name] = mask
    if contract.extra_columns == "reject":
        known = set(contract.column_names)
        for name in table.column_names:
            feature = name.removeprefix(INPUT_PREFIX)
            if name.startswith(INPUT_PREFIX) and feature not in known:
                masks[feature] = None
    return masks


def add_contract_violations(
    collector: Collector, table: pa.Table, contract: Contract, segments: Segmentation
) -> None:
    """`contract_violation_rate` per group: rows breaking any rule, then per column."""
    rows = segments.group_rows
    masks = violation_masks(table, contract)
    invalid = np.zeros(table.num_rows, dtype=np.bool_)
    for mask in masks.values():
        invalid = np.ones_like(invalid) if mask is None else invalid | mask
    _add_rates(collector, segments, rows, invalid, None)
    for feature, mask in masks.items():
        _add_rates(collector, segments, rows, mask, feature)


def _add_rates(
    collector: Collector,
    segments: Segmentation,
    rows: npt.NDArray[np.int64],
    mask: BoolArray | None,
    feature: str | None,
) -> None:
    if mask is None:
        broken = rows.astype(np.float64)
    elif not mask.any():
        broken = np.zeros(len(rows), dtype=np.float64)
    else:
        broken = segments.sums(mask)
    for group, count in enumerate(rows):
        if count:
            collector.add(
                group, CONTRACT_VIOLATION_RATE, broken[group] / count, int(count), feature=feature
            )


def _missing_share(summary: ColumnSummary) -> float | None:
    total = summary.missing + summary.count
    return summary.missing / total if total else None


def _other_share(summary: CategoricalSummary) -> float | None:
    return summary.other / summary.count if summary.count else None
