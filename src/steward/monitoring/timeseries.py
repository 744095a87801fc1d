"""Reading what monitors stored: metric time series, computed windows, latest values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from steward.monitoring.series import monitor_key
from steward.store import Store
from steward.store.tables import monitor_results, monitor_windows, monitors

__all__ = [
    "LatestValue",
    "ResultPoint",
    "WindowRecord",
    "latest_values",
    "query_results",
    "query_windows",
]

MAX_POINTS = 100_000


@dataclass(frozen=True, slots=True)
class ResultPoint:
    """One metric of one window; `feature`/`segment` are None when they do not apply, and
    `value` is None where the metric was undefined (e.g. ROC AUC with one class)."""

    window_start_ms: int
    window_end_ms: int
    metric: str
    feature: str | None
    segment: str | None
    value: float | None
    sample_size: int
    drifted: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_start_ms": self.window_start_ms,
            "window_end_ms": self.window_end_ms,
            "metric": self.metric,
            "feature": self.feature,
            "segment": self.segment,
            "value": self.value,
            "sample_size": self.sample_size,
            "drifted": self.drifted,
        }


@dataclass(frozen=True, slots=True)
class WindowRecord:
    window_start_ms: int
    window_end_ms: int
    monitor_version: int
    status: str
    rows: int
    labelled_rows: int
    error: str | None
    computed_at_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_start_ms": self.window_start_ms,
            "window_end_ms": self.window_end_ms,
            "monitor_version": self.monitor_version,
            "status": self.status,
            "rows": self.rows,
            "labelled_rows": self.labelled_rows,
            "error": self.error,
            "computed_at_ms": self.computed_at_ms,
        }


@dataclass(frozen=True, slots=True)
class LatestValue:
    monitor: str
    endpoint: str
    metric: str
    feature: str
    segment: str
    value: float


def query_results(
    store: Store,
    monitor: str,
    *,
    metric: str | None = None,
    feature: str | None = None,
    segment: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = MAX_POINTS,
) -> list[ResultPoint]:
    """Stored metrics of `monitor`, oldest window first, filtered by any of the arguments;
    `segment=""` keeps overall values only.

    Raises:
        NotFound: no such monitor.
    """
    table = monitor_results
    with store.db.read() as conn:
        query = sa.select(table).where(table.c.monitor_id == monitor_key(conn, monitor))
        for column, wanted in ((table.c.metric, metric), (table.c.feature, feature)):
            if wanted is not None:
                query = query.where(column == wanted)
        if segment is not None:
            query = query.where(table.c.segment == segment)
        if start_ms is not None:
            query = query.where(table.c.window_start_ms >= start_ms)
        if end_ms is not None:
            query = query.where(table.c.window_start_ms < end_ms)
        order = (table.c.window_start_ms, table.c.metric, table.c.feature, table.c.segment)
        rows = conn.execute(query.order_by(*order).limit(limit)).mappings().all()
    return [_point(row) for row in rows]


def query_windows(store: Store, monitor: str, *, limit: int = 1000) -> list[WindowRecord]:
    """The monitor's computed windows, newest first.

    Raises:
        NotFound: no such monitor.
    """
    table = monitor_windows
    with store.db.read() as conn:
        query = (
            sa.select(table)
            .where(table.c.monitor_id == monitor_key(conn, monitor))
            .order_by(table.c.window_start_ms.desc())
            .limit(limit)
        )
        rows = conn.execute(query).mappings().all()
    return [
        WindowRecord(
            window_start_ms=row["window_start_ms"],
            window_end_ms=row["window_end_ms"],
            monitor_version=row["monitor_version"],
            status=row["status"],
            rows=row["rows"],
            labelled_rows=row["labelled_rows"],
            error=row["error"],
            computed_at_ms=row["computed_at_ms"],
        )
        for row in rows
    ]


def latest_values(store: Store) -> list[LatestValue]:
    """Every monitor's metrics from its newest computed window: what /metrics exports."""
    results, windows = monitor_results, monitor_windows
    newest = (
        sa.select(windows.c.monitor_id, sa.func.max(windows.c.window_start_ms).label("start"))
        .where(windows.c.status != "failed")
        .group_by(windows.c.monitor_id)
        .subquery()
    )
    query = (
        sa.select(
            monitors.c.name,
            monitors.c.endpoint,
            results.c.metric,
            results.c.feature,
            results.c.segment,
            results.c.value,
        )
        .join(newest, newest.c.monitor_id == results.c.monitor_id)
        .join(monitors, monitors.c.id == results.c.monitor_id)
        .where(results.c.window_start_ms == newest.c.start, results.c.value.is_not(None))
    )
    with store.db.read() as conn:
        rows = conn.execute(query).all()
    return [LatestValue(*row) for row in rows]


def _point(row: sa.RowMapping) -> ResultPoint:
    return ResultPoint(
        window_start_ms=row["window_start_ms"],
        window_end_ms=row["window_end_ms"],
        metric=row["metric"],
        feature=row["feature"] or None,
        segment=row["segment"] or None,
        value=row["value"],
        sample_size=row["sample_size"],
        drifted=row["drifted"],
    )
