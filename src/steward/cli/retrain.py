"""`steward retrain ...`: ask a trigger whether to retrain, and retrain against the champion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from steward.cli.output import open_cli_store, print_json
from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.retraining.challenger import retrain
from steward.retraining.triggers import load_trigger_config, should_retrain

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
    frame = _read_holdout(holdout)
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


def _read_holdout(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise NotFound(f"no holdout file at {str(path)!r}")
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    raise InvalidInput(f"holdout {str(path)!r} must be a .csv or .parquet file", field="holdout")
