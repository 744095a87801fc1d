"""Run use cases: the lifecycle, params, metrics, tags and run search.

Every function takes the `Store` first, validates all input before it writes, and raises
Steward errors (never HTTP ones). Experiments, artifacts and datasets have their own modules.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from steward.errors import Conflict, InvalidInput
from steward.store import Store, new_id
from steward.tracking import db
from steward.tracking.entities import (
    END_STATUSES,
    FINISHED,
    RUNNING,
    Metric,
    MetricInput,
    Run,
    RunPage,
)
from steward.tracking.experiments import experiment_not_found
from steward.tracking.hydrate import (
    hydrate,
    load_runs,
    metric_from_row,
    run_from_row,
)
from steward.tracking.lifecycle import logging_to, require_run, require_running, run_not_found
from steward.tracking.search import (
    decode_page_token,
    encode_page_token,
    parse_filter,
    parse_order_by,
)
from steward.tracking.validation import (
    MAX_NAME_CHARS,
    check_integer,
    check_json,
    check_name,
    check_run_id,
    check_text,
    checked_params,
    checked_tags,
    metric_value,
)

__all__ = [
    "MAX_SEARCH_RESULTS",
    "end_run",
    "get_metric_history",
    "get_run",
    "log_batch",
    "log_metrics",
    "log_params",
    "search_runs",
    "set_tags",
    "start_run",
]

log = logging.getLogger(__name__)

MAX_SEARCH_RESULTS = 10_000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_T = TypeVar("_T")


# --- runs ----------------------------------------------------------------------------------


def start_run(
    store: Store,
    experiment_id: str,
    *,
    name: str | None = None,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    user: str = "unknown",
    code_version: Mapping[str, Any] | None = None,
    environment: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> Run:
    """Start a RUNNING run, writing its params and tags in the same transaction.

    Args:
        name: shown in lists; a readable one like `brisk-otter-417` is made when None.
        user: who started it.
        code_version, environment: from `steward.tracking.provenance`, or a client's capture.
        run_id: an id chosen by the caller (1-32 letters, digits, `_`, `-`); new when None.

    Raises:
        InvalidInput: a bad name, key, value, id or document.
        NotFound: no such experiment.
        Conflict: a run with `run_id` exists.
    """
    run = _new_run(store, experiment_id, name, user, code_version, environment, run_id)
    values = checked_params(params or {})
    tag_values = checked_tags(tags or {})
    try:
        with store.db.write() as conn:
            if db.select_experiment(conn, experiment_id=experiment_id) is None:
                raise experiment_not_found(conn, experiment_id)
            db.insert_run(conn, run)
            db.insert_params(conn, run["id"], values)
            db.upsert_tags(conn, run["id"], tag_values)
    except IntegrityError as exc:
        # The experiment was checked above: the one key that can clash is a caller's run_id.
        raise Conflict(f"run {run['id']} already exists; omit run_id", field="run_id") from exc
    log.info(
        "run started run_id=%s experiment_id=%s name=%s", run["id"], experiment_id, run["name"]
    )
    return run_from_row(run, params=values, tags=tag_values)


def _new_run(
    store: Store,
    experiment_id: str,
    name: str | None,
    user: str,
    code_version: Mapping[str, Any] | None,
    environment: Mapping[str, Any] | None,
    run_id: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id() if run_id is None else check_run_id(run_id),
        "experiment_id": experiment_id,
        "name": _random_name() if name is None else check_name(name, "name", "run name"),
        "status": RUNNING,
        "start_ms": store.clock(),
        "end_ms": None,
        "user": check_text(user, "user", "user", MAX_NAME_CHARS),
        "code_version": dict(check_json(code_version or {}, "code_version")),
        "environment": dict(check_json(environment or {}, "environment")),
    }


def end_run(
    store: Store, run_id: str, status: str = FINISHED, *, metrics: Sequence[MetricInput] = ()
) -> Run:
    """End a RUNNING run (see `finish_run`) and return it as stored.

    Raises:
        InvalidInput, NotFound, Conflict: as `finish_run`.
    """
    finish_run(store, run_id, status, metrics=metrics)
    return get_run(store, run_id)


def finish_run(
    store: Store, run_id: str, status: str = FINISHED, *, metrics: Sequence[MetricInput] = ()
) -> None:
    """End a RUNNING run with FINISHED, FAILED or KILLED, without reading it back.

    `metrics` are last points written in the same transaction: a client's final flush and
    the end of its run cost one write, not two.

    Raises:
        InvalidInput: any other status.
        NotFound: no such run.
        Conflict: the run has already ended.
    """
    if status not in END_STATUSES:
        raise InvalidInput(
            f"status {status!r} cannot end a run; use one of {', '.join(END_STATUSES)}",
            field="status",
        )
    rows, latest = _metric_rows(run_id, metrics, store.clock())
    with store.db.write() as conn:
        require_running(conn, run_id, lock="update")
        if rows:
            db.insert_metrics(conn, rows)
            db.upsert_latest_metrics(conn, latest)
        db.update_run_end(conn, run_id, status, store.clock())
    log.info("run ended run_id=%s status=%s", run_id, status)


def get_run(store: Store, run_id: str) -> Run:
    """A run with its params, tags, latest metrics, inputs and artifacts.

    Raises:
        NotFound: no such run.
    """
    with store.db.read() as conn:
        found = load_runs(conn, [run_id])
    if not found:
        raise run_not_found(run_id)
    return found[0]


# --- logging -------------------------------------------------------------------------------


def log_params(store: Store, run_id: str, params: Mapping[str, object]) -> None:
    """Record params; values become strings and are write-once.

    Logging the same value again is a no-op. The whole batch is checked before any write.

    Raises:
        InvalidInput: a bad key or a value over 6000 characters.
        NotFound: no such run.
        Conflict: the run has ended, or a key already holds a different value.
    """
    values = checked_params(params)

    def write() -> None:
        with logging_to(store, run_id) as conn:
            _write_params(conn, run_id, values)

    _once_more_on_race(write)


def log_metrics(store: Store, run_id: str, metrics: Sequence[MetricInput]) -> None:
    """Append metric points in one transaction; NaN and ±inf are kept as they are.

    A point's step defaults to 0, its timestamp to the store's clock.

    Raises:
        InvalidInput: a bad key, a value that is not a number, a step that is not an integer.
        NotFound: no such run.
        Conflict: the run has ended.
    """
    rows, latest = _metric_rows(run_id, metrics, store.clock())
    with logging_to(store, run_id) as conn:
        db.insert_metrics(conn, rows)
        db.upsert_latest_metrics(conn, latest)


def log_batch(
    store: Store,
    run_id: str,
    *,
    metrics: Sequence[MetricInput] = (),
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Metrics, params and tags in one transaction: all are written, or none.

    Raises:
        InvalidInput, NotFound, Conflict: as `log_metrics`, `log_params` and `set_tags`.
    """
    values = checked_params(params or {})
    tag_values = checked_tags(tags or {})
    rows, latest = _metric_rows(run_id, metrics, store.clock())

    def write() -> None:
        with logging_to(store, run_id) as conn:
            _write_params(conn, run_id, values)
            db.upsert_tags(conn, run_id, tag_values)
            db.insert_metrics(conn, rows)
            db.upsert_latest_metrics(conn, latest)

    _once_more_on_race(write)


