"""`PredictionStore`: read the compacted prediction log with DuckDB.

Reads see what compaction has published, never the write-ahead segments: call `compact`
first for the latest rows. A read asks only for the partitions its window touches and
filters rows inside DuckDB, so memory follows the window, not the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from steward.errors import InvalidInput
from steward.predictions.layout import DAY_MS, endpoint_dir, parquet_dir
from steward.predictions.tables import BASE_SCHEMA

__all__ = ["VIEW", "PredictionStore"]

VIEW: Final = "predictions"
_OPTIONS: Final = (
    "hive_partitioning = true, union_by_name = true, "
    "hive_types = {'endpoint': VARCHAR, 'date': DATE}"
)
_EPOCH: Final = date(1970, 1, 1)
_DUCKDB_TYPES: Final = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
}


class PredictionStore:
    """The prediction log under `directory`, as compacted Parquet partitions."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def query(self, sql: str, parameters: Sequence[object] | None = None) -> pa.Table:
        """Run DuckDB SQL over the view `predictions` (every endpoint and date).

        The view has the Parquet columns plus `date` (DATE) from the partition path. An
        empty log still has the view, with the fixed columns and no rows.

        Raises:
            InvalidInput: the SQL does not parse or names an unknown table or column.
        """
        with duckdb.connect() as conn:
            conn.execute(f"CREATE VIEW {VIEW} AS {self._source()}")
            return _fetch(conn, sql, parameters, what="prediction query", field="sql")

    def read(
        self,
        endpoint: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """An endpoint's predictions with `start_ms <= at_ms < end_ms`, oldest first.

        Args:
            endpoint: the endpoint name.
            start_ms: window start, epoch ms UTC, inclusive; None: from the first.
            end_ms: window end, exclusive; None: to the last.
            columns: the columns wanted (e.g. `["at_ms", "in_age", "prediction"]`); None: all.

        Raises:
            InvalidInput: a column does not exist in this endpoint's predictions.
        """
        files = self.files(endpoint, start_ms, end_ms)
        if not files:
            return _empty(columns)
        select = ", ".join(_quote(c) for c in columns) if columns else "*"
        where, parameters = _window(start_ms, end_ms)
        sql = (
            f"SELECT {select} FROM read_parquet(?, {_OPTIONS}) "
            f"WHERE {where} ORDER BY at_ms, prediction_id"
        )
        with duckdb.connect() as conn:
            what = f"read of endpoint {endpoint!r}"
            return _fetch(conn, sql, [files, *parameters], what=what, field="columns")

    def count(self, endpoint: str, start_ms: int | None = None, end_ms: int | None = None) -> int:
        """How many predictions the endpoint logged in the window (see `read`)."""
        files = self.files(endpoint, start_ms, end_ms)
        if not files:
            return 0
        where, parameters = _window(start_ms, end_ms)
        sql = f"SELECT count(*) FROM read_parquet(?, {_OPTIONS}) WHERE {where}"
        with duckdb.connect() as conn:
            row = conn.execute(sql, [files, *parameters]).fetchone()
        return int(row[0]) if row else 0

    def files(
        self, endpoint: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[str]:
        """The Parquet files of the endpoint's partitions that overlap the window."""
        first = None if start_ms is None else start_ms // DAY_MS
        last = None if end_ms is None else (end_ms - 1) // DAY_MS
        files: list[str] = []
        root = endpoint_dir(self.directory, endpoint)
        for folder in sorted(root.glob("date=*")):
            day = _day_of(folder.name)
            if day is None or (first is not None and day < first):
                continue
            if last is not None and day > last:
                continue
            files.extend(str(path) for path in sorted(folder.glob("*.parquet")))
        return files

    def _source(self) -> str:
        root = parquet_dir(self.directory)
        if next(root.glob("*/*/*.parquet"), None) is None:
            columns = [f"NULL::{_DUCKDB_TYPES[f.type]} AS {f.name}" for f in BASE_SCHEMA]
            return f"SELECT {', '.join(columns)}, NULL::DATE AS date WHERE false"
        pattern = str(root / "*" / "*" / "*.parquet").replace("'", "''")
        return f"SELECT * FROM read_parquet('{pattern}', {_OPTIONS})"


def _fetch(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    parameters: Sequence[object] | None,
    *,
    what: str,
    field: str,
) -> pa.Table:
    try:
        relation = conn.sql(sql, params=parameters)
        # A statement without a result (e.g. SET) gives no relation: no rows.
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except (duckdb.ProgrammingError, duckdb.DataError) as exc:
        raise InvalidInput(f"{what} failed: {exc}", field=field) from exc


def _window(start_ms: int | None, end_ms: int | None) -> tuple[str, list[int]]:
    conditions = ["true"]
    parameters: list[int] = []
    if start_ms is not None:
        conditions.append("at_ms >= ?")
        parameters.append(int(start_ms))
    if end_ms is not None:
        conditions.append("at_ms < ?")
        parameters.append(int(end_ms))
    return " AND ".join(conditions), parameters


def _day_of(folder_name: str) -> int | None:
    try:
        return (date.fromisoformat(folder_name.removeprefix("date=")) - _EPOCH).days
    except ValueError:
        return None


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _empty(columns: Sequence[str] | None) -> pa.Table:
    known = {f.name: f.type for f in BASE_SCHEMA} | {"date": pa.date32()}
    names = list(columns) if columns else list(known)
    return pa.table({name: pa.array([], type=known.get(name, pa.null())) for name in names})
