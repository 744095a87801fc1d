"""Reading hand-edited contract documents: typed field readers with messages that name the field.

A contract is meant to be edited in YAML or JSON by a person, so every reader says which field
was wrong, what it held and what would be accepted, instead of failing deep inside the code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import yaml

from steward.errors import InvalidInput

__all__ = [
    "check_format",
    "check_keys",
    "dump_bound",
    "load_json_mapping",
    "load_yaml_mapping",
    "parse_datetime",
    "read_bool",
    "read_bound",
    "read_categories",
    "read_fraction",
    "read_mapping",
    "read_names",
    "read_optional_str",
    "read_str",
]

_MISSING = object()


def load_json_mapping(text: str | bytes, what: str) -> dict[str, Any]:
    """Parse JSON text that must hold one object (`Any`: JSON values are untyped here).

    Raises:
        InvalidInput: the text is not JSON or its top level is not an object.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} JSON is not valid: {exc}; fix the text and retry") from exc
    return read_mapping(data, what)


def load_yaml_mapping(text: str | bytes, what: str) -> dict[str, Any]:
    """Parse YAML text (safe loader) that must hold one mapping.

    Raises:
        InvalidInput: the text is not YAML or its top level is not a mapping.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{what} YAML is not valid: {exc}") from exc
    return read_mapping(data, what)


def read_mapping(data: object, what: str) -> dict[str, Any]:
    """Return `data` as a dict with string keys.

    Raises:
        InvalidInput: `data` is not a mapping with string keys.
    """
    if not isinstance(data, Mapping) or not all(isinstance(key, str) for key in data):
        raise InvalidInput(
            f"{what} must be a mapping of field names to values, got {_show(data)}",
            field=what,
        )
    return dict(data)


def check_keys(data: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    """Reject keys a reader does not know, so a typo ('nulable') never passes silently.

    Raises:
        InvalidInput: naming the first unknown key and the accepted ones.
    """
    for key in data:
        if key not in allowed:
            raise InvalidInput(
                f"{path or 'contract'} has an unknown field {key!r}; "
                f"accepted fields: {', '.join(allowed)}",
                field=_join(path, key),
            )


def read_str(data: Mapping[str, Any], key: str, path: str, default: object = _MISSING) -> str:
    """A non-empty string field.

    Raises:
        InvalidInput: the field is missing (with no default), empty or not a string.
    """
    value = _get(data, key, path, default)
    if not isinstance(value, str) or not value:
        raise _wrong(path, key, value, "a non-empty string")
    return value


def read_optional_str(data: Mapping[str, Any], key: str, path: str) -> str | None:
    """A non-empty string field that may be absent or null.

    Raises:
        InvalidInput: the field holds something other than null or a non-empty string.
    """
    if data.get(key) is None:
        return None
    return read_str(data, key, path)


def read_bool(data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    """A true/false field.

    Raises:
        InvalidInput: the field holds anything but a boolean.
    """
    value = _get(data, key, path, default)
    if not isinstance(value, bool):
        raise _wrong(path, key, value, "true or false")
    return value


def read_fraction(
    data: Mapping[str, Any], key: str, path: str, default: float, *, at_most_one: bool
) -> float:
    """A finite number >= 0 (and <= 1 when `at_most_one`).

    Raises:
        InvalidInput: the field is not a number in that interval.
    """
    value = _get(data, key, path, default)
    accepted = "a number between 0 and 1" if at_most_one else "a number >= 0"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(path, key, value, accepted)
    if not math.isfinite(value) or value < 0 or (at_most_one and value > 1):
        raise _wrong(path, key, value, accepted)
    return float(value)


def read_bound(
    data: Mapping[str, Any], key: str, path: str, logical_type: str
) -> int | float | datetime | None:
    """A range bound: a number, or a datetime for a datetime column; null means unbounded.

    Whether the bound suits the column type is the entity's rule, checked when it is built.

    Raises:
        InvalidInput: the value is neither null nor a number (nor a datetime where one fits).
    """
    value = data.get(key)
    field = _join(path, key)
    if value is None:
        return None
    if logical_type == "datetime":
        return parse_datetime(value, field)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise InvalidInput(f"{field} must be a number or null, got {_show(value)}", field=field)


def dump_bound(bound: int | float | datetime | None) -> int | float | str | None:
    """A bound as a file holds it: datetimes as ISO 8601 text."""
    return bound.isoformat() if isinstance(bound, datetime) else bound


def read_categories(data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
    """A list of strings, or null.

    Raises:
        InvalidInput: not a list, or an item is not a string (YAML reads yes/no unquoted as
            booleans, so the message says to quote them).
    """
    value = data.get(key)
    field = _join(path, key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput(
            f"{field} must be a list of strings or null, got {_show(value)}", field=field
        )
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidInput(
                f"{field}[{index}] must be a string, got {_show(item)}; "
                "quote it in YAML, e.g. 'yes' or '1'",
                field=f"{field}[{index}]",
            )
    return tuple(value)


def read_names(data: Mapping[str, Any], key: str, default: list[str]) -> tuple[str, ...]:
    """A list of column names.

    Raises:
        InvalidInput: the value is not a list of strings.
    """
    value = data.get(key, default)
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise InvalidInput(f"{key} must be a list of column names, got {_show(value)}", field=key)
    return tuple(value)


def check_format(data: Mapping[str, Any], accepted: int) -> None:
    """Refuse a document written for another file format version.

    Raises:
        InvalidInput: `format` is present and is not `accepted`.
    """
    value = data.get("format", accepted)
    if value != accepted or isinstance(value, bool):
        raise InvalidInput(
            f"format {_show(value)} is not a contract format this Steward reads; "
            f"accepted: {accepted}",
            field="format",
        )


def parse_datetime(value: object, field: str) -> datetime:
    """An aware UTC datetime from an ISO 8601 string, a datetime or a date (naive means UTC).

    PyYAML turns an unquoted timestamp into a datetime, so those are accepted as well as text.

    Raises:
        InvalidInput: the value is none of those, or the text is not ISO 8601.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(
                f"{field} must be an ISO 8601 datetime such as '2024-05-01T00:00:00+00:00', "
                f"got {value!r}",
                field=field,
            ) from exc
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be an ISO 8601 datetime, got {_show(value)}", field=field)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _get(data: Mapping[str, Any], key: str, path: str, default: object) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        raise InvalidInput(f"{path or 'contract'} needs the field {key!r}", field=_join(path, key))
    return value


def _wrong(path: str, key: str, value: object, accepted: str) -> InvalidInput:
    field = _join(path, key)
    return InvalidInput(f"{field} must be {accepted}, got {_show(value)}", field=field)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A short rendering of a received value, with its type when the repr hides it."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    is_plain = value is None or type(value) in (str, int, float)
    return text if is_plain else f"{text} ({type(value).__name__})"
