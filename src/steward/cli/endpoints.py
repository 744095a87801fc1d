"""`steward endpoints ...`: named serving targets, their traffic, shadow and fallback."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from steward import registry
from steward.cli.output import JsonOption, console, emit, open_cli_store, plain, print_json
from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.registry.endpoints import update_endpoint
from steward.registry.entities import Endpoint, ResolvedEndpoint, ResolvedTarget, TrafficTarget

__all__ = ["endpoints_app"]

endpoints_app = typer.Typer(
    name="endpoints",
    help="Named serving targets: traffic split, shadow, fallback, contract mode.",
    no_args_is_help=True,
)

ShadowOption = Annotated[
    list[str] | None,
    typer.Option("--shadow", help="Target mirrored off the response path (repeatable)."),
]
FallbackOption = Annotated[
    list[str] | None,
    typer.Option("--fallback", help="Target tried when the primary fails, in order (repeatable)."),
]
StickyOption = Annotated[
    str | None, typer.Option(help="Request field whose value always reaches the same target.")
]
DefaultOption = Annotated[
    str | None, typer.Option(help="Constant JSON answer once the fallback chain failed.")
]
TimeoutOption = Annotated[
    int | None, typer.Option(help="Milliseconds before the fallback chain takes over.")
]


@endpoints_app.command("create")
def create(
    name: str,
    env: Annotated[str, typer.Option("--env", help="Environment, e.g. production.")],
    model: Annotated[str, typer.Option("--model", help="Registered model name.")],
    alias: Annotated[str | None, typer.Option(help="Send 100% to this alias.")] = None,
    version: Annotated[int | None, typer.Option(help="Send 100% to this version.")] = None,
    shadow: ShadowOption = None,
    fallback: FallbackOption = None,
    sticky_key: StickyOption = None,
    default_response: DefaultOption = None,
    contract_mode: Annotated[str, typer.Option(help="reject, warn or off.")] = "reject",
    timeout_ms: Annotated[int, typer.Option(help="Milliseconds before falling back.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Create endpoint NAME serving MODEL in ENV, all traffic to --alias or --version."""
    settings = Settings()
    with open_cli_store() as store:
        created = registry.create_endpoint(
            store,
            name,
            environment=env,
            model_name=model,
            alias=alias,
            version=version,
            shadow=shadow or [],
            fallback=fallback or [],
            sticky_key=sticky_key,
            default_response=_json_option(default_response),
            contract_mode=contract_mode,  # type: ignore[arg-type]  # the registry checks it
            timeout_ms=timeout_ms,
            actor=settings.actor,
            environments=settings.environments,
        )
    _print_change(created, as_json)


