"""How commands print: rich tables for people, `--json` for scripts."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from steward.config import Settings
from steward.errors import StewardError
from steward.store import Store, open_store

__all__ = ["JsonOption", "console", "emit", "fail", "open_cli_store", "plain", "print_json"]

console = Console()
# soft_wrap: an error naming a long path or value stays on one line, whatever the terminal.
err_console = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def plain(value: Any) -> Any:
    """Entities and datetimes as JSON-ready values (NaN and infinities as strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(plain(value), indent=2, sort_keys=False))


def emit(
    items: Sequence[Any],
    columns: Mapping[str, Callable[[Any], Any]],
    *,
    as_json: bool,
    title: str | None = None,
) -> None:
    """Print items as a table with the given column getters, or all their fields as JSON."""
    if as_json:
        print_json(list(items))
        return
    table = Table(title=title)
    for name in columns:
        table.add_column(name)
    for item in items:
        table.add_row(*(_cell(get(item)) for get in columns.values()))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@contextmanager
def open_cli_store() -> Iterator[Store]:
    """The store the environment configures; a Steward error ends the command with its message."""
    try:
        store = open_store(Settings())
    except StewardError as error:
        raise fail(error) from None
    try:
        yield store
    except StewardError as error:
        raise fail(error) from None
    finally:
        store.close()


def fail(error: StewardError) -> typer.Exit:
    """Print a Steward error the way a person reads it and return the exit to raise."""
    err_console.print(f"[red]{type(error).__name__}:[/red] {error.message}")
    return typer.Exit(code=2 if error.status_code < 500 else 1)
