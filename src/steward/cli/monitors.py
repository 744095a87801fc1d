"""`steward monitors ...`: per-endpoint monitors, their windows and their time series."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from steward.cli.output import JsonOption, console, emit, open_cli_store, print_json
from steward.config import Settings
from steward.errors import InvalidInput
from steward.monitoring.monitors import (
    Monitor,
    create_monitor,
    get_monitor,
    list_monitors,
    parse_config,
    update_monitor,
)
from steward.monitoring.notifiers import alert_text
from steward.monitoring.runs import WindowRun, run_monitor
from steward.monitoring.timeseries import ResultPoint, query_results, query_windows

__all__ = ["monitors_app"]

monitors_app = typer.Typer(
    name="monitors",
    help="Monitors: drift, prediction drift, performance on late labels, segments, KPIs.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-f", help="A YAML or JSON monitor config file.")
]


@monitors_app.command("create")
def create(
    name: str,
    endpoint: Annotated[
        str | None, typer.Option(help="Endpoint to watch (or `endpoint:` in --config).")
    ] = None,
    config_file: ConfigOption = None,
    window: Annotated[str | None, typer.Option(help="Window length, e.g. 1h or 1d.")] = None,
    segment: Annotated[
        list[str] | None, typer.Option("--segment", help="Segment key (repeatable).")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="classification or regression (performance metrics).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create monitor NAME (or a new version of it, when it exists) from options or --config."""
    document = _document(config_file)
    overrides = {"endpoint": endpoint, "window": window, "segments": segment, "task": task}
    document |= {key: value for key, value in overrides.items() if value}
    config = parse_config(document)
    actor = Settings().actor
    with open_cli_store() as store:
        if any(m.name == name for m in list_monitors(store)):
            monitor = update_monitor(store, name, config=config, actor=actor)
        else:
            monitor = create_monitor(store, name, config, actor=actor)
    if as_json:
        print_json(monitor.to_dict())
        return
    typer.echo(
        f"monitor {monitor.name} v{monitor.version} watches {monitor.endpoint} "
        f"every {monitor.config.window}"
    )


@monitors_app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List monitors."""
    with open_cli_store() as store:
        found = list_monitors(store)
    if as_json:
        print_json([m.to_dict() for m in found])
        return
    columns = {
        "name": lambda m: m.name,
        "endpoint": lambda m: m.endpoint,
        "version": lambda m: m.version,
        "window": lambda m: m.config.window,
        "enabled": lambda m: m.is_enabled,
    }
    emit(found, columns, as_json=False, title="monitors")


@monitors_app.command("run")
def run(
    name: str,
    start: Annotated[
        datetime | None, typer.Option("--from", help="First instant to (re)compute (UTC).")
    ] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="End, exclusive (UTC).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Compute NAME's due windows now, or every window in --from/--to (a backfill)."""
    if end is not None and start is None:
        raise InvalidInput("--to needs --from", field="from")
    with open_cli_store() as store:
        runs = run_monitor(
            store,
            Settings(),
            name,
            start_ms=None if start is None else _ms(start),
            end_ms=None if end is None else _ms(end),
        )
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    if not runs:
        typer.echo(f"no window of {name} is due")
    for window_run in runs:
        typer.echo(_run_line(window_run))


@monitors_app.command("show")
def show(
    name: str,
    metric: Annotated[str | None, typer.Option(help="Only this metric, e.g. drift.psi.")] = None,
    feature: Annotated[str | None, typer.Option(help="Only this feature.")] = None,
    segment: Annotated[
        str | None, typer.Option(help="Only this segment, e.g. region=EU ('' for overall).")
    ] = None,
    last: Annotated[int, typer.Option(min=1, help="Windows to show.")] = 5,
    as_json: JsonOption = False,
) -> None:
    """Show NAME's config, its latest windows and their metrics."""
    with open_cli_store() as store:
        monitor = get_monitor(store, name)
        windows = query_windows(store, name, limit=last)
        since = windows[-1].window_start_ms if windows else None
        points = query_results(
            store, name, metric=metric, feature=feature, segment=segment, start_ms=since
        )
    if as_json:
        print_json(
            {
                "monitor": monitor.to_dict(),
                "windows": [w.to_dict() for w in windows],
                "results": [p.to_dict() for p in points],
            }
        )
        return
    _print_monitor(monitor)
    emit(
        points,
        {
            "window": lambda p: _iso(p.window_start_ms),
            "metric": lambda p: p.metric,
            "feature": lambda p: p.feature,
            "segment": lambda p: p.segment,
            "value": lambda p: p.value,
            "n": lambda p: p.sample_size,
            "drifted": lambda p: _flag(p),
        },
        as_json=False,
        title=f"{name}: last {len(windows)} windows",
    )


def _document(path: Path | None) -> dict[str, Any]:  # Any: the user's YAML document
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read monitor config {str(path)!r}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise InvalidInput(f"monitor config {str(path)!r} must be a mapping of fields")
    return loaded


def _print_monitor(monitor: Monitor) -> None:
    config = monitor.config
    console.print(
        f"[bold]{monitor.name}[/bold] v{monitor.version} on {monitor.endpoint}: window "
        f"{config.window}, delay {config.delay}"
        + (f", seasonal period {config.seasonal_period}" if config.seasonal_period else "")
        + ("" if monitor.is_enabled else " (paused)")
    )


def _run_line(window_run: WindowRun) -> str:
    line = (
        f"{_iso(window_run.window.start_ms)}  {window_run.status:6}  {window_run.rows:>9,} rows  "
        f"{window_run.labelled_rows:>9,} labelled  {window_run.metrics} metrics"
    )
    if window_run.error:
        line += f"  error: {window_run.error}"
    for transition in window_run.transitions:
        line += f"\n  alert {transition.kind}: {alert_text(transition)}"
    return line


def _flag(point: ResultPoint) -> str:
    return "" if point.drifted is None else ("yes" if point.drifted else "no")


def _ms(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
