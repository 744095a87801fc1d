"""Drift reports: the quality bars at default thresholds, edge cases, the registry, PCA."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from steward.errors import Conflict, InvalidInput
from steward.stats import (
    DRIFT_TESTS,
    DriftStatus,
    DriftTestConfig,
    Measurement,
    NumericSummary,
    Psi,
    drift_report,
    merge,
    profile,
    register_drift_test,
    resolve_test,
)

ROWS = 100_000


def _frame(rows: int, seed: int, *, shift: float = 0.0, points: float = 0.0) -> pd.DataFrame:
    """Numeric columns of several shapes and categorical ones; `shift`/`points` drift two."""
    rng = np.random.default_rng(seed)
    shares = np.array([0.4, 0.3, 0.2, 0.1])
    moved = shares + np.array([-points, points, 0.0, 0.0])
    many = [f"k{i}" for i in range(15)]
    return pd.DataFrame(
        {
            "normal": rng.normal(0.0, 1.0, rows) + shift,
            "lognormal": rng.lognormal(0.0, 1.0, rows),
            "integers": rng.poisson(3.0, rows).astype(float),
            "uniform": rng.uniform(-1, 1, rows),
            "colour": rng.choice(["red", "green", "blue", "grey"], rows, p=moved),
            "plan": rng.choice(["free", "pro"], rows, p=[0.7, 0.3]),
            "city": rng.choice(many, rows),
        }
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _frame(ROWS, seed=1)


def test_unshifted_data_flags_nothing(reference: pd.DataFrame) -> None:
    report = drift_report(profile(reference), _frame(ROWS, seed=2))
    assert report.drifted_columns == ()
    assert {r.status for r in report.results} == {DriftStatus.OK}
    assert report.multivariate is not None
    assert not report.multivariate.is_drifted
    assert not report.is_drifted


def test_a_third_of_a_std_mean_shift_is_flagged(reference: pd.DataFrame) -> None:
    report = drift_report(profile(reference), _frame(ROWS, seed=2, shift=0.3))
    assert report.drifted_columns == ("normal",)
    (result,) = [r for r in report.results if r.column == "normal"]
    assert result.test == "wasserstein"
    assert result.statistic == pytest.approx(0.3, abs=0.02)


def test_a_ten_point_frequency_change_is_flagged(reference: pd.DataFrame) -> None:
    report = drift_report(profile(reference), _frame(ROWS, seed=2, points=0.10))
    assert report.drifted_columns == ("colour",)
    (result,) = [r for r in report.results if r.column == "colour"]
    assert result.test == "l_infinity"
    assert result.statistic == pytest.approx(0.10, abs=0.01)


def test_small_samples_get_significance_tests() -> None:
    base = profile(_frame(500, seed=1))
    report = drift_report(base, _frame(400, seed=2, shift=1.0, points=0.3))
    tests = {r.column: r.test for r in report.results}
    assert tests["normal"] == "ks"
    assert tests["colour"] == "chi2"
    assert {"normal", "colour"} <= set(report.drifted_columns)


def test_tiny_and_empty_windows_are_not_enough_data() -> None:
    base = profile(_frame(2_000, seed=1))
    for rows in (0, 5):
        report = drift_report(base, _frame(rows, seed=2, shift=5.0))
        assert {r.status for r in report.results} == {DriftStatus.NOT_ENOUGH_DATA}
        assert all(r.statistic is None and not r.is_drifted for r in report.results)
        assert report.multivariate is not None
        assert report.multivariate.status is DriftStatus.NOT_ENOUGH_DATA
        assert not report.is_drifted


def test_missing_values_are_counted_and_left_out() -> None:
    frame = _frame(20_000, seed=1)
    window = _frame(20_000, seed=2)
    window.loc[:9_999, "normal"] = np.nan
    window.loc[:99, "colour"] = None
    base = profile(frame)
    report = drift_report(base, window)
    assert report.drifted_columns == ()
    summary = profile(window, reference=base).column("normal")
    assert isinstance(summary, NumericSummary)
    assert summary.missing == 10_000
    all_missing = window.assign(normal=np.nan)
    (result,) = [r for r in drift_report(base, all_missing).results if r.column == "normal"]
    assert result.status is DriftStatus.NOT_ENOUGH_DATA


def test_constant_and_single_category_columns() -> None:
    frame = pd.DataFrame({"flat": np.full(2_000, 7.0), "only": ["x"] * 2_000})
    base = profile(frame)
    same = drift_report(base, frame)
    assert {r.status for r in same.results} == {DriftStatus.OK}
    moved = drift_report(base, pd.DataFrame({"flat": np.full(2_000, 8.0), "only": ["y"] * 2_000}))
    assert moved.drifted_columns == ("flat", "only")


def test_categories_never_seen_in_the_reference() -> None:
    base = profile(pd.DataFrame({"c": ["a", "b"] * 10_000}))
    window = pd.DataFrame({"c": ["a", "b"] * 8_000 + ["new"] * 4_000})
    report = drift_report(base, window, tests=["l_infinity", "psi", "chi2"])
    by_test = {r.test: r for r in report.results}
    assert all(r.is_drifted for r in by_test.values())
    assert by_test["psi"].statistic is not None
    assert np.isfinite(by_test["psi"].statistic)


def test_tests_by_list_by_column_and_stored_form(reference: pd.DataFrame) -> None:
    base = profile(reference.head(5_000))
    window = reference.tail(5_000)
    listed = drift_report(base, window, tests=["ks", "psi"], multivariate=False)
    assert {(r.column, r.test) for r in listed.results if r.column == "plan"} == {("plan", "psi")}
    assert len([r for r in listed.results if r.column == "normal"]) == 2
    chosen = drift_report(
        base,
        window,
        tests={"normal": [{"test": "psi", "threshold": 0.2}]},
        columns=["normal", "plan"],
    )
    assert [(r.column, r.test, r.threshold) for r in chosen.results] == [
        ("normal", "psi", 0.2),
        ("plan", "chi2", 0.05),
    ]
    with pytest.raises(InvalidInput, match=r"drift test 'ks' does not apply to categorical"):
        drift_report(base, window, tests={"plan": "ks"})
    with pytest.raises(InvalidInput, match=r"no drift test named 'pis'; registered: chi2"):
        drift_report(base, window, tests=["pis"])
    with pytest.raises(InvalidInput, match=r"tests name columns \['nromal'\] that are not"):
        drift_report(base, window, tests={"nromal": "psi"})
    single = drift_report(base, window, tests="psi", columns=["plan"])
    assert [r.test for r in single.results] == ["psi"]


def test_a_window_profile_compares_like_its_frame(reference: pd.DataFrame) -> None:
    base = profile(reference.head(20_000))
    first, second = reference.iloc[20_000:30_000], reference.iloc[30_000:40_000]
    merged = merge(profile(first, reference=base), profile(second, reference=base))
    from_profile = drift_report(base, merged)
    from_frame = drift_report(base, pd.concat([first, second]), multivariate=False)
    for merged_result, frame_result in zip(from_profile.results, from_frame.results, strict=True):
        assert merged_result.statistic == pytest.approx(frame_result.statistic, rel=1e-9)
        assert (merged_result.test, merged_result.status) == (
            frame_result.test,
            frame_result.status,
        )
    assert from_profile.multivariate is None
    with pytest.raises(InvalidInput, match=r"was not counted against the reference"):
        drift_report(base, profile(first))


def test_multivariate_sees_a_broken_correlation() -> None:
    rng = np.random.default_rng(4)

    def frame(correlated: bool) -> pd.DataFrame:
        x = rng.normal(size=20_000)
        noise = rng.normal(size=20_000)
        y = 0.95 * x + np.sqrt(1 - 0.95**2) * noise if correlated else noise
        return pd.DataFrame({"x": x, "y": y, "z": rng.normal(size=20_000)})

    base = profile(frame(correlated=True))
    report = drift_report(base, frame(correlated=False))
    assert report.drifted_columns == ()  # every marginal is unchanged...
    assert report.multivariate is not None
    assert report.multivariate.is_drifted  # ...but the columns no longer move together
    assert report.multivariate.statistic is not None
    assert report.multivariate.statistic > 0.3  # mean error up by more than 30%


@dataclass(frozen=True, slots=True, kw_only=True)
class MeanGap(DriftTestConfig):
    """A third party's test: absolute difference of means."""

    name: ClassVar[str] = "mean_gap"
    threshold: float = 1.0


