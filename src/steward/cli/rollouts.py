"""`steward rollouts ...`: progressive rollout of a challenger version on an endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from steward.cli.output import JsonOption, emit, fail, open_cli_store, print_json
from steward.config import Settings
from steward.errors import InvalidInput
from steward.retraining.rollout import (
    Rollout,
    abort_rollout,
    evaluate_rollout,
    get_rollout,
    list_rollout_events,
    list_rollouts,
    start_rollout,
)

rollouts_app = typer.Typer(
    name="rollouts",
    help="Progressive rollouts: stages, gates, automatic promotion and rollback.",
    no_args_is_help=True,
)


@rollouts_app.command("start")
def start(
    endpoint: str,
    version: Annotated[int, typer.Argument(min=1, help="The challenger version.")],
    stages: Annotated[
        str, typer.Option(help="Challenger percentages, e.g. 10,50,100; a first 0 is shadow.")
    ] = "10,50,100",
    min_samples: Annotated[int, typer.Option(min=0, help="Answers a stage needs.")] = 100,
    min_duration: Annotated[float, typer.Option(min=0, help="Seconds a stage lasts.")] = 600.0,
    max_error_rate: Annotated[float, typer.Option(help="Fallback share gate, 0-1.")] = 0.02,
    max_p99_ms: Annotated[float | None, typer.Option(help="p99 latency gate, ms.")] = None,
    max_prediction_psi: Annotated[
        float | None, typer.Option(help="Gate on the PSI of its predictions vs the champion's.")
    ] = None,
    max_accuracy_drop: Annotated[
        float | None, typer.Option(help="Gate on its labelled accuracy below the champion's.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start rolling VERSION out on ENDPOINT, the rest of the traffic to @champion."""
    try:
        percentages = [int(part) for part in stages.split(",")]
    except ValueError:
        raise fail(
            InvalidInput(f"--stages {stages!r} is not comma-separated whole percentages")
        ) from None
    gates = {"max_error_rate": max_error_rate}
    if max_p99_ms is not None:
        gates["max_p99_ms"] = max_p99_ms
    if max_prediction_psi is not None:
        gates["max_prediction_psi"] = max_prediction_psi
    if max_accuracy_drop is not None:
        gates["max_accuracy_drop"] = max_accuracy_drop
    settings = Settings()
    with open_cli_store() as store:
        rollout = start_rollout(
            store,
            endpoint,
            version,
            stages=percentages,
            min_samples=min_samples,
            min_duration_s=min_duration,
            gates=gates,
            actor=settings.actor,
        )
    _show(rollout, as_json)


@rollouts_app.command("list")
def list_(
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint's.")] = None,
    status: Annotated[str | None, typer.Option(help="running, promoted, rolled_back...")] = None,
    as_json: JsonOption = False,
) -> None:
    """List rollouts, newest first."""
    with open_cli_store() as store:
        found = list_rollouts(store, endpoint=endpoint, status=status)
    emit(
        [r.to_dict() for r in found],
        {
            "id": lambda r: r["id"],
            "endpoint": lambda r: r["endpoint"],
            "version": lambda r: r["challenger_version"],
            "stage": lambda r: r["stage"],
            "status": lambda r: r["status"],
            "updated": lambda r: r["updated_at"],
        },
        as_json=as_json,
        title="Rollouts",
    )


@rollouts_app.command("show")
def show(rollout_id: int, as_json: JsonOption = False) -> None:
    """Show a rollout, its last evaluation and its events."""
    with open_cli_store() as store:
        rollout = get_rollout(store, rollout_id)
        events = list_rollout_events(store, rollout_id)
    if as_json:
        print_json(rollout.to_dict() | {"events": [e.to_dict() for e in events]})
        return
    _show(rollout, False)
    for event in events:
        typer.echo(f"  {event.at:%Y-%m-%d %H:%M:%S} {event.kind}: {event.message}")


@rollouts_app.command("evaluate")
def evaluate(rollout_id: int, as_json: JsonOption = False) -> None:
    """Evaluate a rollout's stage now: advance, promote, roll back or hold."""
    settings = Settings()
    with open_cli_store() as store:
        rollout = evaluate_rollout(store, settings, rollout_id, actor=settings.actor)
    _show(rollout, as_json)


@rollouts_app.command("abort")
def abort(
    rollout_id: int,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Stop a running rollout now: all traffic back to @champion."""
    settings = Settings()
    with open_cli_store() as store:
        rollout = abort_rollout(store, rollout_id, actor=settings.actor, reason=reason)
    _show(rollout, as_json)


def _show(rollout: Rollout, as_json: bool) -> None:
    if as_json:
        print_json(rollout.to_dict())
        return
    typer.echo(
        f"rollout {rollout.id}: {rollout.endpoint} version {rollout.challenger_version} "
        f"{rollout.status} at {rollout.stage_name} (stages "
        f"{','.join(map(str, rollout.stages))})"
    )
    if rollout.last_evaluation is not None:
        typer.echo(f"  last evaluation: {rollout.last_evaluation}")
