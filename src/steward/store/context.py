"""`Store`: what every service needs to persist state, built once and passed down."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from steward.config import Settings
from steward.store.artifacts import ArtifactStore, LocalArtifactStore
from steward.store.database import Database

__all__ = ["Clock", "Store", "from_ms", "new_id", "now_ms", "open_store"]

Clock = Callable[[], int]
"""Returns the current time in integer milliseconds since the epoch (UTC)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def from_ms(ms: int | None) -> datetime | None:
    """An aware UTC datetime from epoch milliseconds (None stays None)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def new_id() -> str:
    """A new random 32-character hex identifier."""
    return uuid.uuid4().hex


@dataclass(slots=True)
class Store:
    """The metadata database, the artifact store and the clock, as one handle.

    Services take a `Store` rather than reaching for globals, so tests inject a real
    database in a temporary folder and a clock they control.
    """

    db: Database
    artifacts: ArtifactStore
    clock: Clock = field(default=now_ms)

    def close(self) -> None:
        self.db.dispose()


def open_store(settings: Settings) -> Store:
    """The store the settings describe (SQLite under `.steward/` by default), migrated.

    Raises:
        InvalidInput: the database URL is of an unsupported kind.
        Unavailable: the database cannot be reached.
    """
    database = Database(
        settings.resolved_database_url, busy_timeout_s=settings.sqlite_busy_timeout_s
    )
    return Store(db=database, artifacts=LocalArtifactStore(settings.resolved_artifacts_dir))
