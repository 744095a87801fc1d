"""Running monitors: one window end to end, the due windows of every monitor, and the
stored time series they leave.

A window run reads the endpoint's predictions joined to their latest labels (DuckDB over
the Parquet log), compares them with the serving version's training profile (and the same
window one season earlier, when configured), stores every metric, then evaluates the
monitor's alert rules. Re-running a window replaces its results: same data, same rows.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from steward import registry
from steward.config import Settings
from steward.contracts import Contract
from steward.errors import InvalidInput
from steward.monitoring.alerts import AlertTransition, evaluate_rules, record_results
from steward.monitoring.engine import MetricValue, evaluate_window
from steward.monitoring.monitors import Monitor, get_monitor, list_monitors
from steward.monitoring.notifiers import Notifier, Notifiers, alert_text, notifiers_from_settings
from steward.monitoring.series import monitor_key
from steward.monitoring.windows import Window, due_windows, window_at
from steward.predictions import LabelStore, PredictionStore, compact
from steward.stats import Profile
from steward.store import Store
from steward.store.tables import monitor_windows

__all__ = ["WindowRun", "last_label_at_ms", "run_due", "run_monitor", "run_window"]

log = logging.getLogger(__name__)

# Metrics also measured against the seasonal baseline, stored as `seasonal_<metric>`.
SEASONAL = ("drift.", "prediction_drift.", "score_drift.")


@dataclass(frozen=True, slots=True)
class WindowRun:
    """What one window run computed and stored.

    Attributes:
        status: `ok`, `empty` (no predictions) or `failed` (see `error`).
        metrics: how many metric values were stored.
        transitions: alerts that fired or resolved on this window.
    """

    monitor: str
    window: Window
    status: str
    rows: int
    labelled_rows: int
    metrics: int
    seconds: float
    error: str | None = None
    transitions: list[AlertTransition] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "window_start_ms": self.window.start_ms,
            "window_end_ms": self.window.end_ms,
            "status": self.status,
            "rows": self.rows,
            "labelled_rows": self.labelled_rows,
            "metrics": self.metrics,
            "seconds": round(self.seconds, 4),
            "error": self.error,
            "alerts": [_transition(t) for t in self.transitions],
        }


def run_window(
    store: Store,
    settings: Settings,
    monitor: Monitor,
    window: Window,
    *,
    notifiers: Notifiers | Sequence[Notifier] | None = None,
) -> WindowRun:
    """Compute, store and alert on one window of `monitor`. A failure is stored as a
    `failed` window and returned, not raised, so one bad window never stops a catch-up."""
    started = time.perf_counter()
    try:
        table, metrics, profile = _compute(store, settings, monitor, window)
    except Exception as exc:  # a user's data or config: recorded on the window, logged
        log.exception("monitor window failed monitor=%s window=%s", monitor.name, window)
        _store_window(store, monitor, window, "failed", 0, 0, None, error=str(exc))
        elapsed = time.perf_counter() - started
        return WindowRun(monitor.name, window, "failed", 0, 0, 0, elapsed, error=str(exc))
    rows, labelled = table.num_rows, _labelled(table)
    status = "ok" if rows else "empty"
    _store_window(store, monitor, window, status, rows, labelled, profile)
    record_results(store, monitor.name, window.start_ms, window.end_ms, metrics)
    chosen = notifiers if notifiers is not None else notifiers_from_settings(settings)
    transitions = evaluate_rules(store, monitor.name, window.start_ms, notifiers=chosen)
    elapsed = time.perf_counter() - started
    log.info(
        "monitor window computed monitor=%s window=%s rows=%d labelled=%d metrics=%d "
        "alerts=%d seconds=%.3f",
        monitor.name, window, rows, labelled, len(metrics), len(transitions), elapsed,
    )  # fmt: skip
    return WindowRun(
        monitor.name, window, status, rows, labelled, len(metrics), elapsed, None, transitions
    )


def run_monitor(
    store: Store,
    settings: Settings,
    name: str,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    now_ms: int | None = None,
    notifiers: Notifiers | Sequence[Notifier] | None = None,
) -> list[WindowRun]:
    """Run `name` now: the windows overlapping `[start_ms, end_ms)` when given (a backfill
    or a re-run), else its due windows. Compacts the prediction log first.

    Raises:
        NotFound: no such monitor.
        InvalidInput: `end_ms` is not after `start_ms`.
    """
    monitor = get_monitor(store, name)
    compact(settings.resolved_predictions_dir)
    now = store.clock() if now_ms is None else now_ms
    if start_ms is None:
        windows = _due(store, monitor, now)
    else:
        windows = _covering(monitor, start_ms, end_ms if end_ms is not None else now)
    return [run_window(store, settings, monitor, w, notifiers=notifiers) for w in windows]


def run_due(
    store: Store,
    settings: Settings,
    *,
    now_ms: int | None = None,
    notifiers: Notifiers | Sequence[Notifier] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[WindowRun]:
    """One scheduler tick: every enabled monitor's due windows (catching up missed ones),
    then its recent windows again where labels arrived since they were computed.

    `should_stop` is asked between windows, so a shutdown never waits out a long catch-up;
    the windows left are due again at the next tick.
    """
    compact(settings.resolved_predictions_dir)
    now = store.clock() if now_ms is None else now_ms
    runs: list[WindowRun] = []
    for monitor in list_monitors(store):
        if not monitor.is_enabled:
            continue
        windows = _due(store, monitor, now) + _relabelled(store, settings, monitor, now)
        for window in windows:
            if should_stop():
                return runs
            runs.append(run_window(store, settings, monitor, window, notifiers=notifiers))
    return runs


def last_label_at_ms(settings: Settings, endpoint: str) -> int | None:
    """When labels last arrived for `endpoint`, None if never."""
    return LabelStore(settings.resolved_predictions_dir).last_received_ms(endpoint)


def _compute(
    store: Store, settings: Settings, monitor: Monitor, window: Window
) -> tuple[pa.Table, list[MetricValue], Profile | None]:
    config = monitor.config
    labels = LabelStore(settings.resolved_predictions_dir)
    table = labels.window(
        config.endpoint, window.start_ms, window.end_ms, segments=tuple(config.segments)
    )
    if table.num_rows == 0:
        return table, [MetricValue("rows", 0.0, 0)], None
    version = _serving_version(store, config.endpoint, table)
    baseline = Profile.from_dict(version.profile) if version.profile else None
    contract = _contract(version.contract)
    reference = _prediction_reference(store, monitor, window)
    result = evaluate_window(
        table, config, baseline, prediction_baseline=reference, contract=contract
    )
    metrics = list(result.metrics) + _serving_metrics(settings, config.endpoint, window)
    seasonal = _seasonal_profile(store, monitor, window)
    if seasonal is not None:
        again = evaluate_window(table, config, seasonal, prediction_baseline=seasonal)
        metrics += [_seasonal(m) for m in again.metrics if m.metric.startswith(SEASONAL)]
    return table, metrics, result.profile


def _serving_version(store: Store, endpoint: str, table: pa.Table) -> registry.ModelVersion:
    """The version that answered most of the window's rows (the baseline's owner)."""
    counts = Counter(table.column("model_version").to_pylist())
    number = max(counts, key=lambda v: (counts[v], v))
    model = registry.get_endpoint(store, endpoint).model_name
    return registry.get_version(store, model, int(number))


def _contract(document: dict[str, Any] | None) -> Contract | None:
    return None if document is None else Contract.from_dict(document)


def _serving_metrics(settings: Settings, endpoint: str, window: Window) -> list[MetricValue]:
    """Latency and fallback share from the prediction log itself (not label-dependent)."""
    found = PredictionStore(settings.resolved_predictions_dir).read(
        endpoint, window.start_ms, window.end_ms, columns=["latency_ms", "route"]
    )
    rows = found.num_rows
    if rows == 0:
        return []
    latency = found.column("latency_ms").to_numpy(zero_copy_only=False)
    p50, p99 = np.nanpercentile(latency, [50, 99]) if np.isfinite(latency).any() else (0, 0)
    routes = found.column("route").to_pylist()
    fallback = sum(route == "fallback" for route in routes) / rows
    return [
        MetricValue("latency.p50_ms", float(p50), rows),
        MetricValue("latency.p99_ms", float(p99), rows),
        MetricValue("fallback_rate", fallback, rows),
    ]


def _seasonal(metric: MetricValue) -> MetricValue:
    return MetricValue(
        f"seasonal_{metric.metric}",
        metric.value,
        metric.sample_size,
        feature=metric.feature,
        segment=metric.segment,
        drifted=metric.drifted,
    )


def _transition(transition: AlertTransition) -> dict[str, Any]:  # Any: JSON values
    return {
        "kind": transition.kind,
        "rule": transition.rule.name,
        "severity": transition.rule.severity,
        "key": transition.key,
        "value": transition.value,
        "message": alert_text(transition),
    }


def _labelled(table: pa.Table) -> int:
    if "label" not in table.column_names:
        return 0
    return int(table.num_rows - table.column("label").null_count)


def _due(store: Store, monitor: Monitor, now: int) -> list[Window]:
    config = monitor.config
    with store.db.read() as conn:
        last = conn.execute(
            sa.select(sa.func.max(monitor_windows.c.window_end_ms)).where(
                monitor_windows.c.monitor_id == monitor_key(conn, monitor.name)
            )
        ).scalar()
    if last is None:
        first = config.start
        last = (
            int(first.timestamp() * 1000)
            if first is not None
            else window_at(monitor.created_at_ms, config.window_ms).start_ms
        )
    return list(
        due_windows(size_ms=config.window_ms, after_ms=last, now_ms=now, delay_ms=config.delay_ms)
    )


def _covering(monitor: Monitor, start_ms: int, end_ms: int) -> list[Window]:
    if end_ms <= start_ms:
        raise InvalidInput(
            f"the run's end must be after its start, got {start_ms} to {end_ms}", field="end"
        )
    size = monitor.config.window_ms
    first = window_at(start_ms, size)
    return list(
        due_windows(size_ms=size, after_ms=first.start_ms, now_ms=end_ms + size - 1, delay_ms=0)
    )


def _relabelled(store: Store, settings: Settings, monitor: Monitor, now: int) -> list[Window]:
    """Computed windows within the relabel lookback that labels arrived after."""
    labelled_at = last_label_at_ms(settings, monitor.config.endpoint)
    if labelled_at is None:
        return []
    since = now - monitor.config.relabel_lookback_ms
    with store.db.read() as conn:
        rows = conn.execute(
            sa.select(monitor_windows.c.window_start_ms, monitor_windows.c.window_end_ms)
            .where(
                monitor_windows.c.monitor_id == monitor_key(conn, monitor.name),
                monitor_windows.c.window_start_ms >= since,
                monitor_windows.c.computed_at_ms < labelled_at,
                monitor_windows.c.status == "ok",
            )
            .order_by(monitor_windows.c.window_start_ms)
        ).all()
    return [Window(start, end) for start, end in rows]


def _prediction_reference(store: Store, monitor: Monitor, window: Window) -> Profile | None:
    """The monitor's first computed window: the reference for prediction drift."""
    with store.db.read() as conn:
        found = conn.execute(
            sa.select(monitor_windows.c.profile)
            .where(
                monitor_windows.c.monitor_id == monitor_key(conn, monitor.name),
                monitor_windows.c.status == "ok",
                monitor_windows.c.profile.is_not(None),
                monitor_windows.c.window_start_ms < window.start_ms,
            )
            .order_by(monitor_windows.c.window_start_ms)
            .limit(1)
        ).scalar()
    return None if found is None else Profile.from_dict(found)


