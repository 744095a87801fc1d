"""Batch scoring: a CSV or Parquet file through a registered version, one chunk at a time.

Memory holds one chunk (plus the reader's read-ahead) whatever the file's size. Each chunk is
checked against the version's contract, scored by the hash-verified model and appended to the
output (reading and writing the files is `batch_files.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from steward import registry
from steward.contracts import Contract, ValidationReport, validate
from steward.contracts.messages import describe, rejection
from steward.errors import InvalidInput, NotFound, StewardError
from steward.flavors import LoadedModel
from steward.predictions import PredictionLog, PredictionRecord
from steward.serving.batch_files import FILE_SUFFIXES, InputFile, OutputFile, parse_contract_text
from steward.store import Store

__all__ = [
    "BATCH_CONTRACT_MODES",
    "BatchContractMode",
    "BatchProgress",
    "BatchResult",
    "prediction_logger",
    "rejected_path_for",
    "score_file",
]

logger = logging.getLogger(__name__)  # not `log`: score_file takes a `log` callback

BatchContractMode = Literal["reject", "warn", "drop", "off"]
BATCH_CONTRACT_MODES: tuple[BatchContractMode, ...] = get_args(BatchContractMode)
PREDICTION, PREDICTION_ID, INPUT_ROW = "prediction", "prediction_id", "input_row"


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """How far scoring got, after each chunk.

    Attributes:
        fraction: share of the input read so far (bytes for CSV, rows for Parquet).
    """

    rows_in: int
    rows_scored: int
    rows_rejected: int
    fraction: float


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a finished batch did.

    Attributes:
        rows_scored: rows written to `output_path` with their predictions.
        rows_rejected: rows set aside in `rejected_path` (contract mode "drop").
        rows_invalid: rows that broke the contract (scored anyway in "warn", set aside in
            "drop").
        seconds: wall time, loading the model included.
        model_uri: the exact version used, `models:/NAME/VERSION`.
    """

    rows_in: int
    rows_scored: int
    rows_rejected: int
    output_path: Path
    seconds: float
    model_uri: str = ""
    rejected_path: Path | None = None
    rows_invalid: int = 0


