"""`steward experiments ...` and `steward runs ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from steward import tracking
from steward.cli.output import JsonOption, emit, open_cli_store, print_json

experiments_app = typer.Typer(
    name="experiments", help="Named groups of runs.", no_args_is_help=True
)
runs_app = typer.Typer(name="runs", help="Training and evaluation runs.", no_args_is_help=True)


@experiments_app.command("list")
def list_experiments(as_json: JsonOption = False) -> None:
    """List experiments."""
    with open_cli_store() as store:
        found = tracking.list_experiments(store)
    emit(
        found,
        {"id": lambda e: e.id, "name": lambda e: e.name, "created": lambda e: e.created_at},
        as_json=as_json,
        title="Experiments",
    )


@runs_app.command("list")
def list_runs(
    experiment: Annotated[str, typer.Option("--experiment", "-e", help="Experiment name or id.")],
    filter: Annotated[str | None, typer.Option("--filter", help='e.g. "metrics.auc > 0.9"')] = None,
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", help='e.g. "metrics.auc DESC"')
    ] = None,
    max_results: Annotated[int, typer.Option("--max-results", min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List runs of an experiment, filtered and ordered."""
    with open_cli_store() as store:
        found = tracking.get_experiment(store, experiment)
        page = tracking.search_runs(
            store,
            experiment_ids=[found.id],
            filter=filter,
            order_by=order_by or (),
            max_results=max_results,
        )
    emit(
        page.runs,
        {
            "id": lambda r: r.id,
            "name": lambda r: r.name,
            "status": lambda r: r.status,
            "started": lambda r: r.start_time,
            "metrics": lambda r: r.metrics,
        },
        as_json=as_json,
        title=f"Runs of {found.name}",
    )


@runs_app.command("show")
def show_run(run_id: str, as_json: JsonOption = False) -> None:
    """Show one run: params, latest metrics, tags, inputs, artifacts, code and environment."""
    with open_cli_store() as store:
        run = tracking.get_run(store, run_id)
    if as_json:
        print_json(run)
        return
    emit(
        [run],
        {
            "id": lambda r: r.id,
            "name": lambda r: r.name,
            "status": lambda r: r.status,
            "user": lambda r: r.user,
            "started": lambda r: r.start_time,
            "ended": lambda r: r.end_time,
        },
        as_json=False,
        title="Run",
    )
    for title, values in (("Params", run.params), ("Metrics", run.metrics), ("Tags", run.tags)):
        rows = sorted(values.items())
        emit(rows, {"key": lambda kv: kv[0], "value": lambda kv: kv[1]}, as_json=False, title=title)