@endpoints_app.command("set-traffic")
def set_traffic(
    name: str,
    splits: Annotated[
        list[str], typer.Argument(help="TARGET=PERCENT, e.g. @champion=90 @challenger=10 or 3=50.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Replace the traffic split of NAME; percentages must sum to 100."""
    with open_cli_store() as store:
        moved = registry.set_traffic(store, name, _traffic(splits), actor=Settings().actor)
    _print_change(moved, as_json)


@endpoints_app.command("update")
def update(
    name: str,
    shadow: ShadowOption = None,
    no_shadow: Annotated[bool, typer.Option("--no-shadow", help="Mirror to nothing.")] = False,
    fallback: FallbackOption = None,
    no_fallback: Annotated[bool, typer.Option("--no-fallback", help="No fallback.")] = False,
    sticky_key: StickyOption = None,
    no_sticky_key: Annotated[
        bool, typer.Option("--no-sticky-key", help="Route by weight alone.")
    ] = False,
    default_response: DefaultOption = None,
    no_default_response: Annotated[
        bool, typer.Option("--no-default-response", help="Answer with the error instead.")
    ] = False,
    contract_mode: Annotated[str | None, typer.Option(help="reject, warn or off.")] = None,
    timeout_ms: TimeoutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change shadow, fallback, sticky key, default response, contract mode or timeout."""
    changes: dict[str, Any] = {}  # Any: each field's own type
    for key, value, clear, empty in (
        ("shadow", shadow, no_shadow, []),
        ("fallback", fallback, no_fallback, []),
        ("sticky_key", sticky_key, no_sticky_key, None),
        ("default_response", _json_option(default_response), no_default_response, None),
        ("contract_mode", contract_mode, False, None),
        ("timeout_ms", timeout_ms, False, None),
    ):
        if clear:
            changes[key] = empty
        elif value is not None:
            changes[key] = value
    with open_cli_store() as store:
        changed = update_endpoint(store, name, actor=Settings().actor, **changes)
    _print_change(changed, as_json)


@endpoints_app.command("show")
def show(name: str, as_json: JsonOption = False) -> None:
    """Show an endpoint and the version each of its targets means now."""
    with open_cli_store() as store:
        endpoint = registry.get_endpoint(store, name)
        try:
            resolved: ResolvedEndpoint | None = registry.resolve_endpoint(store, name)
            problem = None
        except NotFound as error:  # an alias deleted since: show the endpoint anyway
            resolved, problem = None, error.message
    if as_json:
        print_json({"endpoint": endpoint, "resolved": _resolved_json(resolved), "problem": problem})
        return
    _print_settings(endpoint, resolved)
    _print_routes(endpoint, resolved)
    if problem is not None:
        console.print(f"[red]unresolved:[/red] {problem}")


@endpoints_app.command("list")
def list_endpoints(
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List endpoints, optionally of one environment."""
    with open_cli_store() as store:
        found = registry.list_endpoints(store, env)
    emit(
        found,
        {
            "name": lambda e: e.name,
            "environment": lambda e: e.environment,
            "model": lambda e: e.model_name,
            "traffic": lambda e: _split(e.traffic),
            "revision": lambda e: e.revision,
            "updated": lambda e: e.updated_at,
        },
        as_json=as_json,
        title="Endpoints",
    )


@endpoints_app.command("delete")
def delete(name: str) -> None:
    """Delete endpoint NAME (audited; servers of it keep what they have loaded)."""
    with open_cli_store() as store:
        registry.delete_endpoint(store, name, actor=Settings().actor)
    typer.echo(f"endpoint {name} deleted")


def _traffic(splits: list[str]) -> list[TrafficTarget]:
    """`@champion=90` -> TrafficTarget("@champion", 90.0); the registry checks the rest."""
    traffic = []
    for split in splits:
        target, _, weight = split.rpartition("=")
        try:
            percent: float | None = float(weight.removesuffix("%"))
        except ValueError:
            percent = None
        if not target or percent is None:
            raise InvalidInput(
                f"traffic split {split!r} is not TARGET=PERCENT; e.g. @champion=90 or 3=50",
                field="traffic",
            )
        traffic.append(TrafficTarget(target, percent))
    return traffic


def _json_option(text: str | None) -> Any:  # Any: a JSON document
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"default response {text!r} is not JSON ({error}); e.g. '{{\"prediction\": 0}}'",
            field="default_response",
        ) from None


def _split(traffic: tuple[TrafficTarget, ...]) -> str:
    return ", ".join(f"{t.target}={t.weight:g}%" for t in traffic)


def _print_change(endpoint: Endpoint, as_json: bool) -> None:
    if as_json:
        print_json(endpoint)
        return
    typer.echo(
        f"endpoint {endpoint.name} (revision {endpoint.revision}): {_split(endpoint.traffic)}"
    )


def _print_settings(endpoint: Endpoint, resolved: ResolvedEndpoint | None) -> None:
    table = Table(title=f"Endpoint {endpoint.name}", show_header=False)
    rows = {
        "environment": endpoint.environment,
        "model": endpoint.model_name,
        "revision": str(endpoint.revision),
        "fingerprint": resolved.fingerprint[:16] if resolved else "-",
        "contract mode": endpoint.contract_mode,
        "timeout": f"{endpoint.timeout_ms} ms",
        "sticky key": endpoint.sticky_key or "-",
        "default response": "-"
        if endpoint.default_response is None
        else json.dumps(endpoint.default_response),
        "updated": endpoint.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        "created by": endpoint.created_by,
    }
    for key, value in rows.items():
        table.add_row(key, value)
    console.print(table)


def _print_routes(endpoint: Endpoint, resolved: ResolvedEndpoint | None) -> None:
    table = Table(title="Routes")
    for heading in ("role", "target", "weight", "version"):
        table.add_column(heading)
    versions = {} if resolved is None else _versions(resolved)
    roles = [("traffic", t.target, f"{t.weight:g}%") for t in endpoint.traffic]
    roles += [("shadow", target, "-") for target in endpoint.shadow]
    roles += [(f"fallback {i + 1}", t, "-") for i, t in enumerate(endpoint.fallback)]
    for role, target, weight in roles:
        table.add_row(role, target, weight, versions.get(target, "?"))
    console.print(table)


def _versions(resolved: ResolvedEndpoint) -> dict[str, str]:
    found = (*resolved.traffic, *resolved.shadow, *resolved.fallback)
    return {t.target: f"{t.version.version}" for t in found}


def _resolved_json(resolved: ResolvedEndpoint | None) -> Any:  # Any: JSON
    if resolved is None:
        return None

    def targets(found: tuple[ResolvedTarget, ...]) -> list[dict[str, Any]]:
        return [
            {"target": t.target, "weight": t.weight, "version": t.version.version} for t in found
        ]

    return plain(
        {
            "revision": resolved.revision,
            "fingerprint": resolved.fingerprint,
            "traffic": targets(resolved.traffic),
            "shadow": targets(resolved.shadow),
            "fallback": targets(resolved.fallback),
        }
    )
