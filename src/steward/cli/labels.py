"""`steward labels ...`: post ground truth and outcomes for an endpoint's predictions, and
show a prediction's label history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import typer

from steward.cli.output import JsonOption, emit, fail, print_json
from steward.config import Settings
from steward.errors import InvalidInput, NotFound, StewardError
from steward.predictions import Label, labels_from_rows, labels_from_table
from steward.sdk import Client
from steward.store.context import from_ms

__all__ = ["labels_app", "read_labels"]

labels_app = typer.Typer(
    name="labels",
    help="Ground truth and business outcomes, joined to predictions by prediction id.",
    no_args_is_help=True,
)
LABEL_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")

EndpointOption = Annotated[
    str, typer.Option("--endpoint", help="The endpoint that served the predictions.")
]


@contextmanager
def _client() -> Iterator[Client]:
    """The SDK client (in-process, or the server at STEWARD_TRACKING_URL); a Steward error
    ends the command with its message."""
    try:
        client = Client(Settings())
    except StewardError as error:
        raise fail(error) from None
    try:
        yield client
    except StewardError as error:
        raise fail(error) from None
    finally:
        client.close()


@labels_app.command("ingest")
def ingest(
    file: Annotated[Path, typer.Argument(help="A .csv, .parquet or .jsonl file.")],
    endpoint: EndpointOption,
    outcome: Annotated[
        list[str] | None,
        typer.Option("--outcome", help="A column to read as an outcome (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Store the labels in FILE: columns prediction_id, label, outcome_* and at_ms.

    Every row is checked before anything is sent; then rows go in chunks of
    STEWARD_LABEL_BATCH_MAX (10,000).
    """
    with _client() as client:
        labels = read_labels(file, outcome or [])
        result = client.log_labels(endpoint, labels)
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"stored {result.accepted} labels for endpoint {endpoint!r}: {result.updated} "
        f"relabelled, {result.unknown} for predictions not in the log yet"
    )
    if result.unknown_ids:
        more = " ..." if result.unknown > len(result.unknown_ids) else ""
        typer.echo(f"unknown prediction ids: {', '.join(result.unknown_ids)}{more}")


@labels_app.command("show")
def show(prediction_id: str, endpoint: EndpointOption, as_json: JsonOption = False) -> None:
    """Every label of PREDICTION_ID, oldest first; the last one is the one monitors use."""
    with _client() as client:
        history = client.label_history(endpoint, prediction_id)
    if not as_json and not history:
        typer.echo(f"prediction {prediction_id!r} of endpoint {endpoint!r} has no labels")
        return
    columns = {
        "sequence": lambda r: r.sequence,
        "received": lambda r: from_ms(r.received_at_ms),
        "labelled": lambda r: from_ms(r.labelled_at_ms),
        "label": lambda r: r.label,
        "outcomes": lambda r: r.outcomes or None,
        "batch": lambda r: r.batch_id,
    }
    emit(history, columns, as_json=as_json, title=f"labels of {prediction_id}")


def read_labels(path: Path, outcomes: list[str]) -> list[Label]:
    """The labels of a CSV, Parquet or JSON-lines file; `prediction_id` is read as text.

    Raises:
        NotFound: the file does not exist.
        InvalidInput: the extension is not supported, the file does not parse, or it lacks
            the columns labels need.
    """
    if not path.is_file():
        raise NotFound(f"no file {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix not in LABEL_SUFFIXES:
        raise InvalidInput(
            f"file {str(path)!r} has extension {suffix!r}; use one of {list(LABEL_SUFFIXES)}",
            field="file",
        )
    try:
        if suffix in (".jsonl", ".ndjson", ".json"):
            return labels_from_rows(_json_lines(path), outcomes)
        return labels_from_table(_read_table(path, suffix), outcomes)
    except (pa.ArrowInvalid, orjson.JSONDecodeError, OSError) as error:
        raise InvalidInput(f"file {str(path)!r} could not be read: {error}") from None


def _read_table(path: Path, suffix: str) -> pa.Table:
    if suffix == ".csv":
        # Ids are text even when they look like numbers (leading zeros must survive).
        options = pa_csv.ConvertOptions(column_types={"prediction_id": pa.string()})
        return pa_csv.read_csv(path, convert_options=options)
    return pq.read_table(path)


def _json_lines(path: Path) -> Iterator[dict[str, object]]:
    """One object per line; a file holding one JSON array of objects works too."""
    with path.open("rb") as lines:
        for line in lines:
            if line.lstrip().startswith(b"["):
                yield from orjson.loads(line + lines.read())
                return
            if line.strip():
                yield orjson.loads(line)
