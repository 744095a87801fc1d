"""The files of a batch: CSV or Parquet read in chunks, outputs moved into place when complete.

CSV has no types. Columns a contract describes are read as text and parsed per chunk to the
contract's type, so a bad cell is one invalid row rather than a failed read; the other
columns take the types Arrow infers from the file's first block.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from steward.contracts import Contract
from steward.errors import InvalidInput

__all__ = [
    "CSV_BLOCK_BYTES",
    "FILE_SUFFIXES",
    "InputFile",
    "OutputFile",
    "parse_contract_text",
]

FILE_SUFFIXES = (".csv", ".parquet", ".pq")
CSV_BLOCK_BYTES = 1 << 20  # Arrow reads CSV in blocks this size and infers types from the first

# Contract types parsed from CSV text by Steward rather than guessed by Arrow, so a bad cell
# is one rejected row instead of a failed read. Text and datetimes stay text: contracts read
# ISO dates from text.
_PARSED_TYPES = {"integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_()}
_BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False}


class InputFile:
    """A CSV or Parquet file as chunks of `chunk_rows` rows, each with its first row number.

    Contract columns of a CSV file are read as text, for `parse_contract_text`; the other
    columns take the types Arrow infers from the file's first block.
    """

    def __init__(self, path: Path, contract: Contract | None, chunk_rows: int) -> None:
        self.path, self.chunk_rows = path, chunk_rows
        self.is_csv = path.suffix.lower() == ".csv"
        self.text_columns = set() if contract is None else set(contract.column_names)
        self._stack = contextlib.ExitStack()
        self._source: pa.NativeFile | None = None
        self._total = 0
        self.schema = pa.schema([])

    def __enter__(self) -> InputFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stack.close()

    def chunks(self) -> Iterator[tuple[int, pa.Table]]:
        """`(first row number, table)` per chunk; `schema` is set once the first is read.

        Raises:
            InvalidInput: the file does not parse, naming the row reached and the column.
        """
        batches = self._csv_batches() if self.is_csv else self._parquet_batches()
        start = 0
        for table in _rebatched(self._guarded(batches), self.chunk_rows):
            yield start, table
            start += table.num_rows

    def fraction(self, rows_done: int) -> float:
        """Share of the input read: bytes for CSV, rows (of the footer's count) for Parquet."""
        if self._source is not None:
            position: int = self._source.tell()
            return min(1.0, position / max(self.path.stat().st_size, 1))
        return min(1.0, rows_done / self._total) if self._total else 1.0

    def _csv_batches(self) -> Iterator[pa.RecordBatch]:
        blocks = pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
        with pa_csv.open_csv(str(self.path), read_options=blocks) as peek:  # header, first types
            inferred = peek.schema
        text = [f.name for f in inferred if f.name in self.text_columns or pa.types.is_null(f.type)]
        options = pa_csv.ConvertOptions(
            column_types=dict.fromkeys(text, pa.string()), strings_can_be_null=True
        )
        self._source = self._stack.enter_context(pa.OSFile(str(self.path)))
        reader = self._stack.enter_context(
            pa_csv.open_csv(self._source, read_options=blocks, convert_options=options)
        )
        self.schema = reader.schema
        yield from reader

    def _parquet_batches(self) -> Iterator[pa.RecordBatch]:
        parquet = self._stack.enter_context(pq.ParquetFile(self.path))
        self.schema, self._total = parquet.schema_arrow, parquet.metadata.num_rows
        yield from parquet.iter_batches(batch_size=self.chunk_rows)

    def _guarded(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = 0
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowInvalid, OSError) as error:
                raise InvalidInput(
                    f"file {str(self.path)!r} could not be read after row {rows}: "
                    f"{self._named(str(error))} (a column whose first rows looked like one type "
                    "holds another later?)",
                    field="input_path",
                ) from None
            if batch is None:
                return
            rows += batch.num_rows
            yield batch

    def _named(self, message: str) -> str:
        """Arrow's CSV error with the column's name beside its number."""
        found = re.search(r"CSV column #(\d+)", message)
        if found is None or int(found[1]) >= len(self.schema.names):
            return message
        return f"column {self.schema.names[int(found[1])]!r}: {message}"


def _rebatched(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `rows` rows (the last one shorter), whatever size the batches are."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def parse_contract_text(
    raw: pa.Table, contract: Contract | None
) -> tuple[pa.Table, dict[str, NDArray[np.bool_]]]:
    """The chunk with contract columns read as text parsed to their type, and per column
    the cells that did not parse (null in the table, reported by the contract check)."""
    unparsed: dict[str, NDArray[np.bool_]] = {}
    if contract is None:
        return raw, unparsed
    typed = raw
    for column in contract.columns:
        arrow_type = _PARSED_TYPES.get(column.logical_type)
        index = raw.schema.get_field_index(column.name)
        if arrow_type is None or index < 0 or not pa.types.is_string(raw.schema.field(index).type):
            continue
        try:
            values: pa.ChunkedArray | pa.Array = raw.column(index).cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values, unparsed[column.name] = _parsed_cells(raw.column(index), column.logical_type)
        typed = typed.set_column(index, column.name, values)
    return typed, unparsed


def _parsed_cells(text: pa.ChunkedArray, logical_type: str) -> tuple[pa.Array, NDArray[np.bool_]]:
    """Cell by cell (vectorised), for a column where some text is not of the type."""
    cells = pd.Series(text.to_pandas(), dtype=object).str.strip()
    if logical_type == "boolean":
        parsed = cells.str.lower().map(_BOOLEAN_WORDS)
        values = pa.array(parsed, type=pa.bool_(), from_pandas=True)
    else:
        numbers = pd.to_numeric(cells, errors="coerce")
        if logical_type == "integer":
            numbers = numbers.where(np.isfinite(numbers) & (np.trunc(numbers) == numbers))
        values = pa.array(numbers, type=pa.float64(), from_pandas=True).cast(
            _PARSED_TYPES[logical_type]
        )
        parsed = numbers
    return values, (cells.notna() & parsed.isna()).to_numpy()


class OutputFile:
    """One output file, written under a temporary name and moved into place by `commit`.

    Leaving the block without `commit` (any error) deletes the temporary file, so a failed
    batch leaves nothing behind and never half-overwrites an earlier output.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self.is_csv = path.suffix.lower() == ".csv"
        self._writer: pq.ParquetWriter | pa_csv.CSVWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close()
        self.partial.unlink(missing_ok=True)

    def write(self, table: pa.Table | None) -> None:
        if table is None or table.num_rows == 0:
            return
        if self._writer is None:
            self._schema = table.schema
            self._writer = _open_writer(self.partial, table.schema, is_csv=self.is_csv)
        elif table.schema != self._schema:
            table = _conformed(table, self._schema)
        self._writer.write_table(table)

    def commit(self, *, empty_schema: pa.Schema | None) -> None:
        """Move the file into place; with nothing written, write an empty file of
        `empty_schema`, or (None) remove a stale file left at the path by an earlier run."""
        if self._writer is None and empty_schema is None:
            self.path.unlink(missing_ok=True)
            return
        if self._writer is None and empty_schema is not None:
            self._writer = _open_writer(self.partial, empty_schema, is_csv=self.is_csv)
            self._writer.write_table(empty_schema.empty_table())
        self._close()
        self.partial.replace(self.path)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _open_writer(
    path: Path, schema: pa.Schema, *, is_csv: bool
) -> pq.ParquetWriter | pa_csv.CSVWriter:
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_csv:
        return pa_csv.CSVWriter(str(path), schema)
    return pq.ParquetWriter(str(path), schema)


def _conformed(table: pa.Table, schema: pa.Schema | None) -> pa.Table:
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
        raise InvalidInput(
            f"a later chunk's columns do not match the first chunk's ({error}); give the "
            "input one type per column, or score it with a larger chunk_rows"
        ) from None