def score_file(
    store: Store,
    model_uri: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    chunk_rows: int = 50_000,
    contract_mode: BatchContractMode = "reject",
    progress: Callable[[BatchProgress], None] | None = None,
    log: Callable[[pa.Table], None] | None = None,
    prediction_log: PredictionLog | None = None,
    endpoint: str | None = None,
) -> BatchResult:
    """Score a CSV or Parquet file with a registered version, writing CSV or Parquet.

    The output holds the input columns plus `prediction` (`prediction_0`, ... for several
    outputs), `proba_<class>` per class when the model gives probabilities, and a random
    `prediction_id` per row. Rows are checked against the version's contract, if it has one:
    "reject" stops at the first bad chunk, "warn" logs and scores every row, "drop" writes
    bad rows (with their `input_row`, 0-based) to `rejected_path_for(output_path)`, "off"
    skips the check.

    Args:
        model_uri: `models:/NAME@ALIAS`, `models:/NAME/VERSION` or `models:/NAME/latest`.
        chunk_rows: rows per chunk; memory grows with this, not with the file.
        progress: called after each chunk.
        log: called with each chunk's scored rows as written.
        prediction_log: where each scored row is also logged (route `batch`), so labels can
            later be joined on its `prediction_id`.
        endpoint: the endpoint the rows are logged under (default: the model's name).

    Raises:
        InvalidInput: a bad option or file type, an unreadable file, a contract violation
            in "reject" mode (naming the row, column, value and expectation), or a chunk the
            model fails on. Nothing is left at `output_path` then.
        NotFound: the input file, model, version or alias does not exist.
        IntegrityError: the model's artifact no longer matches its registry record.
    """
    started = time.perf_counter()
    source, target = Path(input_path), Path(output_path)
    _check_options(source, target, chunk_rows, contract_mode)
    version = registry.resolve(store, model_uri)
    model = registry.load_version(store, version.model_name, version.version)
    has_contract = version.contract is not None and contract_mode != "off"
    contract = Contract.from_dict(version.contract) if has_contract else None
    scorer = _Scorer(model, version.uri, contract, contract_mode, source)
    if prediction_log is not None:
        to_log = prediction_logger(
            prediction_log, endpoint or version.model_name, version.model_name, version.version
        )
        log = to_log if log is None else _both(log, to_log)
    totals = _Totals()
    with (
        InputFile(source, contract, chunk_rows) as reader,
        OutputFile(target) as scored_sink,
        OutputFile(rejected_path_for(target)) as rejected_sink,
    ):
        for start, raw in reader.chunks():
            scored, rejected, invalid = scorer.score(start, raw)
            scored_sink.write(scored)
            rejected_sink.write(rejected)
            if log is not None and scored.num_rows:
                log(scored)
            totals.add(raw, scored, rejected, invalid)
            if progress is not None:
                progress(totals.progress(reader.fraction(totals.rows_in)))
        scored_sink.commit(empty_schema=scorer.empty_schema(reader.schema))
        rejected_sink.commit(empty_schema=None)
    seconds = time.perf_counter() - started
    logger.info(
        "batch scored model=%s input=%s rows=%d scored=%d rejected=%d seconds=%.2f",
        version.uri,
        source,
        totals.rows_in,
        totals.rows_scored,
        totals.rows_rejected,
        seconds,
    )
    return BatchResult(
        rows_in=totals.rows_in,
        rows_scored=totals.rows_scored,
        rows_rejected=totals.rows_rejected,
        output_path=target,
        seconds=seconds,
        model_uri=version.uri,
        rejected_path=rejected_path_for(target) if totals.rows_rejected else None,
        rows_invalid=totals.rows_invalid,
    )


def prediction_logger(
    prediction_log: PredictionLog, endpoint: str, model_name: str, model_version: int
) -> Callable[[pa.Table], None]:
    """A `score_file(log=...)` callback appending each scored row to `prediction_log` as one
    record of route `batch`, under `endpoint`, keeping the row's `prediction_id`.

    Inputs are the row's own columns; outputs follow the online convention:
    `{"prediction": ..., "probabilities": [...]}`.
    """

    def log(scored: pa.Table) -> None:
        at_ms = int(time.time() * 1000)
        names = scored.column_names
        probas = [n for n in names if n.startswith("proba_")]
        predicted = [n for n in names if n == PREDICTION or n.startswith(f"{PREDICTION}_")]
        inputs = [n for n in names if n not in {PREDICTION_ID, *probas, *predicted}]
        columns = scored.to_pydict()
        rows_in = [dict(zip(inputs, values, strict=True)) for values in _rows(columns, inputs)]
        answers = _rows(columns, predicted)
        probabilities = _rows(columns, probas) if probas else None
        records = []
        for index, (row, answer) in enumerate(zip(rows_in, answers, strict=True)):
            outputs: dict[str, Any] = {PREDICTION: answer[0] if len(answer) == 1 else list(answer)}
            if probabilities is not None:
                outputs["probabilities"] = list(probabilities[index])
            records.append(
                PredictionRecord(
                    prediction_id=columns[PREDICTION_ID][index],
                    at_ms=at_ms,
                    endpoint=endpoint,
                    model_name=model_name,
                    model_version=model_version,
                    route="batch",
                    inputs=row,
                    outputs=outputs,
                    latency_ms=0.0,
                )
            )
        prediction_log.append(records)

    return log


def _both(
    first: Callable[[pa.Table], None], second: Callable[[pa.Table], None]
) -> Callable[[pa.Table], None]:
    def call(table: pa.Table) -> None:
        first(table)
        second(table)

    return call


def _rows(columns: dict[str, list[Any]], names: list[str]) -> list[tuple[Any, ...]]:
    return list(zip(*(columns[name] for name in names), strict=True))