def _mean_gap(config: MeanGap, reference: NumericSummary, current: NumericSummary) -> Measurement:
    return Measurement(abs(reference.moments.mean - current.moments.mean))


@pytest.fixture
def mean_gap() -> Iterator[None]:
    register_drift_test(MeanGap, _mean_gap)
    yield
    DRIFT_TESTS.pop("mean_gap")


@pytest.mark.usefixtures("mean_gap")
def test_third_parties_register_tests_by_name() -> None:
    base = profile(pd.DataFrame({"x": np.arange(100.0)}))
    report = drift_report(base, pd.DataFrame({"x": np.arange(100.0) + 3}), tests=["mean_gap"])
    (result,) = report.results
    assert (result.test, result.statistic, result.is_drifted) == ("mean_gap", 3.0, True)
    with pytest.raises(Conflict, match=r"drift test 'mean_gap' is already registered"):
        register_drift_test(MeanGap, _mean_gap)


def test_configs_are_validated_and_stored() -> None:
    assert resolve_test({"test": "psi", "threshold": 0.25}) == Psi(threshold=0.25)
    assert Psi(threshold=0.25).to_dict() == {
        "test": "psi",
        "threshold": 0.25,
        "min_count": 30,
        "smoothing": 1e-4,
    }
    with pytest.raises(InvalidInput, match=r"drift test 'psi' config: .*unexpected keyword"):
        resolve_test({"test": "psi", "alpha": 0.1})
    with pytest.raises(InvalidInput, match=r"threshold must be finite, got nan"):
        Psi(threshold=float("nan"))
    with pytest.raises(InvalidInput, match=r"min_count must be an integer of at least 1, got 0"):
        Psi(min_count=0)
