"""`steward data ...`: profile, validate and compare CSV and Parquet files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from steward.cli.output import JsonOption, console, fail, print_json
from steward.contracts import Contract, ValidationReport, validate
from steward.errors import InvalidInput, NotFound, StewardError
from steward.stats import (
    CategoricalSummary,
    DriftReport,
    DriftResult,
    NumericSummary,
    Profile,
    drift_report,
    profile,
)

__all__ = ["app", "read_table"]

app = typer.Typer(
    name="data",
    help="Profile, validate and compare data files (CSV or Parquet).",
    no_args_is_help=True,
)
DATA_SUFFIXES = (".csv", ".parquet", ".pq")
PROGRESS_BYTES = 16 * 2**20  # files larger than this show a progress bar
progress_console = Console(stderr=True)

FileArgument = Annotated[Path, typer.Argument(help="A .csv or .parquet file.")]


@contextmanager
def _steward_errors() -> Iterator[None]:
    """A Steward error ends the command with its message and a non-zero exit code."""
    try:
        yield
    except StewardError as error:
        raise fail(error) from None


@app.command("profile")
def profile_command(
    file: FileArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the full profile (JSON).")
    ] = None,
    bins: Annotated[int, typer.Option(help="PSI bins per numeric column.")] = 10,
    top_k: Annotated[int, typer.Option(help="Categories kept per column.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Profile a file: per column counts, missing values, moments or top categories."""
    with _steward_errors():
        result = profile(read_table(file), bins=bins, categorical_top_k=top_k)
    if output is not None:
        output.write_text(result.to_json())
    if as_json:
        print_json(
            {"rows": result.rows, "columns": _column_rows(result), "skipped": result.skipped}
        )
        return
    table = Table(title=f"Profile of {file.name}: {result.rows:,} rows")
    for heading in ("column", "kind", "count", "missing", "mean", "std", "min", "max", "top"):
        table.add_column(heading)
    for row in _column_rows(result):
        table.add_row(
            *(
                _cell(row.get(key))
                for key in (
                    "column",
                    "kind",
                    "count",
                    "missing",
                    "mean",
                    "std",
                    "min",
                    "max",
                    "top",
                )
            )
        )
    console.print(table)
    if output is not None:
        console.print(f"profile written to {output}")


@app.command("validate")
def validate_command(
    file: FileArgument,
    contract: Annotated[Path, typer.Option("--contract", "-c", help="Contract (.yaml/.json).")],
    as_json: JsonOption = False,
) -> None:
    """Validate a file against a contract; exit code 1 when any rule is broken."""
    with _steward_errors():
        rules = _read_contract(contract)
        report = validate(read_table(file), rules, mode="warn").report
    if as_json:
        print_json(report.to_dict())
    else:
        _print_validation(report)
    if not report.is_valid:
        raise typer.Exit(code=1)


@app.command("drift")
def drift_command(
    reference: Annotated[
        Path, typer.Argument(help="Baseline: a .csv/.parquet file or a saved profile (.json).")
    ],
    current: FileArgument,
    test: Annotated[
        list[str] | None, typer.Option("--test", "-t", help="Test(s) instead of the defaults.")
    ] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", help="Compare only these columns.")
    ] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit with code 1 when anything drifted.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare CURRENT with REFERENCE: every column, plus multivariate drift."""
    with _steward_errors():
        baseline = _read_baseline(reference)
        report = drift_report(baseline, read_table(current), tests=test or None, columns=column)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_drift(report, reference, current)
    if fail_on_drift and report.is_drifted:
        raise typer.Exit(code=1)


def read_table(path: Path) -> pa.Table:
    """Read a CSV or Parquet file into Arrow, with a progress bar for large files.

    Raises:
        NotFound: the file does not exist.
        InvalidInput: the extension is not supported or the file does not parse.
    """
    _check_file(path, DATA_SUFFIXES)
    size = path.stat().st_size
    with Progress(
        TextColumn(f"reading {path.name}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=progress_console,
        transient=True,
        disable=size < PROGRESS_BYTES,
    ) as progress:
        task = progress.add_task("read", total=None)
        try:
            if path.suffix.lower() == ".csv":
                progress.update(task, total=size)
                with path.open("rb") as raw:
                    return pa_csv.read_csv(_Counted(raw, lambda n: progress.advance(task, n)))
            return _read_parquet(path, progress, task)
        except (pa.ArrowInvalid, OSError) as error:
            raise InvalidInput(f"file {str(path)!r} could not be read: {error}") from None


def _read_parquet(path: Path, progress: Progress, task: TaskID) -> pa.Table:
    """Row group by row group, so the bar moves and memory holds one group's buffers."""
    parquet = pq.ParquetFile(path)
    progress.update(task, total=parquet.metadata.num_rows)
    groups = []
    for index in range(parquet.num_row_groups):
        groups.append(parquet.read_row_group(index))
        progress.advance(task, groups[-1].num_rows)
    return pa.concat_tables(groups) if groups else parquet.schema_arrow.empty_table()


