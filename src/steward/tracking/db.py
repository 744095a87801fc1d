"""Every SQL statement of tracking, in SQLAlchemy Core; each function runs inside the caller's
transaction (`store.db.read()` / `store.db.write()`) and returns plain rows or values.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Row

from steward.store.tables import (
    datasets,
    experiments,
    latest_metrics,
    metrics,
    params,
    run_artifacts,
    run_inputs,
    run_tags,
    runs,
)
from steward.tracking.search import Clause, OrderKey

__all__ = [
    "MetricRow",
    "Record",
    "insert_dataset",
    "insert_experiment",
    "insert_metrics",
    "insert_params",
    "insert_run",
    "link_run_input",
    "search_runs",
    "select_artifact",
    "select_artifacts",
    "select_dataset",
    "select_experiment",
    "select_experiment_names",
    "select_experiments",
    "select_latest_metrics",
    "select_metric_history",
    "select_param_values",
    "select_params",
    "select_run_inputs",
    "select_run_status",
    "select_runs",
    "select_tags",
    "update_dataset_documents",
    "update_run_end",
    "upsert_artifacts",
    "upsert_latest_metrics",
    "upsert_tags",
]

Record = Row[*tuple[Any, ...]]
"""A result row of any shape."""

MetricRow = tuple[str, str, float, bool, int, int]
"""(run_id, key, value, is_nan, step, timestamp_ms), in the column order of `metrics`."""

_METRIC_COLUMNS = ("run_id", "key", "value", "is_nan", "step", "timestamp_ms")
_ATTRIBUTE_COLUMNS = {
    "status": runs.c.status,
    "name": runs.c.name,
    "user": runs.c.user,
    "run_id": runs.c.id,
    "experiment_id": runs.c.experiment_id,
    "start_time": runs.c.start_ms,
    "end_time": runs.c.end_ms,
}
_KEYED_TABLES = {"params": params, "tags": run_tags, "metrics": latest_metrics}
_OPERATORS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _bind(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


def _ids(name: str = "ids") -> sa.BindParameter[Any]:
    return sa.bindparam(name, expanding=True)


# Statements are built once: building one per call costs more than running it on SQLite.
_SELECT_EXPERIMENT_BY_ID = sa.select(experiments).where(experiments.c.id == _bind("value"))
_SELECT_EXPERIMENT_BY_NAME = sa.select(experiments).where(experiments.c.name == _bind("value"))
_SELECT_EXPERIMENTS = sa.select(experiments).order_by(
    experiments.c.created_at_ms, experiments.c.name
)
_SELECT_EXPERIMENT_NAMES = sa.select(experiments.c.name)
_SELECT_STATUS = sa.select(runs.c.status).where(runs.c.id == _bind("run_id"))
_SELECT_STATUS_LOCKED = {
    None: _SELECT_STATUS,
    "share": _SELECT_STATUS.with_for_update(read=True),
    "update": _SELECT_STATUS.with_for_update(),
}
_END_RUN = (
    runs.update()
    .where(runs.c.id == _bind("run_id"))
    .values(status=_bind("status"), end_ms=_bind("end_ms"))
)
_SELECT_RUNS = sa.select(runs).where(runs.c.id.in_(_ids()))
_SELECT_PARAM_VALUES = sa.select(params.c.key, params.c.value).where(
    params.c.run_id == _bind("run_id"), params.c.key.in_(_ids("keys"))
)
_SELECT_HISTORY = (
    sa.select(*(metrics.c[name] for name in ("key", "value", "is_nan", "step", "timestamp_ms")))
    .where(metrics.c.run_id == _bind("run_id"), metrics.c.key == _bind("key"))
    .order_by(metrics.c.step, metrics.c.timestamp_ms, metrics.c.id)
)
_SELECT_PARAMS = sa.select(params.c.run_id, params.c.key, params.c.value).where(
    params.c.run_id.in_(_ids())
)
_SELECT_TAGS = sa.select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value).where(
    run_tags.c.run_id.in_(_ids())
)
_SELECT_LATEST = sa.select(
    *(latest_metrics.c[name] for name in ("run_id", "key", "value", "is_nan"))
).where(latest_metrics.c.run_id.in_(_ids()))
_SELECT_ARTIFACTS = (
    sa.select(run_artifacts)
    .where(run_artifacts.c.run_id.in_(_ids()))
    .order_by(run_artifacts.c.path)
)
_SELECT_ARTIFACT = sa.select(run_artifacts).where(
    run_artifacts.c.run_id == _bind("run_id"), run_artifacts.c.path == _bind("path")
)
_SELECT_RUN_INPUTS = (
    sa.select(run_inputs.c.run_id, run_inputs.c.context, datasets.c.id, datasets.c.name)
    .add_columns(datasets.c.digest)
    .join_from(run_inputs, datasets, run_inputs.c.dataset_id == datasets.c.id)
    .where(run_inputs.c.run_id.in_(_ids()))
    .order_by(datasets.c.name, run_inputs.c.context)
)
_SELECT_DATASET = sa.select(datasets).where(datasets.c.id == _bind("dataset_id"))
_SELECT_DATASET_BY_CONTENT = sa.select(datasets).where(
    datasets.c.name == _bind("name"), datasets.c.digest == _bind("digest")
)


@functools.cache
def _upserts(dialect_name: str) -> dict[str, Any]:  # Any: dialect-specific Insert constructs
    """The statements that resolve conflicts, in the dialect's own INSERT ... ON CONFLICT."""
    insert: Any = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    tags = insert(run_tags)
    latest = insert(latest_metrics)
    new = latest.excluded
    is_newer = sa.or_(
        new.step > latest_metrics.c.step,
        sa.and_(
            new.step == latest_metrics.c.step, new.timestamp_ms >= latest_metrics.c.timestamp_ms
        ),
    )
    artifacts = insert(run_artifacts)
    return {
        "experiment": insert(experiments).on_conflict_do_nothing().returning(experiments.c.id),
        "tags": tags.on_conflict_do_update(
            index_elements=[run_tags.c.run_id, run_tags.c.key], set_={"value": tags.excluded.value}
        ),
        "latest": latest.on_conflict_do_update(
            index_elements=[latest_metrics.c.run_id, latest_metrics.c.key],
            set_={name: new[name] for name in ("value", "is_nan", "step", "timestamp_ms")},
            where=is_newer,
        ),
        "artifacts": artifacts.on_conflict_do_update(
            index_elements=[run_artifacts.c.run_id, run_artifacts.c.path],
            set_={"digest": artifacts.excluded.digest, "size_bytes": artifacts.excluded.size_bytes},
        ),
        "dataset": insert(datasets).on_conflict_do_nothing(),
        "run_input": insert(run_inputs).on_conflict_do_nothing(),
    }