def rejected_path_for(output_path: Path) -> Path:
    """Where "drop" mode sets bad rows aside: `out.parquet` -> `out.rejected.parquet`."""
    return output_path.with_name(f"{output_path.stem}.rejected{output_path.suffix}")


@dataclass(slots=True)
class _Totals:
    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    rows_invalid: int = 0

    def add(self, raw: pa.Table, scored: pa.Table, rejected: pa.Table | None, invalid: int) -> None:
        self.rows_in += raw.num_rows
        self.rows_scored += scored.num_rows
        self.rows_rejected += 0 if rejected is None else rejected.num_rows
        self.rows_invalid += invalid

    def progress(self, fraction: float) -> BatchProgress:
        return BatchProgress(self.rows_in, self.rows_scored, self.rows_rejected, fraction)


def _check_options(source: Path, target: Path, chunk_rows: int, contract_mode: str) -> None:
    if not source.is_file():
        raise NotFound(f"input file {str(source)!r} does not exist", field="input_path")
    for path, field in ((source, "input_path"), (target, "output_path")):
        if path.suffix.lower() not in FILE_SUFFIXES:
            raise InvalidInput(
                f"{field} {str(path)!r} has extension {path.suffix or '(none)'!r}; "
                f"accepted: {', '.join(FILE_SUFFIXES)}",
                field=field,
            )
    if source.resolve() in (target.resolve(), rejected_path_for(target).resolve()):
        raise InvalidInput(
            f"output_path {str(target)!r} would overwrite the input (or its rejected rows "
            "would); choose another file",
            field="output_path",
        )
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidInput(
            f"chunk_rows {chunk_rows!r} is invalid; use a whole number from 1", field="chunk_rows"
        )
    if contract_mode not in BATCH_CONTRACT_MODES:
        raise InvalidInput(
            f"contract mode {contract_mode!r} is unknown; accepted: "
            f"{', '.join(BATCH_CONTRACT_MODES)}",
            field="contract_mode",
        )


# Scoring ---------------------------------------------------------------------------------


