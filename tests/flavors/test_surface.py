"""The public surface of steward.flavors, pinned, and kept in step with docs/flavors.md."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import steward.flavors as flavors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "flavors.md"


def test_exported_members_are_exactly_the_public_names() -> None:
    public = {
        name
        for name, member in vars(flavors).items()
        if not name.startswith("_") and not isinstance(member, ModuleType)
    }

    assert set(flavors.__all__) == public


def test_every_built_in_flavor_is_documented() -> None:
    text = DOCS.read_text()

    for name in flavors.FLAVORS:
        assert f"| `{name}` |" in text, f"docs/flavors.md has no table row for flavor {name!r}"
    assert "why only registered, hash-verified artifacts are ever unpickled" in text