def _upsert(conn: Connection, name: str) -> Any:  # Any: see _upserts
    return _upserts(conn.dialect.name)[name]


# --- experiments ---------------------------------------------------------------------------


def insert_experiment(conn: Connection, row: Mapping[str, Any]) -> bool:
    """Insert unless an experiment of that name exists; True when this call inserted it."""
    # RETURNING, not rowcount: drivers do not all report rowcount for ON CONFLICT DO NOTHING.
    return conn.execute(_upsert(conn, "experiment"), dict(row)).first() is not None


def select_experiment(
    conn: Connection, *, experiment_id: str | None = None, name: str | None = None
) -> Record | None:
    if name is None:
        return conn.execute(_SELECT_EXPERIMENT_BY_ID, {"value": experiment_id}).first()
    return conn.execute(_SELECT_EXPERIMENT_BY_NAME, {"value": name}).first()


def select_experiments(conn: Connection) -> Sequence[Record]:
    return conn.execute(_SELECT_EXPERIMENTS).all()


def select_experiment_names(conn: Connection) -> list[str]:
    return list(conn.execute(_SELECT_EXPERIMENT_NAMES).scalars())


# --- runs ----------------------------------------------------------------------------------


def insert_run(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(runs.insert(), dict(row))


def select_run_status(conn: Connection, run_id: str, *, lock: str | None = None) -> str | None:
    """The run's status, None when there is no such run.

    `lock` ("share" or "update") holds a row lock on PostgreSQL until the transaction ends:
    loggers share it, so ending a run (which takes it for update) waits for writers already
    logging. SQLite serialises writers anyway and ignores it.
    """
    status: str | None = conn.execute(_SELECT_STATUS_LOCKED[lock], {"run_id": run_id}).scalar()
    return status


def update_run_end(conn: Connection, run_id: str, status: str, end_ms: int) -> None:
    conn.execute(_END_RUN, {"run_id": run_id, "status": status, "end_ms": end_ms})


def select_runs(conn: Connection, run_ids: Collection[str]) -> Sequence[Record]:
    return conn.execute(_SELECT_RUNS, {"ids": list(run_ids)}).all()


def search_runs(
    conn: Connection,
    experiment_ids: Collection[str],
    clauses: Sequence[Clause],
    order: Sequence[OrderKey],
    *,
    offset: int,
    limit: int,
) -> Sequence[Record]:
    """Run rows matching every clause, ordered, one page; each row is a `runs` row."""
    source: sa.FromClause = runs
    conditions: list[sa.ColumnElement[bool]] = []
    if experiment_ids:
        conditions.append(runs.c.experiment_id.in_(experiment_ids))
    for index, clause in enumerate(clauses):
        source, condition = _filter(source, clause, index, conn.dialect)
        conditions.append(condition)
    sort: list[Any] = []
    for index, key in enumerate(order):
        source, terms = _sort(source, key, index)
        sort.extend(terms)
    if not order:
        sort.append(runs.c.start_ms.desc())
    sort.append(runs.c.id)  # a total order, so pages never overlap or skip
    query = sa.select(runs).select_from(source).where(*conditions).order_by(*sort)
    return conn.execute(query.offset(offset).limit(limit)).all()


def _filter(
    source: sa.FromClause, clause: Clause, index: int, dialect: Dialect
) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    if clause.entity == "attributes":
        return source, _compare(_ATTRIBUTE_COLUMNS[clause.key], clause, dialect)
    table = _KEYED_TABLES[clause.entity].alias(f"f{index}")
    joined = source.join(table, sa.and_(table.c.run_id == runs.c.id, table.c.key == clause.key))
    condition = _compare(table.c.value, clause, dialect)
    if clause.entity == "metrics":
        # NaN is stored as is_nan with value 0: it differs from every number, matches no order.
        is_nan = table.c.is_nan.is_(True)
        condition = sa.or_(is_nan, condition) if clause.op == "!=" else sa.and_(~is_nan, condition)
    return joined, condition


def _compare(column: Any, clause: Clause, dialect: Dialect) -> sa.ColumnElement[bool]:
    value: Any = clause.value
    if clause.op in _OPERATORS:
        return _OPERATORS[clause.op](column, value)  # type: ignore[no-any-return]
    if clause.op == "ILIKE":
        return column.ilike(value)  # type: ignore[no-any-return]
    if clause.op == "IN":
        return column.in_(value)  # type: ignore[no-any-return]
    if clause.op == "NOT IN":
        return column.not_in(value)  # type: ignore[no-any-return]
    # LIKE is case-sensitive, as on PostgreSQL; SQLite's LIKE ignores case, its GLOB does not.
    if dialect.name == "sqlite":
        return column.op("GLOB")(_glob(value))  # type: ignore[no-any-return]
    return column.like(value)  # type: ignore[no-any-return]


def _glob(pattern: str) -> str:
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(char, char) for char in pattern)


