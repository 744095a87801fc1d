"""`steward approvals ...`: sign off a model version for an environment; list approvals."""

from __future__ import annotations

from typing import Annotated

import typer

from steward import registry
from steward.cli.output import JsonOption, emit, open_cli_store, print_json
from steward.config import Settings

approvals_app = typer.Typer(
    name="approvals", help="Approvals of model versions for environments.", no_args_is_help=True
)


@approvals_app.command("approve")
def approve(
    name: str,
    version: Annotated[int, typer.Argument(min=1)],
    env: Annotated[str, typer.Option("--env", help="Environment the approval is for.")],
    comment: Annotated[str, typer.Option(help="Why it is approved.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Approve VERSION of model NAME for an environment (approvers only, once per person)."""
    settings = Settings()
    with open_cli_store() as store:
        approval = registry.approve(
            store,
            name,
            version,
            env,
            settings.actor,
            comment,
            approvers=settings.approvers,
            environments=settings.environments,
        )
    if as_json:
        print_json(approval)
        return
    typer.echo(f"{name} v{version} approved for {env} by {approval.approver}")


@approvals_app.command("list")
def list_approvals(
    name: Annotated[str | None, typer.Argument(help="Only approvals of this model.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List approvals, oldest first."""
    with open_cli_store() as store:
        found = registry.list_approvals(store, name, environment=env)
    emit(
        found,
        {
            "model": lambda a: a.model_name,
            "version": lambda a: a.version,
            "environment": lambda a: a.environment,
            "approver": lambda a: a.approver,
            "comment": lambda a: a.comment,
            "at": lambda a: a.created_at,
        },
        as_json=as_json,
        title="Approvals",
    )
