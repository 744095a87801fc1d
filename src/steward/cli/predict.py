"""`steward predict`: score a CSV or Parquet file with a registered version, in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from steward.cli.output import JsonOption, open_cli_store, print_json
from steward.config import Settings
from steward.predictions import PredictionLog
from steward.serving.batch import BatchContractMode, BatchProgress, BatchResult, score_file

__all__ = ["predict"]

progress_console = Console(stderr=True)


def predict(
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME/latest."
        ),
    ],
    input_path: Annotated[
        Path, typer.Option("--input", "-i", help="A .csv or .parquet file to score.")
    ],
    output_path: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write it (.csv or .parquet).")
    ],
    contract_mode: Annotated[
        str,
        typer.Option(
            help="reject: stop at the first bad row; warn: log and score it; drop: write bad "
            "rows to OUTPUT's .rejected file; off: skip the contract check."
        ),
    ] = "reject",
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows per chunk: memory grows with this, not the file.")
    ] = 50_000,
    log_predictions: Annotated[
        bool,
        typer.Option(help="Append every scored row to the prediction log (route `batch`)."),
    ] = True,
    endpoint: Annotated[
        str | None,
        typer.Option(help="Endpoint the logged rows belong to (default: the model's name)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Score a CSV or Parquet file in chunks: contract-checked, memory bounded."""
    mode: BatchContractMode = contract_mode  # type: ignore[assignment]  # score_file checks it
    with (
        open_cli_store() as store,
        _prediction_log(log_predictions) as prediction_log,
        Progress(
            TextColumn(f"scoring {input_path.name}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]} rows"),
            TimeRemainingColumn(),
            console=progress_console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("score", total=1.0, rows="0")

        def advance(done: BatchProgress) -> None:
            bar.update(task, completed=done.fraction, rows=f"{done.rows_in:,}")

        result = score_file(
            store,
            model,
            input_path,
            output_path,
            chunk_rows=chunk_rows,
            contract_mode=mode,
            progress=advance,
            prediction_log=prediction_log,
            endpoint=endpoint,
        )
    if as_json:
        print_json({key: _jsonable(value) for key, value in asdict(result).items()})
        return
    typer.echo(_summary(result))


@contextmanager
def _prediction_log(enabled: bool) -> Iterator[PredictionLog | None]:
    if not enabled:
        yield None
        return
    # Durable: each chunk waits for its sync, so a large file never overflows the queue.
    prediction_log = PredictionLog.from_settings(Settings(), durable=True)
    try:
        yield prediction_log
    finally:
        prediction_log.close()  # a clean close writes everything queued


def _jsonable(value: object) -> object:
    return str(value) if isinstance(value, Path) else value


def _summary(result: BatchResult) -> str:
    line = (
        f"scored {result.rows_scored:,} of {result.rows_in:,} rows with {result.model_uri} "
        f"-> {result.output_path} in {result.seconds:.1f} s"
    )
    if result.rejected_path is not None:
        line += f"; {result.rows_rejected:,} rejected -> {result.rejected_path}"
    elif result.rows_invalid:
        line += f"; {result.rows_invalid:,} broke the contract and were scored anyway"
    return line