def _sort(source: sa.FromClause, key: OrderKey, index: int) -> tuple[sa.FromClause, list[Any]]:
    if key.entity == "attributes":
        column: Any = _ATTRIBUTE_COLUMNS[key.key]
        missing: Any = column.is_(None)
    else:
        table = _KEYED_TABLES[key.entity].alias(f"o{index}")
        on = sa.and_(table.c.run_id == runs.c.id, table.c.key == key.key)
        source = source.outerjoin(table, on)
        column, missing = table.c.value, table.c.run_id.is_(None)
        if key.entity == "metrics":
            missing = sa.or_(missing, table.c.is_nan.is_(True))
    # Runs without the value come last in either direction.
    terms = [sa.case((missing, 1), else_=0), column.desc() if key.descending else column.asc()]
    return source, terms


# --- params, tags, metrics -----------------------------------------------------------------


def select_param_values(conn: Connection, run_id: str, keys: Collection[str]) -> dict[str, str]:
    rows = conn.execute(_SELECT_PARAM_VALUES, {"run_id": run_id, "keys": list(keys)})
    return {row.key: row.value for row in rows}


def insert_params(conn: Connection, run_id: str, values: Mapping[str, str]) -> None:
    rows = [{"run_id": run_id, "key": key, "value": value} for key, value in values.items()]
    if rows:
        conn.execute(params.insert(), rows)


