"""`steward retrain ...`: ask a trigger whether to retrain, and retrain against the champion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from steward.cli.output import JsonOption, emit, open_cli_store, print_json
from steward.config import Settings
from steward.retraining.challenger import retrain
from steward.retraining.holdout import read_holdout
from steward.retraining.loop import (
    Loop,
    disable_loop,
    enable_loop,
    list_loops,
    tick_loops,
)
from steward.retraining.triggers import load_trigger_config, should_retrain, trigger_history

retrain_app = typer.Typer(
    name="retrain",
    help="Retraining triggers (guard rails, seasonality check) and champion/challenger runs.",
    no_args_is_help=True,
)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Trigger config YAML/JSON.")]
ReasonOption = Annotated[str, typer.Option(help="manual, schedule, drift or performance.")]
MonitorOption = Annotated[str | None, typer.Option(help="Overrides the config's monitor.")]
WindowOption = Annotated[
    int | None, typer.Option("--window-start-ms", help="Window to judge (default: newest).")
]


@retrain_app.command("check")
def check(
    config: ConfigOption,
    reason: ReasonOption = "manual",
    monitor: MonitorOption = None,
    window_start_ms: WindowOption = None,
) -> None:
    """Decide whether REASON retrains the model now; the decision is audited. Prints JSON."""
    trigger = load_trigger_config(config)
    with open_cli_store() as store:
        decision = should_retrain(
            store,
            Settings(),
            trigger,
            reason=reason,
            monitor=monitor,
            window_start_ms=window_start_ms,
        )
    print_json(decision.to_dict())


@retrain_app.command("run")
def run(
    config: ConfigOption,
    holdout: Annotated[Path, typer.Option(help="Fresh holdout rows: .csv or .parquet.")],
    label: Annotated[str, typer.Option(help="The holdout's label column.")],
    reason: ReasonOption = "manual",
    metrics: Annotated[str, typer.Option(help="Comma-separated metrics.")] = "roc_auc,accuracy",
    monitor: MonitorOption = None,
    window_start_ms: WindowOption = None,
    promote_to: Annotated[
        str | None, typer.Option(help="Promote the challenger to this environment.")
    ] = None,
) -> None:
    """If the trigger allows it, run the pipeline and compare the challenger with the
    champion on the holdout. Prints the decision, new version and comparison as JSON."""
    trigger = load_trigger_config(config)
    frame = read_holdout(holdout)
    with open_cli_store() as store:
        result = retrain(
            store,
            Settings(),
            trigger,
            reason=reason,
            holdout=frame,
            label_column=label,
            metrics=[m.strip() for m in metrics.split(",") if m.strip()],
            monitor=monitor,
            window_start_ms=window_start_ms,
            promote_to=promote_to,
        )
    print_json(
        {
            "decision": result.decision.to_dict(),
            "version": None if result.version is None else result.version.version,
            "comparison": None if result.comparison is None else result.comparison.to_dict(),
            "promoted": result.promotion is not None,
        }
    )


@retrain_app.command("enable")
def enable(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Store CONFIG as its model's closed loop: the control plane's scheduler then retrains
    on its triggers, compares with the champion, asks the policy and rolls out."""
    trigger = load_trigger_config(config)
    settings = Settings()
    with open_cli_store() as store:
        loop = enable_loop(store, trigger, actor=settings.actor)
    _show_loop(loop, as_json)


@retrain_app.command("disable")
def disable(model: str, as_json: JsonOption = False) -> None:
    """Turn MODEL's loop off; its config stays stored."""
    settings = Settings()
    with open_cli_store() as store:
        loop = disable_loop(store, model, actor=settings.actor)
    _show_loop(loop, as_json)


@retrain_app.command("loops")
def loops(as_json: JsonOption = False) -> None:
    """List the stored retraining loops."""
    with open_cli_store() as store:
        found = list_loops(store)
    emit(
        [loop.to_dict() for loop in found],
        {
            "model": lambda r: r["model"],
            "enabled": lambda r: "yes" if r["enabled"] else "no",
            "triggers": lambda r: ",".join(
                k for k in ("schedule", "drift", "performance") if r["config"][k]
            ),
            "rollout": lambda r: (r["config"]["rollout"] or {}).get("endpoint", "-"),
            "judged": lambda r: json.dumps(r["judged"]),
        },
        as_json=as_json,
        title="Retraining loops",
    )


@retrain_app.command("tick")
def tick() -> None:
    """Judge every enabled loop once now (what the control plane does each tick). Prints
    JSON: one entry per loop that decided something."""
    with open_cli_store() as store:
        outcomes = tick_loops(store, Settings())
    print_json([outcome.to_dict() for outcome in outcomes])


@retrain_app.command("history")
def history(model: str, as_json: JsonOption = False) -> None:
    """MODEL's retraining decisions and challengers, oldest first (from the audit log)."""
    with open_cli_store() as store:
        events = trigger_history(store, model)
    rows = [
        {
            "seq": e.seq,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "details": e.after,
            "summary": _summary(e.after),
        }
        for e in events
    ]
    emit(
        rows,
        {
            "seq": lambda r: r["seq"],
            "at": lambda r: r["at"],
            "action": lambda r: r["action"],
            "summary": lambda r: r["summary"],
        },
        as_json=as_json,
        title=f"Retraining of {model}",
    )


def _summary(details: Any) -> str:  # Any: an audit event's JSON document
    """One line of a retraining event: the decision's reason, or the challenger's verdict."""
    if not isinstance(details, dict):
        return ""
    if "reason" in details and isinstance(details["reason"], str):
        return details["reason"]
    if "version" in details:
        verdict = "accepted" if details.get("accepted") else "refused"
        if details.get("awaiting_approval"):
            verdict = "awaiting approvals"
        rollout = details.get("rollout_id")
        then = f", rollout {rollout}" if rollout else ""
        return f"challenger v{details['version']} {verdict}{then}"
    return str(details.get("error", ""))


def _show_loop(loop: Loop, as_json: bool) -> None:
    if as_json:
        print_json(loop.to_dict())
        return
    state = "enabled" if loop.enabled else "disabled"
    typer.echo(f"retraining loop of {loop.model}: {state}")
