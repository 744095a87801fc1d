"""A process pool shared by the module's tests: starting one per test would dominate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from steward.pipelines import LocalExecutor


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalExecutor]:
    with LocalExecutor(max_workers=2) as executor:
        yield executor