class _Counted(io.RawIOBase):
    """A binary file that reports how many bytes were read, for the progress bar."""

    def __init__(self, raw: io.BufferedReader, advance: Any) -> None:
        self._raw, self._advance = raw, advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # `Any`: a writable buffer of any kind
        count = self._raw.readinto(buffer)
        self._advance(count)
        return count


def _check_file(path: Path, suffixes: tuple[str, ...]) -> None:
    if not path.is_file():
        raise NotFound(f"file {str(path)!r} does not exist")
    if path.suffix.lower() not in suffixes:
        raise InvalidInput(
            f"file {str(path)!r} has extension {path.suffix or '(none)'!r}; "
            f"accepted: {', '.join(suffixes)}"
        )


def _read_contract(path: Path) -> Contract:
    _check_file(path, (".yaml", ".yml", ".json"))
    text = path.read_text()
    return Contract.from_json(text) if path.suffix.lower() == ".json" else Contract.from_yaml(text)


def _read_baseline(path: Path) -> Profile:
    if path.suffix.lower() == ".json":
        _check_file(path, (".json",))
        return Profile.from_json(path.read_text())
    return profile(read_table(path))


def _column_rows(result: Profile) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, summary in result.columns.items():
        row: dict[str, Any] = {
            "column": name,
            "kind": summary.kind.value,
            "count": summary.count,
            "missing": summary.missing,
        }
        if isinstance(summary, NumericSummary):
            moments = summary.moments
            row |= {
                "mean": moments.mean if moments.count else None,
                "std": moments.std if moments.count else None,
                "min": moments.minimum,
                "max": moments.maximum,
            }
        elif isinstance(summary, CategoricalSummary):
            row["top"] = dict(zip(summary.categories[:5], summary.counts[:5], strict=True))
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _print_validation(report: ValidationReport) -> None:
    verdict = "[green]valid[/green]" if report.is_valid else "[red]invalid[/red]"
    console.print(
        f"{report.contract}: {verdict}; {report.invalid_rows:,} of "
        f"{report.total_rows:,} rows break a rule"
    )
    if report.counts:
        counts = Table(title="Violations")
        for heading in ("column", "rule", "rows"):
            counts.add_column(heading)
        for name, kinds in report.counts.items():
            for kind, count in kinds.items():
                counts.add_row(name, kind, f"{count:,}")
        console.print(counts)
    if report.examples:
        examples = Table(title="First offending values")
        for heading in ("row", "column", "rule", "value", "expected"):
            examples.add_column(heading)
        for v in report.examples:
            examples.add_row(_cell(v.row), v.column, v.kind, repr(v.value), v.expected)
        console.print(examples)


def _print_drift(report: DriftReport, reference: Path, current: Path) -> None:
    table = Table(title=f"Drift of {current.name} against {reference.name}")
    for heading in ("column", "test", "statistic", "p-value", "threshold", "status"):
        table.add_column(heading)
    for result in (*report.results, *([report.multivariate] if report.multivariate else [])):
        table.add_row(*_drift_row(result))
    console.print(table)
    drifted = report.drifted_columns
    console.print(
        f"{len(drifted)} of {len({r.column for r in report.results})} columns drifted"
        + (f": {', '.join(drifted)}" if drifted else "")
    )


def _drift_row(result: DriftResult) -> tuple[str, ...]:
    colour = {"drifted": "red", "ok": "green"}.get(result.status.value, "yellow")
    column = "(all, multivariate)" if result.column == "*" else result.column
    return (
        column,
        result.test,
        _cell(result.statistic),
        _cell(result.p_value),
        _cell(result.threshold),
        f"[{colour}]{result.status.value}[/{colour}]",
    )
