"""Checks on what callers send to tracking: names, keys, values, steps, paths, JSON documents.

Every check raises `InvalidInput` naming the field, the value received and what is accepted,
and runs before any write, so bad input never leaves partial state behind.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Mapping
from typing import Any

from steward.errors import InvalidInput

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_PARAM_VALUE_CHARS",
    "MAX_TAG_VALUE_CHARS",
    "check_artifact_path",
    "check_integer",
    "check_json",
    "check_name",
    "check_run_id",
    "check_text",
    "checked_params",
    "checked_tags",
    "metric_value",
]

MAX_NAME_CHARS = 250
MAX_PARAM_VALUE_CHARS = 6000
MAX_TAG_VALUE_CHARS = 8000
MAX_ARTIFACT_PATH_CHARS = 1000
_INT64 = (-(2**63), 2**63 - 1)

_NAME = re.compile(r"[\w\-./ :]+")
_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_BAD_PATH_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


def check_name(value: object, field: str, what: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """A name or key: experiment and run names, param, metric, tag and dataset keys.

    Raises:
        InvalidInput: not a string of 1-250 (or `max_chars`) letters, digits, spaces and
            `_ - . / :`, or with leading or trailing spaces.
    """
    if (
        isinstance(value, str)
        and len(value) <= max_chars
        and _NAME.fullmatch(value)
        and value.strip() == value
    ):
        return value
    raise InvalidInput(
        f"{what} {_shown(value)} is not valid: use 1-{max_chars} letters, digits, spaces and "
        "_ - . / : without leading or trailing spaces",
        field=field,
    )


def check_text(value: object, field: str, what: str, max_chars: int) -> str:
    """A free-text value (param or tag value) as a string of at most `max_chars`.

    Raises:
        InvalidInput: longer than `max_chars` once turned into a string.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_chars:
        raise InvalidInput(
            f"{what} has {len(text)} characters; at most {max_chars} are accepted "
            "(log long values as an artifact instead)",
            field=field,
        )
    return text


def checked_params(params: Mapping[str, object]) -> dict[str, str]:
    """Params as strings, every key and value checked.

    Raises:
        InvalidInput: not a mapping, a bad key, or a value over 6000 characters.
    """
    return _checked_mapping(params, "params", "param", MAX_PARAM_VALUE_CHARS)


def checked_tags(tags: Mapping[str, object]) -> dict[str, str]:
    """Tags as strings, every key and value checked.

    Raises:
        InvalidInput: not a mapping, a bad key, or a value over 8000 characters.
    """
    return _checked_mapping(tags, "tags", "tag", MAX_TAG_VALUE_CHARS)


def _checked_mapping(
    values: Mapping[str, object], field: str, what: str, max_chars: int
) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"{field} must be a mapping of key to value, got {type(values).__name__}",
            field=field,
        )
    checked = {}
    for key, value in values.items():
        check_name(key, f"{field}.{key}", f"{what} key")
        checked[key] = check_text(value, f"{field}.{key}", f"{what} {key!r}", max_chars)
    return checked


def check_run_id(value: object) -> str:
    """A caller-chosen run id.

    Raises:
        InvalidInput: not 1-32 letters, digits, `_` or `-`.
    """
    if isinstance(value, str) and _RUN_ID.fullmatch(value):
        return value
    raise InvalidInput(
        f"run id {_shown(value)} is not valid: use 1-32 letters, digits, _ or -",
        field="run_id",
    )


def metric_value(value: object, field: str) -> float:
    """A metric value as a float: numbers, or strings such as "NaN", "Infinity", "0.5".

    Raises:
        InvalidInput: a bool, or anything that is not a number.
    """
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    elif not isinstance(value, bool):
        try:
            return float(value)  # type: ignore[arg-type]  # ints, numpy scalars
        except (TypeError, ValueError, OverflowError):
            pass
    raise InvalidInput(
        f"metric value {_shown(value)} is not a number; send a number or one of "
        '"NaN", "Infinity", "-Infinity"',
        field=field,
    )


def check_integer(value: object, field: str, what: str) -> int:
    """A 64-bit integer (steps, timestamps); numpy integers are accepted.

    Raises:
        InvalidInput: a bool, a float, a string, or outside the 64-bit range.
    """
    if not isinstance(value, bool):
        try:
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
        else:
            if _INT64[0] <= number <= _INT64[1]:
                return number
    raise InvalidInput(
        f"{what} {_shown(value)} is not valid: expected an integer between "
        f"{_INT64[0]} and {_INT64[1]}",
        field=field,
    )


def check_artifact_path(value: object) -> str:
    """A relative POSIX path inside a run's artifacts, such as `plots/roc.png`.

    Raises:
        InvalidInput: empty, absolute, with `.`/`..`/empty segments, backslashes or control
            characters, or longer than 1000 characters.
    """
    if isinstance(value, str) and 0 < len(value) <= MAX_ARTIFACT_PATH_CHARS:
        parts = value.split("/")
        if not _BAD_PATH_CHARS.search(value) and all(p not in ("", ".", "..") for p in parts):
            return value
    raise InvalidInput(
        f"artifact path {_shown(value)} is not valid: use a relative path such as "
        f"'plots/roc.png' (no leading '/', no '.' or '..' parts, at most "
        f"{MAX_ARTIFACT_PATH_CHARS} characters)",
        field="path",
    )


def check_json(value: Any, field: str) -> Any:  # Any: JSON documents are open-ended
    """A document that strict JSON can hold (no NaN or Infinity, string keys).

    Raises:
        InvalidInput: anything `json.dumps(..., allow_nan=False)` refuses.
    """
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{field} cannot be stored as JSON ({exc}); use plain dicts, lists, strings, "
            "finite numbers, booleans and null",
            field=field,
        ) from None
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
