"""The run lifecycle rule every use case shares: a run exists, and only a RUNNING run takes logs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from steward.errors import Conflict, NotFound
from steward.store import Store
from steward.tracking import db
from steward.tracking.entities import RUNNING

__all__ = ["logging_to", "require_run", "require_running", "run_not_found"]


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"no run {run_id!r} (list them: steward runs list)", field="run_id")


def require_run(conn: Connection, run_id: str, *, lock: str | None = None) -> str:
    """The run's status.

    Raises:
        NotFound: no such run.
    """
    status = db.select_run_status(conn, run_id, lock=lock)
    if status is None:
        raise run_not_found(run_id)
    return status


def require_running(conn: Connection, run_id: str, *, lock: str | None = None) -> None:
    """Check that the run can take logs.

    Raises:
        NotFound: no such run.
        Conflict: the run has ended.
    """
    status = require_run(conn, run_id, lock=lock)
    if status != RUNNING:
        raise Conflict(f"run {run_id} is {status}; start a new run to log more", field="run_id")


@contextmanager
def logging_to(store: Store, run_id: str) -> Iterator[Connection]:
    """A write transaction on a run that is RUNNING, held so it cannot end meanwhile.

    Raises:
        NotFound: no such run.
        Conflict: the run has ended.
    """
    with store.db.write() as conn:
        require_running(conn, run_id, lock="share")
        yield conn