class _Scorer:
    """Checks, scores and shapes one chunk at a time."""

    def __init__(
        self,
        model: LoadedModel,
        uri: str,
        contract: Contract | None,
        mode: BatchContractMode,
        source: Path,
    ) -> None:
        self.model, self.uri, self.contract = model, uri, contract
        self.mode, self.source = mode, source
        # Only CSV holds text that stands for numbers; in Parquet a string is a string.
        self.parse_text = source.suffix.lower() == ".csv"
        self.has_proba = callable(getattr(model.native, "predict_proba", None))

    def score(self, start: int, raw: pa.Table) -> tuple[pa.Table, pa.Table | None, int]:
        """The scored rows, the rejected ones ("drop" mode) and how many rows broke the contract."""
        typed, unparsed = parse_contract_text(raw, self.contract if self.parse_text else None)
        frame = typed.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame))
        invalid = self._check(frame, unparsed, raw, start)
        rejected = None
        if self.mode == "drop" and invalid.any():
            rows = pa.array(np.flatnonzero(invalid) + start, type=pa.int64())
            rejected = raw.filter(pa.array(invalid)).append_column(INPUT_ROW, rows)
            typed, frame = typed.filter(pa.array(~invalid)), frame[~invalid]
        return self._scored(typed, frame, start), rejected, int(invalid.sum())

    def empty_schema(self, input_schema: pa.Schema) -> pa.Schema:
        """The output's columns when no row at all was scored."""
        return input_schema.append(pa.field(PREDICTION, pa.null())).append(
            pa.field(PREDICTION_ID, pa.string())
        )

    def _check(
        self,
        frame: pd.DataFrame,
        unparsed: dict[str, NDArray[np.bool_]],
        raw: pa.Table,
        start: int,
    ) -> NDArray[np.bool_]:
        """The rows that break the contract; raises in "reject" mode, logs in "warn" mode."""
        invalid = np.zeros(len(frame), dtype=np.bool_)
        if self.contract is None:
            return invalid
        checked = frame.assign(**_with_text(frame, unparsed, raw)) if unparsed else frame
        result = validate(checked, self.contract, mode="drop")
        invalid[result.quarantined.index.to_numpy() - start] = True
        if result.report.is_valid:
            return invalid
        report = _shifted(result.report, start)
        end = start + len(frame) - 1
        if self.mode == "reject":
            error = rejection(report, report.examples[0])
            raise InvalidInput(
                f"{self.source.name}: {error.message}; checked rows {start} to {end}, wrote "
                "nothing (contract mode 'drop' sets bad rows aside, 'warn' scores them)",
                field=error.field,
                details=error.details,
            )
        logger.warning(
            "batch contract violations input=%s rows=%d-%d invalid_rows=%d first=%r",
            self.source,
            start,
            end,
            report.invalid_rows,
            describe(report.examples[0], report.contract),
        )
        return invalid

    def _scored(self, typed: pa.Table, frame: pd.DataFrame, start: int) -> pa.Table:
        outputs: dict[str, pa.Array] = {}
        if len(frame):
            outputs = self._predictions(frame, start)
        else:
            outputs[PREDICTION] = pa.nulls(0)
        outputs[PREDICTION_ID] = _prediction_ids(len(frame))
        clashes = sorted(set(outputs) & set(typed.column_names))
        if clashes:
            raise InvalidInput(
                f"{self.source.name} already has column(s) {', '.join(map(repr, clashes))}, "
                "which the output adds; rename them in the input",
                field=clashes[0],
            )
        for name, values in outputs.items():
            typed = typed.append_column(name, values)
        return typed

    def _predictions(self, frame: pd.DataFrame, start: int) -> dict[str, pa.Array]:
        try:
            predicted = self.model.predict(frame)
            probabilities = self.model.predict_proba(frame) if self.has_proba else None
        except StewardError:
            raise
        except Exception as exc:  # the user's model: any failure is reported with its rows
            raise InvalidInput(
                f"model {self.uri} failed on rows {start} to {start + len(frame) - 1} of "
                f"{self.source.name}: {type(exc).__name__}: {exc}"
            ) from exc
        if predicted.ndim == 1:
            outputs = {PREDICTION: pa.array(predicted)}
        else:
            outputs = {
                f"{PREDICTION}_{i}": pa.array(predicted[:, i]) for i in range(predicted.shape[1])
            }
        if probabilities is not None:
            for index, label in enumerate(self._classes(probabilities.shape[1])):
                outputs[f"proba_{label}"] = pa.array(probabilities[:, index])
        return outputs

    def _classes(self, count: int) -> list[Any]:  # Any: the model's own class labels
        classes = getattr(self.model.native, "classes_", None)
        return (
            list(classes) if classes is not None and len(classes) == count else list(range(count))
        )


def _with_text(
    frame: pd.DataFrame, unparsed: dict[str, NDArray[np.bool_]], raw: pa.Table
) -> dict[str, NDArray[np.object_]]:
    """Columns with the original text put back where it did not parse, for the contract
    check to report as a wrong type with the value as written."""
    columns = {}
    for name, cells in unparsed.items():
        objects = frame[name].to_numpy(dtype=object).copy()
        objects[cells] = raw.column(name).to_numpy(zero_copy_only=False)[cells]
        columns[name] = objects
    return columns


def _shifted(report: ValidationReport, start: int) -> ValidationReport:
    """The report with row positions counted from the file's first row, not the chunk's."""
    examples = tuple(
        v if v.row is None else dataclasses.replace(v, row=v.row + start) for v in report.examples
    )
    return dataclasses.replace(report, examples=examples)


def _prediction_ids(count: int) -> pa.Array:
    """Random 128-bit ids as 32 hex characters, made without a Python loop over rows."""
    digits = os.urandom(16 * count).hex().encode("ascii")
    return pa.array(np.frombuffer(digits, dtype="S32")).cast(pa.string())
