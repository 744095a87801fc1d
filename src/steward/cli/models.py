"""`steward models ...`: registered models, versions, aliases, promotion and its policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from steward import registry
from steward.cli.output import JsonOption, emit, fail, open_cli_store, print_json
from steward.config import Settings
from steward.errors import PolicyViolation

models_app = typer.Typer(name="models", help="The model registry.", no_args_is_help=True)
alias_app = typer.Typer(name="alias", help="Movable names on versions.", no_args_is_help=True)
policy_app = typer.Typer(
    name="policy", help="Promotion policies per environment.", no_args_is_help=True
)
models_app.add_typer(alias_app)
models_app.add_typer(policy_app)


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


@models_app.command("promote")
def promote(
    name: str,
    version: Annotated[int, typer.Argument(min=1)],
    to: Annotated[str, typer.Option("--to", help="Environment to promote to.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the checks only; change nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Promote VERSION of NAME by the environment's policy; exit 2 when it is refused."""
    settings = Settings()

    def run(*, dry: bool) -> registry.PromotionDecision:
        return registry.promote(
            store,
            name,
            version,
            to=to,
            actor=settings.actor,
            dry_run=dry,
            approvers=settings.approvers,
            environments=settings.environments,
        )

    with open_cli_store() as store:
        try:
            decision = run(dry=dry_run)
        except PolicyViolation as refusal:
            _print_decision(run(dry=True), as_json)  # every check, passed or not, then why
            raise fail(refusal) from None
    _print_decision(decision, as_json)
    if not decision.passed:
        raise typer.Exit(code=2)


def _print_decision(decision: registry.PromotionDecision, as_json: bool) -> None:
    if as_json:
        print_json(decision.to_dict())
        return
    emit(
        decision.checks,
        {
            "check": lambda c: c.check,
            "passed": lambda c: "yes" if c.passed else "NO",
            "challenger": lambda c: c.challenger,
            "champion": lambda c: c.champion,
            "threshold": lambda c: c.threshold,
            "detail": lambda c: c.message,
        },
        as_json=False,
        title=f"{decision.model_name} v{decision.version} -> {decision.environment}",
    )
    tally = decision.approvals
    typer.echo(
        f"approvals: {len(tally.approved_by)}/{tally.required} by role {tally.role} "
        f"({', '.join(tally.approved_by) or 'none'})"
    )
    if decision.promoted:
        alias = f"{decision.model_name}@{decision.alias}"
        typer.echo(f"promoted: {alias} {decision.champion_version} -> {decision.version}")
    elif decision.passed:
        typer.echo("dry run: every check passed; nothing changed")
    else:
        typer.echo("refused: " + "; ".join(decision.failures))


@policy_app.command("set")
def set_policy(
    name: str,
    env: Annotated[str, typer.Option("--env", help="Environment the policy governs.")],
    file: Annotated[Path, typer.Option("--file", exists=True, dir_okay=False, help="YAML/JSON.")],
    as_json: JsonOption = False,
) -> None:
    """Store the promotion policy of NAME in an environment from a YAML or JSON file."""
    settings = Settings()
    with open_cli_store() as store:
        policy = registry.set_policy(
            store,
            name,
            env,
            file.read_text(encoding="utf-8"),
            settings.actor,
            environments=settings.environments,
        )
    if as_json:
        print_json(policy)
        return
    typer.echo(f"policy of {name} in {env} is now version {policy.version}")


@policy_app.command("show")
def show_policy(
    name: str,
    env: Annotated[str, typer.Option("--env", help="Environment the policy governs.")],
    version: Annotated[int | None, typer.Option(help="An earlier version.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the promotion policy of NAME in an environment (YAML, or JSON with --json)."""
    with open_cli_store() as store:
        policy = registry.get_policy(store, name, env, version)
    if as_json:
        print_json(policy)
        return
    typer.echo(f"# policy version {policy.version} by {policy.created_by} at {policy.created_at}")
    typer.echo(yaml.safe_dump(policy.document, sort_keys=False).rstrip())
