"""The append-only, hash-chained audit log of every state change."""

from __future__ import annotations

from steward.audit.entities import GENESIS_HASH, AuditEvent, ChainHead, VerifyResult
from steward.audit.service import head, list_events, record, verify

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "ChainHead",
    "VerifyResult",
    "head",
    "list_events",
    "record",
    "verify",
]