def _seasonal_profile(store: Store, monitor: Monitor, window: Window) -> Profile | None:
    period = monitor.config.seasonal_period_ms
    if period is None:
        return None
    earlier = window.shifted(period)
    with store.db.read() as conn:
        found = conn.execute(
            sa.select(monitor_windows.c.profile).where(
                monitor_windows.c.monitor_id == monitor_key(conn, monitor.name),
                monitor_windows.c.window_start_ms == earlier.start_ms,
                monitor_windows.c.status == "ok",
            )
        ).scalar()
    return None if found is None else Profile.from_dict(found)


def _store_window(
    store: Store,
    monitor: Monitor,
    window: Window,
    status: str,
    rows: int,
    labelled: int,
    profile: Profile | None,
    *,
    error: str | None = None,
) -> None:
    values = {
        "window_end_ms": window.end_ms,
        "monitor_version": monitor.version,
        "status": status,
        "rows": rows,
        "labelled_rows": labelled,
        "profile": None if profile is None else profile.to_dict(),
        "error": error,
    }
    with store.db.write() as conn:
        key = monitor_key(conn, monitor.name)
        values["computed_at_ms"] = store.clock()
        where = (monitor_windows.c.monitor_id == key) & (
            monitor_windows.c.window_start_ms == window.start_ms
        )
        updated = conn.execute(monitor_windows.update().where(where).values(**values))
        if updated.rowcount == 0:
            conn.execute(
                monitor_windows.insert().values(
                    monitor_id=key, window_start_ms=window.start_ms, **values
                )
            )