def set_tags(store: Store, run_id: str, tags: Mapping[str, str]) -> None:
    """Set tags on a running run; a key set again takes the new value.

    Raises:
        InvalidInput: a bad key or a value over 8000 characters.
        NotFound: no such run.
        Conflict: the run has ended.
    """
    tag_values = checked_tags(tags)
    with logging_to(store, run_id) as conn:
        db.upsert_tags(conn, run_id, tag_values)


def get_metric_history(store: Store, run_id: str, key: str) -> list[Metric]:
    """Every point of one metric, by step then time ([] when the run never logged it).

    Raises:
        NotFound: no such run.
    """
    with store.db.read() as conn:
        require_run(conn, run_id)
        return [metric_from_row(row) for row in db.select_metric_history(conn, run_id, key)]


def _write_params(conn: Connection, run_id: str, values: dict[str, str]) -> None:
    stored = db.select_param_values(conn, run_id, list(values)) if values else {}
    clashes = [
        (key, stored[key], new) for key, new in values.items() if stored.get(key, new) != new
    ]
    if clashes:
        key, old, new = clashes[0]
        raise Conflict(
            f"param {key!r} of run {run_id} is already {old!r}; cannot change it to {new!r} "
            "(params are write-once: start a new run for a new value)",
            field=f"params.{key}",
            details=[{"key": k, "stored": o, "received": n} for k, o, n in clashes],
        )
    db.insert_params(conn, run_id, {key: new for key, new in values.items() if key not in stored})


def _once_more_on_race(write: Callable[[], _T]) -> _T:
    try:
        return write()
    except IntegrityError:
        # On PostgreSQL another writer can insert the same param between our check and our
        # insert; the retry sees its value, so it becomes a no-op or a clear Conflict.
        return write()


