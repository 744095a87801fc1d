"""The run search language: filter clauses, order keys and page tokens, parsed into plain data.

`db.py` turns the parsed form into SQL; this module knows nothing of tables.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from steward.errors import InvalidInput

__all__ = [
    "GRAMMAR",
    "Clause",
    "OrderKey",
    "decode_page_token",
    "encode_page_token",
    "parse_filter",
    "parse_order_by",
]

GRAMMAR: Final = (
    "a filter is one or more clauses joined by AND, each `<entity>.<key> <op> <value>`: "
    "metrics.<key> with = != < <= > >= and a number (the latest value); "
    "params.<key> and tags.<key> with = != LIKE ILIKE IN and a quoted string; "
    "attributes.<name> (or just <name>) for status, name, user, run_id, experiment_id "
    "(string ops) and start_time, end_time (numeric ops, epoch ms or an ISO date in quotes); "
    "keys with other characters go in backticks, e.g. "
    "metrics.auc > 0.9 and params.C = '1.0' and status = 'FINISHED'"
)

NUMERIC_OPS: Final = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_OPS: Final = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
STRING_ATTRIBUTES: Final = frozenset({"status", "name", "user", "run_id", "experiment_id"})
TIME_ATTRIBUTES: Final = frozenset({"start_time", "end_time"})

_ENTITIES = {
    "params": "params",
    "param": "params",
    "metrics": "metrics",
    "metric": "metrics",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
_ATTRIBUTE_ALIASES = {"run_name": "name", "id": "run_id", "user_id": "user"}

_LHS = re.compile(
    r"\s*(?:(?P<entity>[A-Za-z]+)\.)?(?P<key>`[^`]+`|\"[^\"]+\"|[\w./:-]+)\s*",
)
_OP = re.compile(r"(<=|>=|!=|<>|==|=|<|>|(?:not\s+)?in\b|i?like\b)\s*", re.IGNORECASE)
_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_VALUE = re.compile(
    rf"(?P<str>{_STRING})|(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|\((?P<list>[^()]*)\)"
)
_LIST_ITEM = re.compile(rf"\s*({_STRING})\s*(,|$)")
_AND = re.compile(r"\s*(?:and\b\s*|$)", re.IGNORECASE)
_ORDER = re.compile(r"\s*(?P<dir>asc|desc)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Clause:
    """One filter condition: `entity` is params, metrics, tags or attributes."""

    entity: str
    key: str
    op: str
    value: str | float | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderKey:
    entity: str
    key: str
    descending: bool


def parse_filter(text: str | None) -> list[Clause]:
    """Parse a filter such as `metrics.auc > 0.9 and params.C = '1.0'`; None or blank: none.

    Raises:
        InvalidInput: a clause does not follow `GRAMMAR`; the message quotes it.
    """
    if text is None or not text.strip():
        return []
    clauses: list[Clause] = []
    pos = 0
    while pos < len(text):
        clause, pos = _parse_clause(text, pos)
        clauses.append(clause)
    return clauses


def parse_order_by(items: tuple[str, ...] | list[str]) -> list[OrderKey]:
    """Parse order keys such as `metrics.auc DESC` or `start_time` (ascending by default).

    Raises:
        InvalidInput: an item is not `<entity>.<key> [ASC|DESC]`.
    """
    keys = []
    for index, item in enumerate(items):
        lhs = _LHS.match(item)
        tail = _ORDER.fullmatch(item, lhs.end()) if lhs else None
        if lhs is None or tail is None:
            raise InvalidInput(
                f"order_by item {item!r} is not valid: write `<entity>.<key> [ASC|DESC]`, "
                "e.g. 'metrics.auc DESC' or 'start_time ASC'",
                field=f"order_by[{index}]",
            )
        try:
            entity, key = _entity_and_key(lhs)
        except ValueError as exc:
            raise InvalidInput(
                f"order_by item {item!r} is not valid: {exc}", field=f"order_by[{index}]"
            ) from None
        descending = (tail["dir"] or "asc").lower() == "desc"
        keys.append(OrderKey(entity, key, descending))
    return keys


def encode_page_token(offset: int) -> str:
    raw = json.dumps({"offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str | None) -> int:
    """The offset inside a page token (None: the first page).

    Raises:
        InvalidInput: the token was not made by `search_runs`.
    """
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        offset = json.loads(raw)["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidInput(
            f"page token {token!r} is not valid; pass the next_page_token of a previous "
            "search with the same filter, or none for the first page",
            field="page_token",
        )
    return offset


def _parse_clause(text: str, pos: int) -> tuple[Clause, int]:
    lhs = _LHS.match(text, pos)
    op = _OP.match(text, lhs.end()) if lhs else None
    value = _VALUE.match(text, op.end()) if op else None
    if lhs is None or op is None or value is None:
        raise _malformed(text, pos, "expected `<entity>.<key> <op> <value>`")
    try:
        entity, key = _entity_and_key(lhs)
    except ValueError as exc:
        raise _malformed(text, pos, str(exc)) from None
    clause = _typed_clause(entity, key, _normal_op(op.group(1)), value, text, pos)
    end = _AND.match(text, value.end())
    if end is None:
        raise _malformed(text, pos, "expected AND between clauses")
    if end.end() == len(text) and end.group().strip():
        raise _malformed(text, pos, "the filter ends with AND")
    return clause, end.end()


def _entity_and_key(lhs: re.Match[str]) -> tuple[str, str]:
    """The normalised entity and key; ValueError says what is wrong with them."""
    raw_entity, key = lhs["entity"], _unquote(lhs["key"])
    if raw_entity is None:
        # A bare name is an attribute, as in `status = 'FINISHED'`.
        raw_entity = "attributes"
    entity = _ENTITIES.get(raw_entity.lower())
    if entity is None:
        raise ValueError(f"unknown entity {raw_entity!r}; use params, metrics, tags or attributes")
    if entity == "attributes":
        key = _ATTRIBUTE_ALIASES.get(key.lower(), key.lower())
        if key not in STRING_ATTRIBUTES | TIME_ATTRIBUTES:
            known = ", ".join(sorted(STRING_ATTRIBUTES | TIME_ATTRIBUTES))
            raise ValueError(f"unknown run attribute {key!r}; known: {known}")
    return entity, key


def _typed_clause(
    entity: str, key: str, op: str, value: re.Match[str], text: str, pos: int
) -> Clause:
    is_numeric = entity == "metrics" or (entity == "attributes" and key in TIME_ATTRIBUTES)
    allowed = NUMERIC_OPS if is_numeric else STRING_OPS
    if op not in allowed:
        raise _malformed(
            text, pos, f"{entity}.{key} accepts the operators {' '.join(sorted(allowed))}"
        )
    if op in ("IN", "NOT IN"):
        if value["list"] is None:
            raise _malformed(text, pos, f"{op} takes a list such as ('a', 'b')")
        return Clause(entity, key, op, _parse_list(value["list"], text, pos))
    if value["list"] is not None:
        raise _malformed(text, pos, "a list of values needs IN or NOT IN")
    if is_numeric:
        return Clause(entity, key, op, _number(entity, key, value, text, pos))
    if value["str"] is None:
        raise _malformed(
            text, pos, f"{entity}.{key} holds strings: quote the value, e.g. {entity}.{key} = 'x'"
        )
    return Clause(entity, key, op, _unquote(value["str"]))


def _number(entity: str, key: str, value: re.Match[str], text: str, pos: int) -> float:
    if value["num"] is not None:
        return float(value["num"])
    if entity == "attributes":
        # Times may be written as ISO dates: start_time > '2024-05-01T00:00:00'.
        try:
            moment = datetime.fromisoformat(_unquote(value["str"]))
        except ValueError:
            pass
        else:
            aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return aware.timestamp() * 1000
    raise _malformed(text, pos, f"{entity}.{key} compares numbers: write the value unquoted")


def _parse_list(body: str, text: str, pos: int) -> tuple[str, ...]:
    items: list[str] = []
    at = 0
    while at < len(body) or not items:
        match = _LIST_ITEM.match(body, at)
        if match is None or match.end() == at:
            raise _malformed(text, pos, "a list holds quoted strings separated by commas")
        items.append(_unquote(match.group(1)))
        at = match.end()
    return tuple(items)


def _normal_op(op: str) -> str:
    op = " ".join(op.upper().split())
    return {"==": "=", "<>": "!="}.get(op, op)


def _unquote(token: str) -> str:
    if token[:1] in ("'", '"', "`") and token[-1:] == token[:1] and len(token) >= 2:
        return re.sub(r"\\(.)", r"\1", token[1:-1]) if token[0] != "`" else token[1:-1]
    return token


def _malformed(text: str, pos: int, problem: str) -> InvalidInput:
    clause = re.split(r"\s+and\s+", text[pos:].strip(), maxsplit=1, flags=re.IGNORECASE)[0]
    return InvalidInput(
        f"filter clause {clause!r} is not valid: {problem}. Accepted: {GRAMMAR}",
        field="filter",
    )
