"""Monitor results as time series: every metric of every window, for charts and alert rules.

A result is keyed by (monitor, window start, metric, feature, segment), with `''` for a
feature or segment that does not apply. Writing the same window again replaces its values,
so a recomputed window (late labels, a re-run) never duplicates anything.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from steward.errors import InvalidInput, NotFound
from steward.store import Store
from steward.store.tables import monitor_results, monitors

__all__ = [
    "LOOKBACK_WINDOWS",
    "MetricLike",
    "MetricResult",
    "Point",
    "monitor_key",
    "recent_points",
    "record_results",
    "write_results",
]

_R = monitor_results.c
_KEY = ("monitor_id", "window_start_ms", "metric", "feature", "segment")
# Qualifying windows further back than this many window lengths (times the depth asked
# for) are not looked at: a breach that long ago is not "consecutive" with today's.
LOOKBACK_WINDOWS = 100


class MetricLike(Protocol):
    """Anything shaped like one computed metric (the engine's values, `MetricResult`)."""

    @property
    def metric(self) -> str: ...
    @property
    def value(self) -> float | None: ...
    @property
    def sample_size(self) -> int: ...
    @property
    def feature(self) -> str | None: ...
    @property
    def segment(self) -> str | None: ...
    @property
    def drifted(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric of one window; `feature` and `segment` are '' or None when not applicable."""

    metric: str
    value: float | None
    sample_size: int
    feature: str | None = ""
    segment: str | None = ""
    drifted: bool | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """One stored result, as alert evaluation reads it."""

    feature: str
    segment: str
    window_start_ms: int
    window_end_ms: int
    value: float
    sample_size: int


def record_results(
    store: Store,
    monitor: str,
    window_start_ms: int,
    window_end_ms: int,
    results: Iterable[MetricLike],
) -> int:
    """Store the results of monitor `monitor`'s window `[window_start_ms, window_end_ms)`.

    An upsert: a result already stored for the same metric, feature and segment is
    replaced. NaN is stored as NULL; an infinite value as the largest double of its sign,
    so it still compares and stays JSON-safe. Returns the number of results written.

    Raises:
        NotFound: no monitor of that name.
        InvalidInput: an empty window, or a result without a metric name or with a
            negative sample size.
    """
    with store.db.write() as conn:
        key = monitor_key(conn, monitor)
        return write_results(conn, key, window_start_ms, window_end_ms, results)


def write_results(
    conn: Connection,
    monitor_id: int,
    window_start_ms: int,
    window_end_ms: int,
    results: Iterable[MetricLike],
) -> int:
    """`record_results` inside the caller's write transaction, by monitor id."""
    if window_end_ms <= window_start_ms:
        raise InvalidInput(
            f"window [{window_start_ms}, {window_end_ms}) is empty; the end must be after "
            "the start (epoch milliseconds)",
            field="window_end_ms",
        )
    window = {"monitor_id": monitor_id, "window_start_ms": window_start_ms}
    rows = {}
    for result in results:
        row = {**window, **_row(result), "window_end_ms": window_end_ms}
        rows[tuple(row[k] for k in _KEY)] = row  # the last value of a repeated key wins
    if rows:
        conn.execute(_upsert(conn), list(rows.values()))
    return len(rows)


def recent_points(
    conn: Connection,
    monitor_id: int,
    metric: str,
    *,
    upto_ms: int,
    feature: str | None,
    segment: str | None,
    min_samples: int,
    depth: int,
) -> list[Point]:
    """Per (feature, segment), the newest `depth` qualifying results up to `upto_ms`.

    Qualifying: a value that is not NULL and a sample size of at least `min_samples`.
    `feature` None means every feature; `segment` None means overall only ('') and `'*'`
    every segment but the overall one. Ordered by feature, segment, newest first.
    """
    since_ms = upto_ms - _lookback_ms(conn, monitor_id, metric, upto_ms, depth)
    conditions = [
        _R.monitor_id == monitor_id,
        _R.metric == metric,
        _R.window_start_ms <= upto_ms,
        _R.window_start_ms >= since_ms,
        _R.sample_size >= min_samples,
        _R.value.is_not(None),
    ]
    if feature is not None:
        conditions.append(_R.feature == feature)
    conditions.append(_R.segment != "" if segment == "*" else _R.segment == (segment or ""))
    rank = sa.func.row_number().over(
        partition_by=(_R.feature, _R.segment), order_by=_R.window_start_ms.desc()
    )
    names = ("feature", "segment", "window_start_ms", "window_end_ms", "value", "sample_size")
    ranked = sa.select(*(_R[n] for n in names), rank.label("rank")).where(*conditions).subquery()
    query = (
        sa.select(*(ranked.c[n] for n in names))
        .where(ranked.c.rank <= depth)
        .order_by(ranked.c.feature, ranked.c.segment, ranked.c.window_start_ms.desc())
    )
    return [Point(*row) for row in conn.execute(query)]


def monitor_key(conn: Connection, name: str) -> int:
    """The id of monitor `name`.

    Raises:
        NotFound: no such monitor; the message lists those there are.
    """
    if not isinstance(name, str) or "\x00" in name:
        raise InvalidInput(f"monitor name {name!r} is not a name", field="monitor")
    key = conn.execute(sa.select(monitors.c.id).where(monitors.c.name == name)).scalar()
    if key is not None:
        return int(key)
    names = list(conn.execute(sa.select(monitors.c.name).order_by(monitors.c.name)).scalars())
    there = f"monitors: {', '.join(names)}" if names else "no monitors yet"
    raise NotFound(f"no monitor {name!r} ({there})", field="monitor")


def _lookback_ms(conn: Connection, monitor_id: int, metric: str, upto_ms: int, depth: int) -> int:
    # The window length is read from the newest result, so no monitor config is needed.
    query = (
        sa.select(_R.window_end_ms - _R.window_start_ms)
        .where(_R.monitor_id == monitor_id, _R.metric == metric, _R.window_start_ms <= upto_ms)
        .order_by(_R.window_start_ms.desc())
        .limit(1)
    )
    length = conn.execute(query).scalar() or 0
    return int(length) * LOOKBACK_WINDOWS * depth


def _row(result: MetricLike) -> dict[str, Any]:  # Any: column values
    metric, size = result.metric, result.sample_size
    if not isinstance(metric, str) or not metric or len(metric) > 128:
        raise InvalidInput(
            f"result metric {metric!r} is invalid; use a name of 1 to 128 characters",
            field="metric",
        )
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 0:
        raise InvalidInput(
            f"result {metric!r} has sample size {size!r}; use a whole number of at least 0",
            field="sample_size",
        )
    for field, text, limit in (("feature", result.feature, 256), ("segment", result.segment, 512)):
        if text is not None and (not isinstance(text, str) or len(text) > limit or "\x00" in text):
            raise InvalidInput(
                f"result {metric!r} has {field} {text!r}; use text of at most {limit} "
                "characters without NUL, or '' when it does not apply",
                field=field,
            )
    drifted = result.drifted
    return {
        "metric": metric,
        "feature": result.feature or "",
        "segment": result.segment or "",
        "value": _storable(result.value),
        "sample_size": int(size),
        "drifted": None if drifted is None else bool(drifted),
    }


def _storable(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return math.copysign(sys.float_info.max, value)
    return float(value)


def _upsert(conn: Connection) -> Any:  # Any: the dialect's INSERT ... ON CONFLICT statement
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(monitor_results)
    changed = ("window_end_ms", "value", "sample_size", "drifted")
    return statement.on_conflict_do_update(
        index_elements=list(_KEY), set_={name: statement.excluded[name] for name in changed}
    )
