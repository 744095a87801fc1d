"""The public surface of steward.contracts, and docs/contracts.md kept in step with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

import steward.contracts
from steward.contracts import (
    Contract,
    ExtraColumns,
    LogicalType,
    ValidationMode,
    ViolationKind,
)

DOCS = Path(__file__).parents[2] / "docs" / "contracts.md"

PUBLIC = {
    "ColumnContract",
    "Contract",
    "ExtraColumns",
    "LogicalType",
    "RowValidator",
    "ValidationMode",
    "ValidationReport",
    "ValidationResult",
    "Violation",
    "ViolationKind",
    "compile_row_validator",
    "infer_contract",
    "validate",
}


def test_the_public_names_are_pinned() -> None:
    assert set(steward.contracts.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(steward.contracts, name) is not None


@pytest.fixture(scope="module")
def docs() -> str:
    return DOCS.read_text()


def test_the_yaml_example_in_the_docs_is_a_valid_contract(docs: str) -> None:
    example = re.search(r"```yaml\n(.*?)```", docs, re.DOTALL)
    assert example is not None
    contract = Contract.from_yaml(example.group(1))
    assert contract.label == "contract churn v3"
    assert contract.column("age").bounds() == pytest.approx((10.8, 97.2))  # as its comment says


def test_every_public_name_and_literal_is_documented(docs: str) -> None:
    literals = [*get_args(ViolationKind), *get_args(ValidationMode), *get_args(LogicalType)]
    literals += get_args(ExtraColumns)
    missing = [name for name in [*PUBLIC, *literals] if f"`{name}" not in docs]
    assert missing == []
