"""`steward audit ...`: the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from steward import audit
from steward.cli.output import JsonOption, emit, open_cli_store, print_json

audit_app = typer.Typer(name="audit", help="The append-only audit log.", no_args_is_help=True)


@audit_app.command("list")
def list_events(
    target: Annotated[str | None, typer.Option(help="Only events about this target id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List audit events, oldest first."""
    with open_cli_store() as store:
        events = audit.list_events(store, target_id=target, limit=limit)
    emit(
        events,
        {
            "seq": lambda e: e.seq,
            "at": lambda e: e.at,
            "actor": lambda e: e.actor,
            "action": lambda e: e.action,
            "target": lambda e: f"{e.target_type}:{e.target_id}",
        },
        as_json=as_json,
        title="Audit events",
    )


@audit_app.command("verify")
def verify(
    anchor: Annotated[
        str | None,
        typer.Option(
            help="SEQ:HASH of a head kept outside the database (printed by an earlier verify); "
            "detects deleted newest events and whole-chain rewrites."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the hash chain; exit 1 and name the first broken event if it was tampered with."""
    with open_cli_store() as store:
        result = audit.verify(store, anchor=_parse_anchor(anchor) if anchor else None)
    if as_json:
        print_json(result)
    elif result.is_intact:
        typer.echo(f"audit chain intact: {result.checked} events verified; head {result.head}")
    else:
        typer.echo(
            f"audit chain BROKEN at event {result.first_broken_seq}: {result.reason}", err=True
        )
    if not result.is_intact:
        raise typer.Exit(code=1)


def _parse_anchor(text: str) -> audit.ChainHead:
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise typer.BadParameter(f"anchor {text!r} is not SEQ:HASH (e.g. 42:3fa1...64 hex)")
    return audit.ChainHead(int(seq), digest)
