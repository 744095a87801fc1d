"""`models:/` URIs: the one way to name a model version by number, alias or `latest`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from steward.errors import InvalidInput

__all__ = ["ACCEPTED_FORMS", "LATEST", "ModelRef", "parse_model_uri", "parse_selector"]

LATEST = "latest"
SCHEME = "models:/"
ACCEPTED_FORMS = "models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/latest"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<selector>[^/@]+)|@(?P<alias>[^/@]+))$")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model plus one of: a version number, an alias, or neither (the latest version)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{SCHEME}{self.name}/{self.version}"
        if self.alias is not None:
            return f"{SCHEME}{self.name}@{self.alias}"
        return f"{SCHEME}{self.name}/{LATEST}"


def parse_model_uri(uri: str) -> ModelRef:
    """Split a `models:/` URI. Names and aliases are checked later, by the registry.

    Raises:
        InvalidInput: the text is not one of the accepted forms.
    """
    match = _URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        raise InvalidInput(f"model URI {uri!r} is malformed; use {ACCEPTED_FORMS}", field="uri")
    if match["alias"] is not None:
        return ModelRef(match["name"], alias=match["alias"])
    return parse_selector(match["name"], match["selector"])


def parse_selector(name: str, selector: str | int) -> ModelRef:
    """A reference from a name and a version number, `latest` or an alias.

    Raises:
        InvalidInput: a version number below 1.
    """
    if selector == LATEST:
        return ModelRef(name)
    if isinstance(selector, int) or (selector.isascii() and selector.isdigit()):
        version = int(selector)
        if version < 1:
            raise InvalidInput(
                f"version {version} of model {name!r} is invalid; versions start at 1",
                field="version",
            )
        return ModelRef(name, version=version)
    return ModelRef(name, alias=selector)
