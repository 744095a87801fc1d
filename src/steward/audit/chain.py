"""The hash chain: how an event's hash is computed from its content and its predecessor."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "event_hash", "normalize"]


def canonical_json(value: Any) -> str:  # Any: any JSON document
    """Sorted keys, no whitespace, ASCII only, no NaN: the same bytes on every machine.

    Raises:
        ValueError: the value holds a float NaN or infinity (not JSON).
        TypeError: the value holds something JSON cannot represent.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def normalize(value: Any) -> Any:  # Any: any JSON document
    """The value as it reads back from a JSON column (tuples become lists, keys strings)."""
    return None if value is None else json.loads(canonical_json(value))


def event_hash(
    prev_hash: str,
    *,
    seq: int,
    at_ms: int,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    before: Any,  # a JSON document
    after: Any,  # a JSON document
) -> str:
    """sha256 hex of `prev_hash` followed by the canonical JSON of the event's content."""
    content = canonical_json(
        {
            "seq": seq,
            "at_ms": at_ms,
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "before": before,
            "after": after,
        }
    )
    return hashlib.sha256((prev_hash + content).encode("ascii")).hexdigest()
