"""Checks on what callers send the registry, each failing with the field and what is accepted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from steward.errors import InvalidInput

__all__ = [
    "check_actor",
    "check_alias",
    "check_digest",
    "check_digests",
    "check_environment",
    "check_json",
    "check_model_name",
    "check_tags",
    "check_text",
    "check_version",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$")
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
MAX_TAGS = 100
MAX_TAG_VALUE = 5_000


def check_model_name(name: str) -> str:
    """Raises: InvalidInput unless 1-256 letters, digits, '.', '-', '_', starting alphanumeric."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"model name {name!r} is invalid; use 1 to 256 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit (e.g. 'churn-classifier')",
            field="name",
        )
    return name


def check_alias(alias: str) -> str:
    """Raises: InvalidInput unless 1-64 letters, digits, '-', '_', not all digits, not `latest`."""
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias.isdigit():
        raise InvalidInput(
            f"alias {alias!r} is invalid; use 1 to 64 letters, digits, '-' or '_', not only "
            "digits (that reads as a version number), e.g. 'champion'",
            field="alias",
        )
    if alias.lower() == "latest":
        raise InvalidInput(
            "alias 'latest' is reserved: it always means the newest version; pick another name",
            field="alias",
        )
    return alias


def check_version(version: int, field: str = "version") -> int:
    """Raises: InvalidInput unless a whole number of at least 1."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(
            f"version {version!r} is invalid; versions are whole numbers from 1", field=field
        )
    return version


def check_digest(digest: str, field: str = "artifact_digest") -> str:
    """Raises: InvalidInput unless a lowercase hex sha256 digest."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(
            f"{field} {digest!r} is not a sha256 digest; expected 64 characters 0-9a-f",
            field=field,
        )
    return digest


def check_text(value: str, field: str, *, max_length: int, required: bool = False) -> str:
    """Raises: InvalidInput for a non-string, one too long, or an empty required one."""
    is_bad = not isinstance(value, str) or len(value) > max_length or "\x00" in value
    if is_bad or (required and not value.strip()):
        needed = "1" if required else "0"
        raise InvalidInput(
            f"{field} {_preview(value)} is invalid; use {needed} to {max_length} characters",
            field=field,
        )
    return value


def check_actor(actor: str) -> str:
    return check_text(actor, "actor", max_length=256, required=True)


def check_environment(environment: str, environments: Sequence[str]) -> str:
    """Raises: InvalidInput naming the accepted environments."""
    if environment not in environments:
        raise InvalidInput(
            f"environment {environment!r} is unknown; use one of {', '.join(environments)}",
            field="environment",
        )
    return environment


def check_tags(tags: Mapping[str, str] | None, field: str = "tags") -> dict[str, str]:
    """Raises: InvalidInput unless at most 100 string keys (1-256) to string values (<= 5000)."""
    tags = {} if tags is None else tags
    if not isinstance(tags, Mapping) or len(tags) > MAX_TAGS:
        raise InvalidInput(
            f"{field} must be a mapping of at most {MAX_TAGS} string keys to string values",
            field=field,
        )
    for key, value in tags.items():
        check_text(key, f"{field} key", max_length=256, required=True)
        check_text(value, f"{field}.{key}", max_length=MAX_TAG_VALUE)
    return dict(tags)


def check_json(value: Any, field: str, kind: type) -> Any:  # Any: a JSON document
    """The value as a JSON document of the given kind (dict or list), round-tripped.

    Raises:
        InvalidInput: another kind, or not JSON (NaN and infinities included).
    """
    if not isinstance(value, kind):
        raise InvalidInput(
            f"{field} must be a JSON {'object' if kind is dict else 'array'}, "
            f"got {type(value).__name__}",
            field=field,
        )
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{field} is not a JSON document ({exc}); store NaN and infinities as null",
            field=field,
        ) from exc


def check_digests(digests: Iterable[str], field: str = "dataset_digests") -> tuple[str, ...]:
    """Raises: InvalidInput unless a list of non-empty strings of at most 128 characters."""
    if isinstance(digests, str | bytes):
        raise InvalidInput(f"{field} must be a list of fingerprints, got one string", field=field)
    return tuple(check_text(d, field, max_length=128, required=True) for d in digests)


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}...' ({len(str(value))} characters)"
