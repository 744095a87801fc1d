"""Fixtures for the contract tests: a training frame and the contract inferred from it."""

from __future__ import annotations

import pandas as pd
import pytest

from steward.contracts import Contract, infer_contract

from .samples import LIBRARIES, churn_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return churn_frame()


@pytest.fixture
def contract(frame: pd.DataFrame) -> Contract:
    return infer_contract(frame, name="churn").with_changes(version=3)


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)
