"""The registry's NotFound errors: what was asked for, what exists, and what to run next."""

from __future__ import annotations

import difflib

from sqlalchemy.engine import Connection

from steward.errors import NotFound
from steward.registry import db

__all__ = ["alias_not_found", "model_not_found", "no_versions", "version_not_found"]


def model_not_found(conn: Connection, name: str) -> NotFound:
    hint = _did_you_mean(name, db.select_model_names(conn))
    return NotFound(
        f"no registered model {name!r}{hint} (list them: steward models list)", field="name"
    )


def version_not_found(conn: Connection, name: str, version: int) -> NotFound:
    """Names the versions that do exist; a missing model gets `model_not_found`'s message."""
    latest = db.max_version(conn, name)
    if latest is None:
        return model_not_found(conn, name) if not db.model_exists(conn, name) else no_versions(name)
    return NotFound(
        f"model {name!r} has no version {version}; its versions are 1 to {latest} "
        f"(list them: steward models versions {name})",
        field="version",
    )


def no_versions(name: str) -> NotFound:
    return NotFound(
        f"model {name!r} has no versions yet; register one with steward.log_model or "
        f"POST /api/v1/models/{name}/versions",
        field="version",
    )


def alias_not_found(conn: Connection, name: str, alias: str) -> NotFound:
    aliases = sorted(db.select_aliases(conn, name))
    hint = _did_you_mean(alias, aliases)
    existing = f"its aliases: {', '.join(aliases)}" if aliases else "it has no aliases"
    return NotFound(
        f"model {name!r} has no alias {alias!r}{hint}; {existing} "
        f"(set one: steward models alias set {name} {alias} VERSION)",
        field="alias",
    )


def _did_you_mean(wanted: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(wanted, candidates, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
