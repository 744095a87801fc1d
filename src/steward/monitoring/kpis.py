"""Business KPIs over outcome fields, per group: `kpi.<name>`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from steward.errors import InvalidInput
from steward.monitoring.grouping import Segmentation
from steward.monitoring.metrics import Collector
from steward.monitoring.spec import Kpi
from steward.monitoring.summaries import column_kind, numeric_values
from steward.stats import ColumnKind

__all__ = ["OUTCOME_PREFIX", "add_kpis", "outcome_column"]

OUTCOME_PREFIX = "outcome_"


def outcome_column(table: pa.Table, kpi: Kpi) -> str:
    """The window column a KPI reads: `outcome_<field>`, or `field` if it names one.

    Raises:
        InvalidInput: no such outcome column, or it is not numeric.
    """
    names = table.column_names
    for name in (OUTCOME_PREFIX + kpi.field, kpi.field):
        if name.startswith(OUTCOME_PREFIX) and name in names:
            column = table.column(name)
            if column_kind(column) is not ColumnKind.NUMERIC and column.null_count < len(column):
                raise InvalidInput(
                    f"KPI {kpi.name!r} reads {name!r}, of type {column.type}; outcomes "
                    "aggregated by a KPI must be numbers",
                    field=f"kpis.{kpi.name}.field",
                )
            return name
    known = [n.removeprefix(OUTCOME_PREFIX) for n in names if n.startswith(OUTCOME_PREFIX)]
    raise InvalidInput(
        f"KPI {kpi.name!r} reads outcome {kpi.field!r}, which the window does not have; "
        f"outcomes present: {', '.join(known) or 'none'}",
        field=f"kpis.{kpi.name}.field",
    )


def add_kpis(
    collector: Collector, table: pa.Table, kpis: Sequence[Kpi], segments: Segmentation
) -> None:
    """Each KPI per group; `mean` is absent in a group where no row has the outcome.

    Raises:
        InvalidInput: a KPI's outcome column is absent or not numeric.
    """
    rows = segments.group_rows.astype(np.float64)
    totals = segments.sums
    for kpi in kpis:
        column = table.column(outcome_column(table, kpi))
        values = numeric_values(column) if column.null_count < len(column) else _nans(column)
        present = np.isfinite(values)
        count = totals(present)
        numerator: npt.NDArray[np.float64]
        denominator: npt.NDArray[np.float64] | None = None
        if kpi.agg == "count":
            numerator = count
        elif kpi.agg == "rate":
            numerator, denominator = totals(present & (values != 0)), rows
        else:
            numerator = totals(np.where(present, values, 0.0))
            denominator = count if kpi.agg == "mean" else None
        sizes = count if kpi.agg == "mean" else rows
        for group, size in enumerate(sizes):
            if not rows[group]:
                continue
            if denominator is None:
                collector.add(group, f"kpi.{kpi.name}", numerator[group], int(size))
            elif denominator[group] > 0:
                value = numerator[group] / denominator[group]
                collector.add(group, f"kpi.{kpi.name}", value, int(size))


def _nans(column: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    return np.full(len(column), np.nan, dtype=np.float64)
