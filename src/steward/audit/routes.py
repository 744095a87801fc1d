"""HTTP edge of the audit log: list events, verify the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from steward.audit import service
from steward.audit.entities import AuditEvent, ChainHead, VerifyResult
from steward.errors import InvalidInput
from steward.web import StoreDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEventResponse(BaseModel):
    seq: int
    at_ms: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    before: Any  # a JSON document
    after: Any  # a JSON document
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventResponse:
        return cls(
            seq=event.seq,
            at_ms=event.at_ms,
            at=event.at,
            actor=event.actor,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            before=event.before,
            after=event.after,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )


class AuditListResponse(BaseModel):
    events: list[AuditEventResponse]
    next_after_seq: int | None  # pass as after_seq for the next page; None when this one is short


class VerifyResponse(BaseModel):
    is_intact: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    head_seq: int | None
    head_hash: str | None

    @classmethod
    def of(cls, result: VerifyResult) -> VerifyResponse:
        return cls(
            is_intact=result.is_intact,
            checked=result.checked,
            first_broken_seq=result.first_broken_seq,
            reason=result.reason,
            head_seq=None if result.head is None else result.head.seq,
            head_hash=None if result.head is None else result.head.hash,
        )


@router.get("")
def list_audit_events(
    store: StoreDep,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    after_seq: int | None = None,
) -> AuditListResponse:
    """Audit events oldest first; page with `after_seq`."""
    events = service.list_events(
        store,
        target_type=target_type,
        target_id=target_id,
        action=action,
        limit=limit,
        after_seq=after_seq,
    )
    next_after = events[-1].seq if len(events) == limit else None
    return AuditListResponse(
        events=[AuditEventResponse.of(event) for event in events], next_after_seq=next_after
    )


@router.get("/verify")
def verify_audit_chain(
    store: StoreDep, anchor_seq: int | None = None, anchor_hash: str | None = None
) -> VerifyResponse:
    """Recompute the chain; with an anchor kept elsewhere, also detect deleted newest events."""
    if (anchor_seq is None) != (anchor_hash is None):
        raise InvalidInput(
            "give both anchor_seq and anchor_hash (a head kept outside the database), or neither",
            field="anchor_seq" if anchor_seq is None else "anchor_hash",
        )
    anchor = None if anchor_seq is None else ChainHead(anchor_seq, str(anchor_hash))
    return VerifyResponse.of(service.verify(store, anchor=anchor))
