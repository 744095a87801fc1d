"""Validate a whole frame against a contract, column by column, and split or reject it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from steward.contracts import messages
from steward.contracts.cells import read_cells
from steward.contracts.checks import Finding, check_column
from steward.contracts.entities import Contract
from steward.contracts.frames import ColumnSource, FrameAdapter, adapter_for
from steward.contracts.report import (
    ROW_KINDS,
    ValidationMode,
    ValidationReport,
    ValidationResult,
    Violation,
    ViolationKind,
)
from steward.errors import InvalidInput

__all__ = ["validate"]

log = logging.getLogger(__name__)

FrameT = TypeVar("FrameT")
MODES: tuple[ValidationMode, ...] = ("reject", "warn", "drop")
_KIND_ORDER = {kind: index for index, kind in enumerate(sorted(ROW_KINDS))}


def validate(
    frame: FrameT,
    contract: Contract,
    *,
    mode: ValidationMode = "reject",
    max_examples: int = 20,
) -> ValidationResult[FrameT]:
    """Check every rule of `contract` over a pandas DataFrame, polars DataFrame or Arrow Table.

    Args:
        frame: the data; `valid` and `quarantined` come back as the same frame type.
        contract: the rules.
        mode: "reject" raises on any violation; "warn" logs a warning and returns every row
            as valid; "drop" returns the valid rows and the invalid ones separately.
        max_examples: how many offending cells the report lists.

    Raises:
        InvalidInput: in "reject" mode when any rule is broken, naming the first offending
            row, column, value, expectation and the contract, with the examples in `details`;
            in every mode for an unknown mode, a negative `max_examples` or a frame type that
            is not supported.
    """
    _check_options(contract, mode, max_examples)
    adapter = adapter_for(frame)
    report, invalid, first = _inspect(adapter, frame, contract, max_examples)
    if first is not None and mode == "reject":
        raise messages.rejection(report, first)
    if first is not None and mode == "warn":
        log.warning(
            "contract violations contract=%r invalid_rows=%d total_rows=%d first=%r",
            report.contract,
            report.invalid_rows,
            report.total_rows,
            messages.describe(first, report.contract),
        )
    output = frame
    if contract.extra_columns == "drop" and report.extra_columns:
        output = cast(FrameT, adapter.drop(frame, report.extra_columns))
    if mode != "drop" or not invalid.any():
        invalid = np.zeros(report.total_rows, dtype=np.bool_)
        return ValidationResult(report, output, cast(FrameT, adapter.take(output, invalid)))
    valid = cast(FrameT, adapter.take(output, ~invalid))
    return ValidationResult(report, valid, cast(FrameT, adapter.take(output, invalid)))


def _check_options(contract: object, mode: str, max_examples: int) -> None:
    if not isinstance(contract, Contract):
        raise InvalidInput(
            f"contract must be a steward Contract, got {type(contract).__name__}; "
            "load one with Contract.from_yaml or infer_contract",
            field="contract",
        )
    if mode not in MODES:
        raise InvalidInput(
            f"validation mode {mode!r} is not known; accepted: {', '.join(MODES)}", field="mode"
        )
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise InvalidInput(
            f"max_examples must be an integer >= 0, got {max_examples!r}", field="max_examples"
        )


def _inspect(
    adapter: FrameAdapter, frame: object, contract: Contract, max_examples: int
) -> tuple[ValidationReport, NDArray[np.bool_], Violation | None]:
    """Run the checks; return the report, the invalid-row mask and the first violation."""
    names = adapter.column_names(frame)
    total = adapter.row_count(frame)
    findings = _findings(adapter, frame, contract, names, total)
    known = set(contract.column_names)
    extras = tuple(name for name in names if name not in known)
    invalid = _invalid_rows(findings, total)
    examples = _examples(findings, max(max_examples, 1), contract.column_names + extras)
    counts: dict[str, dict[ViolationKind, int]] = {}
    for finding in findings:
        counts.setdefault(finding.column, {})[finding.kind] = finding.count
    report = ValidationReport(
        contract=contract.label,
        total_rows=total,
        invalid_rows=int(np.count_nonzero(invalid)),
        counts=counts,
        examples=tuple(examples[:max_examples]),
        extra_columns=extras,
    )
    return report, invalid, examples[0] if examples else None


def _findings(
    adapter: FrameAdapter, frame: object, contract: Contract, names: list[str], total: int
) -> list[Finding]:
    present = set(names)
    required = set(contract.required_columns)
    findings: list[Finding] = []
    for column in contract.columns:
        if column.name in present:
            source = adapter.column(frame, column.name)
            cells = read_cells(source, column.logical_type)
            findings.extend(check_column(column, cells, source))
        elif column.name in required:
            findings.append(Finding(column.name, "missing_column", total, messages.EXPECTS_COLUMN))
    if contract.extra_columns == "reject":
        known = set(contract.column_names)
        extras = [name for name in names if name not in known]
        findings.extend(
            Finding(name, "extra_column", total, messages.EXPECTS_NO_COLUMN) for name in extras
        )
    return findings


def _invalid_rows(findings: list[Finding], total: int) -> NDArray[np.bool_]:
    invalid = np.zeros(total, dtype=np.bool_)
    for finding in findings:
        if finding.kind not in ROW_KINDS:
            continue
        if finding.rows is None:  # a missing or rejected column fails every row
            invalid[:] = True
            return invalid
        invalid |= finding.rows
    return invalid


def _examples(findings: list[Finding], limit: int, column_order: Sequence[str]) -> list[Violation]:
    """Whole-column violations first, then the first offending cells by row position."""
    whole = [
        Violation(None, finding.column, finding.kind, finding.value, finding.expected)
        for finding in findings
        if finding.rows is None
    ]
    position = {name: index for index, name in enumerate(column_order)}
    candidates: list[tuple[int, int, int, Finding]] = []
    for finding in findings:
        if finding.rows is not None:
            for row in np.flatnonzero(finding.rows)[:limit].tolist():
                order = (position[finding.column], _KIND_ORDER[finding.kind])
                candidates.append((row, *order, finding))
    candidates.sort(key=lambda candidate: candidate[:3])
    cells = [
        Violation(
            row, finding.column, finding.kind, _value_at(finding.source, row), finding.expected
        )
        for row, _, _, finding in candidates[: max(limit - len(whole), 0)]
    ]
    return (whole + cells)[:limit]


def _value_at(source: ColumnSource | None, row: int) -> object:
    if source is None:
        return None
    if isinstance(source, np.ndarray):
        return source[row]
    scalar = source[row]
    try:
        return scalar.as_py()
    except (OverflowError, ValueError):  # e.g. a timestamp beyond Python's year 9999
        return str(pc.cast(scalar, pa.string()).as_py())
