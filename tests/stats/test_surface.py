"""The public surface is pinned, and docs/statistics.md keeps up with it."""

from __future__ import annotations

from pathlib import Path

import steward.stats
from steward.stats import DRIFT_TESTS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "statistics.md").read_text()


def test_every_public_name_is_exported_and_documented() -> None:
    exported = sorted(steward.stats.__all__)
    assert all(hasattr(steward.stats, name) for name in exported)
    assert [name for name in exported if f"`{name}" not in DOC] == []


def test_every_built_in_test_is_documented() -> None:
    assert set(DRIFT_TESTS) == {
        "psi",
        "ks",
        "chi2",
        "jensen_shannon",
        "wasserstein",
        "hellinger",
        "l_infinity",
    }
    assert [name for name in DRIFT_TESTS if f"| `{name}` |" not in DOC] == []
