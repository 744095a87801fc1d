"""JSON from the REST API back into registry entities, so both backends return the same types.

(Tracking entities have their own converters in `steward.tracking.wire`, which the routes share.)"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

__all__ = ["decode"]

T = TypeVar("T")


def decode(cls: type[T], data: Any) -> T:
    """Build dataclass `cls` from a JSON object, converting nested fields by their type hints."""
    hints = _hints(cls)  # type: ignore[arg-type]  # classes are hashable
    values = {
        f.name: _convert(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**values)


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return decode(hint, value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if origin is list:
        return [_convert(args[0], v) for v in value]
    if origin is tuple:
        return tuple(_convert(args[0], v) for v in value)
    if origin is dict and args:
        return {k: _convert(args[1], v) for k, v in value.items()}
    return value
