"""Docs that fall behind the code fail here: settings, CLI commands and REST routes."""

from __future__ import annotations

from pathlib import Path

import typer.main

from steward.cli.main import app as cli_app
from steward.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [n for n in Settings.model_fields if f"STEWARD_{n.upper()}" not in text]
    assert missing == []


def _commands(group: object, prefix: str) -> list[str]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        found.append(path)
        found.extend(_commands(command, path))
    return found


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _commands(typer.main.get_command(cli_app), "steward")
    assert len(commands) > 10
    assert [c for c in commands if f"`{c}" not in text] == []


def test_every_rest_route_is_documented(tmp_path: Path) -> None:
    from steward.server.app import create_app

    app = create_app(Settings(home=tmp_path / ".steward"))
    text = (DOCS / "api.md").read_text()
    routes = [
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]
    assert len(routes) > 10
    assert [r for r in routes if f"`{r}`" not in text] == []
