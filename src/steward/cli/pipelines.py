"""`steward pipelines ...`: run a training pipeline, or a fleet of them, from a config file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from steward import pipelines
from steward.cli.output import JsonOption, emit, fail, open_cli_store
from steward.config import Settings
from steward.errors import StewardError

pipelines_app = typer.Typer(
    name="pipelines", help="Training pipelines and fleets.", no_args_is_help=True
)


@pipelines_app.command("run")
def run(
    target: Annotated[str, typer.Argument(help="The pipeline, as MODULE:PIPELINE.")],
    config: Annotated[
        Path, typer.Option("--config", "-c", help="YAML/JSON file with params: (and tenants:).")
    ],
    executor: Annotated[
        str, typer.Option("--executor", help="Where steps run: local, dask or inline.")
    ] = "local",
    address: Annotated[
        str | None, typer.Option("--address", help="Dask scheduler, e.g. tcp://10.0.0.5:8786.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local pool size (default: CPUs).")
    ] = None,
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="Train one model per tenant (repeat); default tenants:."),
    ] = None,
    tenant_key: Annotated[
        str | None,
        typer.Option("--tenant-key", help="Param carrying the tenant (default tenant_key:)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline once, or once per tenant as a fleet; exit 1 when a tenant failed."""
    try:
        pipeline = pipelines.load_pipeline(target)
        loaded = pipelines.load_config(config)
        with pipelines.make_executor(executor, address=address, max_workers=workers) as active:
            tenants = tenant or loaded.tenants
            if tenants:
                key = tenant_key or loaded.tenant_key or "tenant"
                _fleet(pipeline, loaded.params, tenants, key, active, as_json)
            else:
                _single(pipeline, loaded.params, active, as_json)
    except StewardError as error:
        raise fail(error) from None


def _single(
    pipeline: pipelines.Pipeline,
    params: dict[str, object],
    executor: pipelines.Executor,
    as_json: bool,
) -> None:
    with open_cli_store() as store:
        result = pipelines.run_pipeline(
            pipeline, params=params, store=store, settings=Settings(), executor=executor
        )
    emit(
        result.steps,
        {
            "step": lambda s: s.name,
            "status": lambda s: s.status,
            "attempts": lambda s: s.attempts,
            "seconds": lambda s: round(s.duration_s, 3),
            "output": lambda s: s.output_digest[:12],
        },
        as_json=as_json,
        title=f"Run {result.run_id} of {pipeline.name}",
    )
    version = result.model_version
    if version is not None and not as_json:
        typer.echo(f"registered {version.model_name} version {version.version}")


def _fleet(
    pipeline: pipelines.Pipeline,
    params: dict[str, object],
    tenants: list[str],
    tenant_key: str,
    executor: pipelines.Executor,
    as_json: bool,
) -> None:
    results = pipelines.run_fleet(
        pipeline,
        tenants=tenants,
        tenant_key=tenant_key,
        params=params,
        settings=Settings(),
        executor=executor,
    )
    emit(
        results,
        {
            "tenant": lambda r: r.tenant,
            "model": lambda r: r.model_name,
            "version": lambda r: r.version.version if r.version else "",
            "run": lambda r: r.run.run_id if r.run else "",
            "error": lambda r: r.error or "",
        },
        as_json=as_json,
        title=f"Fleet of {pipeline.name}",
    )
    if not all(r.is_ok for r in results):
        raise typer.Exit(code=1)
