"""Experiments: named groups of runs, created on demand and found by id or name."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from steward.errors import Conflict, NotFound
from steward.store import Store, new_id
from steward.tracking import db
from steward.tracking.entities import ACTIVE, Experiment
from steward.tracking.hydrate import experiment_from_row
from steward.tracking.validation import check_name, checked_tags

__all__ = [
    "create_experiment",
    "experiment_not_found",
    "get_experiment",
    "get_or_create_experiment",
    "list_experiments",
]

log = logging.getLogger(__name__)


def create_experiment(store: Store, name: str, tags: Mapping[str, str] | None = None) -> Experiment:
    """Create an experiment.

    Raises:
        InvalidInput: a bad name or tag.
        Conflict: an experiment of that name exists.
    """
    row = _experiment_row(store, name, tags)
    with store.db.write() as conn:
        if not db.insert_experiment(conn, row):
            raise Conflict(
                f"experiment {name!r} already exists; pick another name or use "
                "get_or_create_experiment",
                field="name",
            )
    log.info("experiment created name=%s id=%s", name, row["id"])
    return experiment_from_row(row)


def get_or_create_experiment(store: Store, name: str) -> Experiment:
    """The experiment of that name, created when missing.

    Safe under concurrency: processes creating the same name at once all get the one row.

    Raises:
        InvalidInput: a bad name.
    """
    row = _experiment_row(store, name, None)
    with store.db.read() as conn:
        existing = db.select_experiment(conn, name=name)
    if existing is not None:
        return experiment_from_row(existing._mapping)
    with store.db.write() as conn:
        # Inserting nothing on a name clash waits for a concurrent creator to commit first.
        if db.insert_experiment(conn, row):
            log.info("experiment created name=%s id=%s", name, row["id"])
        stored = db.select_experiment(conn, name=name)
    if stored is None:  # pragma: no cover - the row was just inserted or found
        raise NotFound(f"experiment {name!r} vanished while being created")
    return experiment_from_row(stored._mapping)


def get_experiment(store: Store, id_or_name: str) -> Experiment:
    """An experiment by id or by name.

    Raises:
        NotFound: neither matches; the message suggests the closest name.
    """
    with store.db.read() as conn:
        row = db.select_experiment(conn, experiment_id=id_or_name) or db.select_experiment(
            conn, name=id_or_name
        )
        if row is None:
            raise experiment_not_found(conn, id_or_name)
    return experiment_from_row(row._mapping)


def list_experiments(store: Store) -> list[Experiment]:
    """Every experiment, oldest first."""
    with store.db.read() as conn:
        return [experiment_from_row(row._mapping) for row in db.select_experiments(conn)]


def _experiment_row(store: Store, name: str, tags: Mapping[str, str] | None) -> dict[str, Any]:
    check_name(name, "name", "experiment name")
    return {
        "id": new_id(),
        "name": name,
        "tags": checked_tags(tags or {}),
        "lifecycle": ACTIVE,
        "created_at_ms": store.clock(),
    }


def experiment_not_found(conn: Connection, ref: str) -> NotFound:
    """The error for an unknown experiment, suggesting the closest name."""
    close = difflib.get_close_matches(str(ref), db.select_experiment_names(conn), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return NotFound(
        f"no experiment {ref!r}{hint} (list them: steward experiments list)",
        field="experiment",
    )
