"""`steward alerts ...`: alerts, their history, alert rules and a test notification."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from steward.cli.output import JsonOption, console, emit, open_cli_store, print_json
from steward.config import Settings
from steward.errors import InvalidInput
from steward.monitoring import alerts
from steward.monitoring.alert_entities import AlertRule
from steward.monitoring.notifiers import notifiers_from_settings, send_test_notification

__all__ = ["alerts_app"]

alerts_app = typer.Typer(
    name="alerts",
    help="Alerts from monitor results, the rules that raise them, and notifiers.",
    no_args_is_help=True,
)

FileOption = Annotated[
    Path | None,
    typer.Option(help="YAML or JSON file: one rule, a list of rules, or {rules: [...]}."),
]


@alerts_app.command("list")
def list_alerts(
    state: Annotated[str | None, typer.Option(help="firing or resolved.")] = None,
    monitor: Annotated[str | None, typer.Option(help="Only this monitor's alerts.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List alerts, newest first."""
    with open_cli_store() as store:
        found = alerts.list_alerts(store, state=state, monitor=monitor)
    emit(
        found,
        {
            "id": lambda a: a.id,
            "state": lambda a: a.state,
            "severity": lambda a: a.severity,
            "rule": lambda a: a.rule,
            "key": lambda a: a.key,
            "value": lambda a: a.value,
            "fired": lambda a: a.fired_at,
        },
        as_json=as_json,
        title="Alerts",
    )


@alerts_app.command("show")
def show(alert_id: int, as_json: JsonOption = False) -> None:
    """Show alert ALERT_ID and its history: fired, notified, resolved..."""
    with open_cli_store() as store:
        alert = alerts.get_alert(store, alert_id)
        history = alerts.alert_history(store, alert_id)
    if as_json:
        print_json({"alert": alert, "history": history})
        return
    resolved = "" if alert.resolved_at is None else f", resolved {_when(alert.resolved_at)}"
    typer.echo(
        f"alert {alert.id} {alert.state} [{alert.severity}]: rule {alert.rule} (monitor "
        f"{alert.monitor}) {alert.metric} {alert.key}: value {alert.value}, threshold "
        f"{alert.threshold:g}; fired {_when(alert.fired_at)}{resolved}"
    )
    table = Table(title="History")
    for heading in ("at", "kind", "message"):
        table.add_column(heading)
    for event in history:
        table.add_row(_when(event.at), event.kind, event.message)
    console.print(table)


@alerts_app.command("rules")
def rules(
    monitor: Annotated[str | None, typer.Option(help="Only this monitor's rules.")] = None,
    create: FileOption = None,
    update: FileOption = None,
    delete: Annotated[str | None, typer.Option(help="Delete the rule of this name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List alert rules; or --create / --update them from a file, or --delete one."""
    actor = Settings().actor
    with open_cli_store() as store:
        if create is not None:
            for document in _rule_documents(create):
                created = alerts.create_rule(store, document, actor=actor)
                typer.echo(f"alert rule {created.name} created")
            return
        if update is not None:
            for document in _rule_documents(update):
                name = str(document.get("name", ""))
                updated = alerts.update_rule(store, name, document, actor=actor)
                typer.echo(f"alert rule {updated.name} updated")
            return
        if delete is not None:
            alerts.delete_rule(store, delete, actor=actor)
            typer.echo(f"alert rule {delete} deleted")
            return
        found = alerts.list_rules(store, monitor=monitor)
    if as_json:
        print_json([rule.model_dump(mode="json") for rule in found])
        return
    emit(found, _RULE_COLUMNS, as_json=False, title="Alert rules")


@alerts_app.command("test")
def send_test(
    webhook: Annotated[
        str | None, typer.Option(help="Send to this webhook instead of the configured one.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send a test notification through every configured channel and say which took it."""
    settings = Settings()
    notifiers = notifiers_from_settings(settings, webhook_url=webhook)
    with open_cli_store() as store:
        deliveries = send_test_notification(store, notifiers)
    if as_json:
        print_json(deliveries)
    else:
        for delivery in deliveries:
            outcome = "ok" if delivery.ok else f"FAILED: {delivery.error}"
            typer.echo(f"{delivery.notifier}: {outcome}")
    if not all(delivery.ok for delivery in deliveries):
        raise typer.Exit(code=1)


_RULE_COLUMNS: dict[str, Any] = {  # Any: column getters
    "name": lambda r: r.name,
    "monitor": lambda r: r.monitor,
    "condition": lambda r: _condition(r),
    "keys": lambda r: _keys(r),
    "when": lambda r: f"{r.consecutive}x, n>={r.min_samples}, cooldown {r.cooldown_s:g}s",
    "severity": lambda r: r.severity if r.enabled else f"{r.severity} (disabled)",
}
_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _condition(rule: AlertRule) -> str:
    return f"{rule.metric} {_SYMBOLS[rule.comparator]} {rule.threshold:g}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _keys(rule: AlertRule) -> str:
    feature = "every feature" if rule.feature is None else rule.feature
    segment = {None: "overall", "*": "every segment"}.get(rule.segment, rule.segment)
    return f"{feature}, {segment}"


def _rule_documents(path: Path) -> list[dict[str, Any]]:  # Any: YAML values
    """Raises: InvalidInput for a missing or unreadable file, or one that holds no rules."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise InvalidInput(f"cannot read rule file {str(path)!r}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise InvalidInput(f"rule file {str(path)!r} is not YAML or JSON: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("rules"), list):
        document = document["rules"]
    documents = document if isinstance(document, list) else [document]
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise InvalidInput(
            f"rule file {str(path)!r} holds no rules; write one rule (a mapping of fields), "
            "a list of rules, or {rules: [...]}",
            field="rules",
        )
    return documents