def _metric_rows(
    run_id: str, metrics: Sequence[MetricInput], now_ms: int
) -> tuple[list[db.MetricRow], list[dict[str, Any]]]:
    """The rows to insert and, per key, the point with the highest (step, timestamp).

    On the hot path of every metric: plain floats and ints skip the slower checks.
    """
    _check_metric_keys(metrics)
    rows: list[db.MetricRow] = []
    latest: dict[str, db.MetricRow] = {}
    for index, metric in enumerate(metrics):
        key, value, step, timestamp = metric.key, metric.value, metric.step, metric.timestamp_ms
        if value.__class__ is not float:
            value = metric_value(value, f"metrics[{index}].value")
        if step.__class__ is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = check_integer(step, f"metrics[{index}].step", "metric step")
        if timestamp is None:
            timestamp = now_ms
        elif timestamp.__class__ is not int or not _INT64_MIN <= timestamp <= _INT64_MAX:
            timestamp = check_integer(timestamp, f"metrics[{index}].timestamp_ms", "timestamp")
        is_nan = value != value  # NaN is the one float unequal to itself
        row = (run_id, key, 0.0 if is_nan else value, is_nan, step, timestamp)
        rows.append(row)
        best = latest.get(key)
        if best is None or (step, timestamp) >= (best[4], best[5]):
            latest[key] = row
    names = ("run_id", "key", "value", "is_nan", "step", "timestamp_ms")
    return rows, [dict(zip(names, row, strict=True)) for row in latest.values()]


def _check_metric_keys(metrics: Sequence[MetricInput]) -> None:
    if isinstance(metrics, Metric) or not isinstance(metrics, Sequence):
        raise InvalidInput(
            f"metrics must be a list of Metric, got {type(metrics).__name__}", field="metrics"
        )
    seen: set[object] = set()
    for index, metric in enumerate(metrics):
        if not hasattr(metric, "timestamp_ms"):
            raise InvalidInput(
                f"metrics[{index}] is a {type(metric).__name__}, not a Metric",
                field=f"metrics[{index}]",
            )
        key = metric.key
        if key.__class__ is not str or key not in seen:
            check_name(key, f"metrics[{index}].key", "metric key")
            seen.add(key)


def _random_name() -> str:
    adjective = random.choice(_ADJECTIVES)
    return f"{adjective}-{random.choice(_NOUNS)}-{random.randrange(1000)}"


_ADJECTIVES: tuple[str, ...] = ("amber", "brave", "brisk", "calm", "clever", "crisp", "eager")
_ADJECTIVES += ("gentle", "keen", "lively", "lucid", "merry", "nimble", "proud", "quick")
_ADJECTIVES += ("quiet", "rapid", "serene", "sharp", "steady", "sunny", "swift", "vivid")
_NOUNS: tuple[str, ...] = ("badger", "bison", "crane", "dolphin", "eagle", "falcon", "fox")
_NOUNS += ("gecko", "heron", "ibis", "koala", "lark", "lynx", "marten", "newt", "otter")
_NOUNS += ("owl", "panda", "puffin", "quail", "raven", "seal", "stork", "wren", "zebra")


# --- search --------------------------------------------------------------------------------


def search_runs(
    store: Store,
    *,
    experiment_ids: Sequence[str],
    filter: str | None = None,
    order_by: Sequence[str] = (),
    max_results: int = 100,
    page_token: str | None = None,
) -> RunPage:
    """One page of the runs in the given experiments (all when empty) matching `filter`.

    Filters and ordering run in SQL; the page is then filled in with one query per related
    table. The default order is newest first. See `search.GRAMMAR` and docs/tracking.md.

    Raises:
        InvalidInput: a malformed filter, order_by item or page token; `max_results`
            outside 1-10000.
    """
    clauses = parse_filter(filter)
    order = parse_order_by(list(order_by))
    offset = decode_page_token(page_token)
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not (1 <= max_results <= MAX_SEARCH_RESULTS)
    ):
        raise InvalidInput(
            f"max_results {max_results!r} is not valid: use 1-{MAX_SEARCH_RESULTS}",
            field="max_results",
        )
    ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
    with store.db.read() as conn:
        rows = db.search_runs(conn, ids, clauses, order, offset=offset, limit=max_results + 1)
        page = hydrate(conn, rows[:max_results])
    more = len(rows) > max_results
    return RunPage(page, encode_page_token(offset + max_results) if more else None)