def upsert_tags(conn: Connection, run_id: str, tags: Mapping[str, str]) -> None:
    rows = [{"run_id": run_id, "key": key, "value": value} for key, value in tags.items()]
    if rows:
        conn.execute(_upsert(conn, "tags"), rows)


def insert_metrics(conn: Connection, rows: Sequence[MetricRow]) -> None:
    """Insert metric points with one driver-level executemany.

    The statement is prepared once per dialect and the rows go to the driver as tuples:
    SQLAlchemy's per-row parameter processing would otherwise cost more than SQLite's insert.
    """
    if rows:
        conn.exec_driver_sql(_metrics_insert_sql(conn.dialect), rows)  # type: ignore[arg-type]


@functools.cache
def _metrics_insert_sql(dialect: Dialect) -> str:
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(quote(name) for name in _METRIC_COLUMNS)
    marks = ", ".join([mark] * len(_METRIC_COLUMNS))
    return f"INSERT INTO {quote(metrics.name)} ({columns}) VALUES ({marks})"


def upsert_latest_metrics(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Keep, per (run, key), the point with the highest (step, timestamp)."""
    if rows:
        conn.execute(_upsert(conn, "latest"), list(rows))


def select_metric_history(conn: Connection, run_id: str, key: str) -> Sequence[Record]:
    return conn.execute(_SELECT_HISTORY, {"run_id": run_id, "key": key}).all()


def select_params(conn: Connection, run_ids: Collection[str]) -> Sequence[Record]:
    return conn.execute(_SELECT_PARAMS, {"ids": list(run_ids)}).all()


def select_tags(conn: Connection, run_ids: Collection[str]) -> Sequence[Record]:
    return conn.execute(_SELECT_TAGS, {"ids": list(run_ids)}).all()


def select_latest_metrics(conn: Connection, run_ids: Collection[str]) -> Sequence[Record]:
    return conn.execute(_SELECT_LATEST, {"ids": list(run_ids)}).all()


# --- artifacts -----------------------------------------------------------------------------


def upsert_artifacts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record artifact files; logging a path again points it at the new blob."""
    if rows:
        conn.execute(_upsert(conn, "artifacts"), list(rows))


def select_artifacts(conn: Connection, run_ids: Collection[str]) -> Sequence[Record]:
    return conn.execute(_SELECT_ARTIFACTS, {"ids": list(run_ids)}).all()


def select_artifact(conn: Connection, run_id: str, path: str) -> Record | None:
    return conn.execute(_SELECT_ARTIFACT, {"run_id": run_id, "path": path}).first()


# --- datasets ------------------------------------------------------------------------------


def insert_dataset(conn: Connection, row: Mapping[str, Any]) -> Record:
    """Insert the dataset unless (name, digest) exists; return the stored row either way."""
    conn.execute(_upsert(conn, "dataset"), dict(row))
    content = {"name": row["name"], "digest": row["digest"]}
    return conn.execute(_SELECT_DATASET_BY_CONTENT, content).one()


def update_dataset_documents(
    conn: Connection, dataset_id: str, documents: Mapping[str, Any]
) -> None:
    conn.execute(datasets.update().where(datasets.c.id == dataset_id).values(**documents))


def select_dataset(conn: Connection, dataset_id: str) -> Record | None:
    return conn.execute(_SELECT_DATASET, {"dataset_id": dataset_id}).first()


def link_run_input(conn: Connection, run_id: str, dataset_id: str, context: str) -> None:
    row = {"run_id": run_id, "dataset_id": dataset_id, "context": context}
    conn.execute(_upsert(conn, "run_input"), row)


def select_run_inputs(conn: Connection, run_ids: Collection[str]) -> Sequence[Record]:
    return conn.execute(_SELECT_RUN_INPUTS, {"ids": list(run_ids)}).all()
