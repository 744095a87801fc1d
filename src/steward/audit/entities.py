"""What the audit log stores and what verifying it reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from steward.store.context import from_ms

__all__ = ["GENESIS_HASH", "AuditEvent", "ChainHead", "VerifyResult"]

GENESIS_HASH = "0" * 64
"""The `prev_hash` of event 1: there is nothing before it."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One state change: who did what to which thing, when, and its state before and after.

    `before` and `after` are JSON documents (None when the thing did not exist before, or
    no longer exists after). `hash` chains the event to `prev_hash`, the previous event's.
    """

    seq: int
    at_ms: int
    actor: str
    action: str
    target_type: str
    target_id: str
    before: Any  # a JSON document
    after: Any  # a JSON document
    prev_hash: str
    hash: str

    @property
    def at(self) -> datetime:
        """The event time as an aware UTC datetime."""
        moment = from_ms(self.at_ms)
        if moment is None:  # pragma: no cover - at_ms is never None
            raise ValueError("audit event without a time")
        return moment


@dataclass(frozen=True, slots=True)
class ChainHead:
    """An event's position and hash: keep one outside the database to detect truncation."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of recomputing the chain.

    Attributes:
        is_intact: every event hashes to its stored hash and links to its predecessor.
        checked: how many events were read before stopping (all of them when intact).
        first_broken_seq: the first event found altered, missing or out of place.
        reason: a sentence a person reads, naming what is wrong with that event.
        head: the last event verified intact; compare it with a copy kept elsewhere,
            since deleting the newest events leaves a shorter chain that is still valid.
    """

    is_intact: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head: ChainHead | None = None
