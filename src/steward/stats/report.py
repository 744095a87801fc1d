"""The drift report: a reference profile against a window, every column, one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steward.errors import InvalidInput
from steward.stats.defaults import default_test
from steward.stats.frames import Column, Frame
from steward.stats.merge import check_counted_against
from steward.stats.multivariate import PcaReconstruction, multivariate_drift, window_error
from steward.stats.profile import Profile, profile_window
from steward.stats.registry import TestSpec, applies_to, evaluate, resolve_test
from steward.stats.results import DriftResult, DriftTestConfig

__all__ = ["DriftReport", "Tests", "drift_report"]

# Tests for every column (applied where they fit its kind), or per column name.
Tests = Sequence[TestSpec] | Mapping[str, TestSpec | Sequence[TestSpec]]


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every column's results plus the multivariate one (None when not computed)."""

    reference_rows: int
    current_rows: int
    results: tuple[DriftResult, ...]
    multivariate: DriftResult | None = None

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Columns with at least one drifted result, in report order."""
        return tuple(dict.fromkeys(r.column for r in self.results if r.is_drifted))

    @property
    def is_drifted(self) -> bool:
        """Whether any column, or the multivariate test, drifted."""
        return bool(self.drifted_columns) or bool(
            self.multivariate and self.multivariate.is_drifted
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "drifted_columns": list(self.drifted_columns),
            "results": [r.to_dict() for r in self.results],
            "multivariate": None if self.multivariate is None else self.multivariate.to_dict(),
        }


def drift_report(
    reference: Profile,
    current: Frame | Profile,
    *,
    tests: Tests | None = None,
    columns: Sequence[str] | None = None,
    multivariate: PcaReconstruction | bool = True,
) -> DriftReport:
    """Compare a window with the reference: one pass over the window's columns.

    Args:
        reference: the baseline, from `profile(training_frame)`.
        current: the window as a frame, or as a profile counted against `reference`
            (e.g. merged hourly profiles); a profile has no rows to score, so it gets no
            multivariate result.
        tests: None for each column's default (see `default_test`); a list of tests for
            every column they apply to; or a mapping from column name to its test(s),
            the other columns keeping their defaults.
        columns: columns to compare (default: all of the reference's).
        multivariate: run PCA reconstruction drift (with this config, or the default)
            when the compared columns include all those the reference's PCA was fitted on.

    Raises:
        InvalidInput: a column or test is unknown, a test does not fit a column it was
            named for, or `current` was not counted against `reference`.
    """
    if isinstance(tests, str | DriftTestConfig):
        tests = [tests]
    _check_test_columns(tests, columns or list(reference.columns))
    read: dict[str, Column] = {}
    if isinstance(current, Profile):
        window = current
        for name in columns or reference.columns:
            check_counted_against(reference.column(name), current.column(name), name)
    else:
        window, read = profile_window(current, reference, columns)
    names = list(columns or reference.columns)
    results = tuple(
        evaluate(config, name, reference.columns[name], window.column(name))
        for name in names
        for config in _tests_for(name, reference, window, tests)
    )
    overall = _multivariate(reference, read, window.rows, multivariate)
    return DriftReport(reference.rows, window.rows, results, overall)


def _tests_for(
    name: str, reference: Profile, window: Profile, tests: Tests | None
) -> list[DriftTestConfig]:
    summary = reference.columns[name]
    if isinstance(tests, Mapping):
        if name not in tests:
            return [default_test(summary.kind, summary.count, window.columns[name].count)]
        return [resolve_test(spec) for spec in _as_list(tests[name])]
    if tests is None:
        return [default_test(summary.kind, summary.count, window.columns[name].count)]
    configs = [resolve_test(spec) for spec in tests]
    return [c for c in configs if applies_to(c, summary.kind)]


def _check_test_columns(tests: Tests | None, compared: Sequence[str]) -> None:
    if not isinstance(tests, Mapping):
        return
    unknown = [name for name in tests if name not in compared]
    if unknown:
        raise InvalidInput(
            f"tests name columns {unknown} that are not compared; compared: {', '.join(compared)}",
            field="tests",
        )


def _as_list(chosen: TestSpec | Sequence[TestSpec]) -> list[TestSpec]:
    if isinstance(chosen, str | Mapping | DriftTestConfig):
        return [chosen]
    return list(chosen)


def _multivariate(
    reference: Profile, read: dict[str, Column], rows: int, config: PcaReconstruction | bool
) -> DriftResult | None:
    fitted = reference.reconstruction
    if config is False or fitted is None or not set(fitted.columns) <= set(read):
        return None
    settings = config if isinstance(config, PcaReconstruction) else PcaReconstruction()
    return multivariate_drift(settings, fitted.reference_error, window_error(fitted, read, rows))
