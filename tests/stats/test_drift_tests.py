"""Each drift statistic against SciPy or a hand computation, over random inputs too."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from steward.stats import (
    Chi2,
    DriftStatus,
    Hellinger,
    JensenShannon,
    Ks,
    LInfinity,
    NumericSummary,
    Profile,
    Psi,
    Wasserstein,
    evaluate,
    ks_bounds,
    profile,
    wasserstein_bounds,
)

values = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
samples = st.lists(values, min_size=1, max_size=70)
few_values = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=70)
words = st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=80)


def _pair(
    reference: list[float], current: list[float], sketch_size: int = 1000
) -> tuple[Profile, Profile]:
    base = profile(pd.DataFrame({"x": reference}), sketch_size=sketch_size)
    return base, profile(pd.DataFrame({"x": current}), reference=base)


def _numeric_pair(
    reference: list[float], current: list[float], sketch_size: int = 1000
) -> tuple[NumericSummary, NumericSummary]:
    base, window = _pair(reference, current, sketch_size=sketch_size)
    ref, cur = base.column("x"), window.column("x")
    assert isinstance(ref, NumericSummary)
    assert isinstance(cur, NumericSummary)
    return ref, cur


def _statistic(config: object, reference: Profile, current: Profile) -> tuple[float, float | None]:
    result = evaluate(config, "x", reference.column("x"), current.column("x"))  # type: ignore[arg-type]
    assert result.statistic is not None
    return result.statistic, result.p_value


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.sampled_from([4, 16, 1000]))
def test_ks_brackets_scipy(reference: list[float], current: list[float], size: int) -> None:
    assume(len(reference) + len(current) > 2)  # one value a side: scipy divides by zero
    ref, cur = _numeric_pair(reference, current, size)
    low, high = ks_bounds(ref, cur)
    exact = stats.ks_2samp(reference, current, method="asymp").statistic
    assert low - 1e-12 <= exact <= high + 1e-12
    # Documented bound: the gap never exceeds the largest share strictly inside a bin.
    assert high - low <= max(_inner_share(ref), _inner_share(cur)) + 1e-12


def _inner_share(summary: NumericSummary) -> float:
    counts = np.asarray(summary.sketch.counts, dtype=float)
    atoms = np.asarray((*summary.sketch.atoms, 0), dtype=float)
    return float(((counts - atoms) / counts.sum()).max())


@settings(max_examples=60, deadline=None)
@given(few_values, few_values)
def test_ks_is_exact_when_the_sketch_holds_every_value(
    reference: list[float], current: list[float]
) -> None:
    assume(len(reference) + len(current) > 2)  # one value a side: scipy's p-value is NaN
    base, window = _pair(reference, current)
    statistic, p_value = _statistic(Ks(min_count=1), base, window)
    expected = stats.ks_2samp(reference, current, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.sampled_from([4, 16, 1000]))
def test_wasserstein_within_its_bound_of_scipy(
    reference: list[float], current: list[float], size: int
) -> None:
    ref, cur = _numeric_pair(reference, current, size)
    estimate, bound = wasserstein_bounds(ref, cur)
    exact = stats.wasserstein_distance(reference, current)
    scale = 1e-9 * (1.0 + max(abs(v) for v in reference + current))
    assert abs(estimate - exact) <= bound + scale


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 20).map(float), min_size=2, max_size=60),
    st.lists(st.integers(0, 1000), min_size=1, max_size=60),
)
def test_normalised_wasserstein_is_exact_on_the_reference_support(
    reference: list[float], picks: list[int]
) -> None:
    assume(np.std(reference) > 0)
    current = [reference[i % len(reference)] for i in picks]  # no value between edges
    base, window = _pair(reference, current)
    statistic, _ = _statistic(Wasserstein(min_count=1), base, window)
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert statistic == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_wasserstein_of_a_mean_shift_is_the_shift_in_stds() -> None:
    rng = np.random.default_rng(5)
    reference = rng.normal(0, 2, 20_000)
    base, window = _pair(list(reference), list(reference + 1.0))
    statistic, _ = _statistic(Wasserstein(), base, window)
    # F_ref >= F_cur everywhere, so the sketch's area is exact: W1 = 1, over std ~ 2.
    assert statistic == pytest.approx(1.0 / np.std(reference), rel=1e-9)


def _table(reference: list[str], current: list[str]) -> np.ndarray:
    """Reference categories, then one column for every value the reference never had."""
    names = sorted(set(reference))
    table = np.array(
        [
            [side.count(n) for n in names] + [sum(v not in names for v in side)]
            for side in (reference, current)
        ],
        dtype=float,
    )
    return table[:, table.sum(axis=0) > 0]


@settings(max_examples=60, deadline=None)
@given(words, words)
def test_chi2_matches_scipy_contingency(reference: list[str], current: list[str]) -> None:
    base = profile(pd.DataFrame({"x": reference}))
    window = profile(pd.DataFrame({"x": current}), reference=base)
    statistic, p_value = _statistic(Chi2(min_count=1), base, window)
    table = _table(reference, current)
    if table.shape[1] < 2:
        assert (statistic, p_value) == (0.0, 1.0)
        return
    expected = stats.chi2_contingency(table, correction=False)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(words, words)
def test_jensen_shannon_matches_scipy(reference: list[str], current: list[str]) -> None:
    base = profile(pd.DataFrame({"x": reference}))
    window = profile(pd.DataFrame({"x": current}), reference=base)
    statistic, _ = _statistic(JensenShannon(min_count=1), base, window)
    table = _table(reference, current)
    assert statistic == pytest.approx(jensenshannon(table[0], table[1]), abs=1e-9)


def test_numeric_binned_tests_use_reference_deciles() -> None:
    rng = np.random.default_rng(9)
    reference, current = rng.normal(size=3_000), rng.normal(0.2, 1.0, 2_000)
    base, window = _pair(list(reference), list(current))
    edges = np.quantile(reference, np.arange(1, 10) / 10, method="inverted_cdf")
    expected = np.array(
        [
            np.bincount(np.searchsorted(edges, side, side="left"), minlength=10)
            for side in (reference, current)
        ],
        dtype=float,
    )
    chi2, p_value = _statistic(Chi2(), base, window)
    scipy_chi2 = stats.chi2_contingency(expected, correction=False)
    assert chi2 == pytest.approx(scipy_chi2.statistic, rel=1e-9)
    assert p_value == pytest.approx(scipy_chi2.pvalue, rel=1e-6)
    js, _ = _statistic(JensenShannon(), base, window)
    assert js == pytest.approx(jensenshannon(expected[0], expected[1]), abs=1e-9)


def _categorical_pair(
    reference: dict[str, int], current: dict[str, int]
) -> tuple[Profile, Profile]:
    def frame(counts: dict[str, int]) -> pd.DataFrame:
        return pd.DataFrame({"x": [k for k, n in counts.items() for _ in range(n)]})

    base = profile(frame(reference))
    return base, profile(frame(current), reference=base)


def test_psi_hand_computed() -> None:
    base, window = _categorical_pair({"a": 50, "b": 50}, {"a": 90, "b": 10})
    statistic, p_value = _statistic(Psi(), base, window)
    assert statistic == pytest.approx(0.4 * math.log(1.8) - 0.4 * math.log(0.2), rel=1e-12)
    assert p_value is None


def test_psi_smooths_a_category_new_in_the_window() -> None:
    base, window = _categorical_pair({"a": 50, "b": 50}, {"a": 50, "b": 25, "new": 25})
    statistic, _ = _statistic(Psi(), base, window)
    # bins a, b, other: p = (.5, .5, 0 -> 1e-4), q = (.5, .25, .25)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - 1e-4) * math.log(0.25 / 1e-4)
    assert statistic == pytest.approx(expected, rel=1e-12)


def test_hellinger_and_l_infinity_hand_computed() -> None:
    base, window = _categorical_pair({"a": 50, "b": 50}, {"a": 90, "b": 10})
    hellinger, _ = _statistic(Hellinger(), base, window)
    expected = math.sqrt(
        ((math.sqrt(0.5) - math.sqrt(0.9)) ** 2 + (math.sqrt(0.5) - math.sqrt(0.1)) ** 2) / 2
    )
    assert hellinger == pytest.approx(expected, rel=1e-12)
    l_infinity, _ = _statistic(LInfinity(), base, window)
    assert l_infinity == pytest.approx(0.4, rel=1e-12)


def test_identical_windows_measure_zero() -> None:
    base, window = _categorical_pair({"a": 40, "b": 60}, {"a": 40, "b": 60})
    for config in (Psi(), JensenShannon(), Hellinger(), LInfinity()):
        statistic, _ = _statistic(config, base, window)
        assert statistic == pytest.approx(0.0, abs=1e-12)
    result = evaluate(Chi2(), "x", base.column("x"), window.column("x"))
    assert result.status is DriftStatus.OK
    assert result.p_value == pytest.approx(1.0)
