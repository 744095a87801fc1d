"""The audit log's use cases: append an event, list events, verify the chain."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Connection

from steward.audit import db
from steward.audit.chain import event_hash, normalize
from steward.audit.entities import GENESIS_HASH, AuditEvent, ChainHead, VerifyResult
from steward.errors import InvalidInput
from steward.store import Store

__all__ = ["MAX_LIST_LIMIT", "head", "list_events", "record", "verify"]

log = logging.getLogger(__name__)

MAX_LIST_LIMIT = 10_000
_MAX_LENGTHS = {"actor": 256, "action": 128, "target_type": 64, "target_id": 512}


def record(
    conn: Connection,
    *,
    at_ms: int,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    before: Any = None,  # a JSON document
    after: Any = None,  # a JSON document
) -> AuditEvent:
    """Append an event inside the caller's write transaction, so both commit or neither.

    Call it last in the transaction: on PostgreSQL it takes the chain's lock, held until
    commit, and a transaction holding it must not then wait for row locks others hold.

    Raises:
        InvalidInput: an empty or over-long actor, action or target, or before/after
            that is not JSON (NaN, infinities, arbitrary objects).
    """
    _check_text(actor=actor, action=action, target_type=target_type, target_id=target_id)
    before, after = _json_document("before", before), _json_document("after", after)
    db.lock_chain(conn)
    tail = db.select_head(conn)
    seq, prev_hash = (1, GENESIS_HASH) if tail is None else (tail.seq + 1, tail.hash)
    content = {
        "seq": seq,
        "at_ms": at_ms,
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "before": before,
        "after": after,
    }
    event = AuditEvent(**content, prev_hash=prev_hash, hash=event_hash(prev_hash, **content))
    db.insert_event(conn, event)
    log.info("audit event seq=%d action=%s target=%s:%s", seq, action, target_type, target_id)
    return event


def list_events(
    store: Store,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    after_seq: int | None = None,
) -> list[AuditEvent]:
    """Events oldest first, filtered; page on with `after_seq` = the last seq received.

    Raises:
        InvalidInput: `limit` outside 1..10,000 or a negative `after_seq`.
    """
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidInput(
            f"limit {limit} is out of range; use 1 to {MAX_LIST_LIMIT}", field="limit"
        )
    if after_seq is not None and after_seq < 0:
        raise InvalidInput(f"after_seq {after_seq} is negative; use 0 or more", field="after_seq")
    filters = {
        name: value
        for name, value in (
            ("target_type", target_type),
            ("target_id", target_id),
            ("action", action),
        )
        if value is not None
    }
    with store.db.read() as conn:
        return db.select_events(conn, filters=filters, limit=limit, after_seq=after_seq)


def head(store: Store) -> ChainHead | None:
    """The newest event's seq and hash (None while the log is empty): a copy to keep elsewhere."""
    with store.db.read() as conn:
        return db.select_head(conn)


def verify(store: Store, *, anchor: ChainHead | None = None) -> VerifyResult:
    """Recompute every hash in seq order, streaming, and stop at the first broken event.

    The chain alone cannot notice its newest events being deleted. Pass `anchor`, a head
    kept outside the database (see `head`), to also check that event is still there
    with the same hash.
    """
    with store.db.read() as conn:
        return _walk(db.iter_chain(conn), anchor)


def _walk(events: Iterable[AuditEvent], anchor: ChainHead | None) -> VerifyResult:
    checked, last = 0, None
    for event in events:
        problem = _problem(event, last, anchor)
        if problem is not None:
            broken_seq, reason = problem
            return _broken(checked, broken_seq, reason, last)
        checked, last = checked + 1, ChainHead(event.seq, event.hash)
    if anchor is not None and (last is None or last.seq < anchor.seq):
        end = 0 if last is None else last.seq
        reason = (
            f"the log ends at event {end} but the anchor names event {anchor.seq}: "
            f"events {end + 1} to {anchor.seq} were deleted"
        )
        return _broken(checked, end + 1, reason, last)
    return VerifyResult(is_intact=True, checked=checked, head=last)


def _problem(
    event: AuditEvent, last: ChainHead | None, anchor: ChainHead | None
) -> tuple[int, str] | None:
    expected_seq, prev_hash = (1, GENESIS_HASH) if last is None else (last.seq + 1, last.hash)
    if event.seq > expected_seq:
        return expected_seq, (
            f"event {expected_seq} is missing: the next event in the log is {event.seq} "
            "(a row was deleted)"
        )
    if event.seq < expected_seq:
        return event.seq, f"event {event.seq} is out of place: expected event {expected_seq}"
    actual = _recompute(event)
    if actual != event.hash:
        return event.seq, (
            f"event {event.seq} was altered: its content hashes to {actual}, "
            f"its stored hash is {event.hash}"
        )
    if event.prev_hash != prev_hash:
        return event.seq, (
            f"event {event.seq} does not follow event {event.seq - 1}: its prev_hash is "
            f"{event.prev_hash}, expected {prev_hash} (an event was deleted, inserted or moved)"
        )
    if anchor is not None and event.seq == anchor.seq and event.hash != anchor.hash:
        return event.seq, (
            f"event {event.seq} hashes to {event.hash} but the anchor kept outside the "
            f"database says {anchor.hash}: the log was rewritten up to this event"
        )
    return None


def _recompute(event: AuditEvent) -> str:
    return event_hash(
        event.prev_hash,
        seq=event.seq,
        at_ms=event.at_ms,
        actor=event.actor,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        before=event.before,
        after=event.after,
    )


def _broken(checked: int, seq: int, reason: str, last: ChainHead | None) -> VerifyResult:
    log.warning("audit chain broken seq=%d reason=%s", seq, reason)
    return VerifyResult(
        is_intact=False, checked=checked, first_broken_seq=seq, reason=reason, head=last
    )


def _check_text(**values: str) -> None:
    for name, value in values.items():
        limit = _MAX_LENGTHS[name]
        if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
            raise InvalidInput(
                f"audit {name} {value!r} is not accepted; use 1 to {limit} characters",
                field=name,
            )


def _json_document(name: str, value: Any) -> Any:  # Any: any JSON document
    try:
        return normalize(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"audit {name} is not a JSON document: {exc}", field=name) from exc
