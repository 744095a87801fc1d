"""Data contracts: infer what valid data looks like, then validate frames and single rows."""

from steward.contracts.entities import ColumnContract, Contract, ExtraColumns, LogicalType
from steward.contracts.infer import infer_contract
from steward.contracts.report import (
    ValidationMode,
    ValidationReport,
    ValidationResult,
    Violation,
    ViolationKind,
)
from steward.contracts.row import RowValidator, compile_row_validator
from steward.contracts.validate import validate

__all__ = [
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
]
