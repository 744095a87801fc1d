"""`steward models ...`: registered models, versions, aliases."""

from __future__ import annotations

from typing import Annotated

import typer

from steward import registry
from steward.cli.output import JsonOption, emit, open_cli_store, print_json
from steward.config import Settings

models_app = typer.Typer(name="models", help="The model registry.", no_args_is_help=True)
alias_app = typer.Typer(name="alias", help="Movable names on versions.", no_args_is_help=True)
models_app.add_typer(alias_app)


@models_app.command("list")
def list_models(as_json: JsonOption = False) -> None:
    """List registered models."""
    with open_cli_store() as store:
        found = registry.list_models(store)
    emit(
        found,
        {
            "name": lambda m: m.name,
            "latest": lambda m: m.latest_version,
            "aliases": lambda m: m.aliases,
            "updated": lambda m: m.updated_at,
        },
        as_json=as_json,
        title="Models",
    )


@models_app.command("show")
def show_model(name: str, as_json: JsonOption = False) -> None:
    """Show a model with its aliases and where it is deployed."""
    with open_cli_store() as store:
        model = registry.get_model(store, name)
        deployed = registry.current_deployments(store, name)
    if as_json:
        print_json({"model": model, "deployments": deployed})
        return
    emit(
        [model],
        {
            "name": lambda m: m.name,
            "latest": lambda m: m.latest_version,
            "aliases": lambda m: m.aliases,
            "description": lambda m: m.description,
        },
        as_json=False,
        title="Model",
    )
    emit(
        list(deployed.values()),
        {
            "environment": lambda d: d.environment,
            "version": lambda d: d.version,
            "by": lambda d: d.deployed_by,
            "at": lambda d: d.deployed_at,
        },
        as_json=False,
        title="Deployed",
    )


@models_app.command("versions")
def list_versions(name: str, as_json: JsonOption = False) -> None:
    """List the versions of a model with their lineage."""
    with open_cli_store() as store:
        found = registry.list_versions(store, name)
    emit(
        found,
        {
            "version": lambda v: v.version,
            "flavor": lambda v: v.flavor,
            "aliases": lambda v: ", ".join(v.aliases),
            "run": lambda v: v.run_id,
            "artifact": lambda v: v.artifact_digest[:12],
            "by": lambda v: v.created_by,
            "created": lambda v: v.created_at,
        },
        as_json=as_json,
        title=f"Versions of {name}",
    )


@alias_app.command("set")
def set_alias(
    name: str,
    alias: str,
    version: Annotated[int, typer.Argument(min=1)],
    as_json: JsonOption = False,
) -> None:
    """Point ALIAS of model NAME at VERSION (one atomic step, audited)."""
    with open_cli_store() as store:
        moved = registry.set_alias(store, name, alias, version, actor=Settings().actor)
    if as_json:
        print_json(moved)
        return
    typer.echo(f"{name}@{alias} -> version {moved.version}")
