"""The `steward` command: one Typer app, one sub-app per command group."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from steward.cli.alerts import alerts_app
from steward.cli.approvals import approvals_app
from steward.cli.audit import audit_app
from steward.cli.data import app as data_app
from steward.cli.endpoints import endpoints_app
from steward.cli.labels import labels_app
from steward.cli.models import models_app
from steward.cli.monitors import monitors_app
from steward.cli.output import fail
from steward.cli.pipelines import pipelines_app
from steward.cli.predict import predict
from steward.cli.retrain import retrain_app
from steward.cli.rollouts import rollouts_app
from steward.cli.serve import serve
from steward.cli.tracking import experiments_app, runs_app
from steward.config import Settings
from steward.errors import StewardError
from steward.version import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="steward",
    help="Steward keeps machine-learning models reliable in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for group in (
    experiments_app,
    runs_app,
    models_app,
    approvals_app,
    endpoints_app,
    labels_app,
    monitors_app,
    alerts_app,
    rollouts_app,
    audit_app,
    data_app,
    pipelines_app,
    retrain_app,
):
    app.add_typer(group)
app.command("predict")(predict)
app.command("serve")(serve)


@app.callback()
def root(
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING...")] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log as JSON lines.")] = False,
) -> None:
    """Steward: tracking, registry, serving, monitoring and the closed retraining loop."""
    level = (log_level or Settings().log_level).upper()
    fmt = (
        '{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","message":"%(message)s"}'
        if log_json
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.basicConfig(level=level, format=fmt)


@app.command()
def version() -> None:
    """Print Steward's version."""
    typer.echo(__version__)


@app.command()
def server(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Run the control plane: REST API under /api/v1, OpenAPI at /openapi.json, /metrics."""
    import uvicorn

    from steward.server.app import create_app

    settings = Settings()
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    typer.echo(f"Steward control plane on http://{bind_host}:{bind_port} (API docs: /docs)")
    uvicorn.run(
        create_app(settings),
        host=bind_host,
        port=bind_port,
        log_level="warning",
        access_log=False,
    )


@app.command()
def demo(
    rows: Annotated[int, typer.Option(min=200, help="Rows of generated training data.")] = 5000,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Finish instead of leaving the servers running.")
    ] = False,
) -> None:
    """Run the built-in scenario on generated data: train, serve, monitor, then the closed
    loop (drift -> retrain -> canary -> promote; a bad challenger rolled back)."""
    from steward.demo.scenario import run_demo

    # The demo narrates its own timeline; INFO lines from the library would interleave with it.
    for name in ("steward", "httpx"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    run_demo(Settings(), rows=rows, echo=typer.echo, serve=not no_serve)


def main() -> None:
    """Entry point of the `steward` script: Steward errors become one readable line."""
    try:
        app()
    except StewardError as error:
        sys.exit(fail(error).exit_code)
