"""Profiles: values against NumPy, exact merges, JSON round trips, every frame library."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.errors import InvalidInput
from steward.stats import (
    CategoricalSummary,
    NumericSummary,
    Profile,
    merge,
    profile,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe_missing = st.one_of(finite, st.just(float("nan")))
labels = st.sampled_from(["a", "b", "c", "d", "e", "f"])


def _frame(numbers: list[float], words: list[str | None]) -> pd.DataFrame:
    size = min(len(numbers), len(words))
    return pd.DataFrame({"x": numbers[:size], "c": pd.Series(words[:size], dtype="object")})


def _numeric(p: Profile, name: str = "x") -> NumericSummary:
    summary = p.column(name)
    assert isinstance(summary, NumericSummary)
    return summary


def _categorical(p: Profile, name: str = "c") -> CategoricalSummary:
    summary = p.column(name)
    assert isinstance(summary, CategoricalSummary)
    return summary


def test_numeric_summary_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(5.0, 2.0, 5_000)
    values[:50] = np.nan
    values[50:53] = [np.inf, -np.inf, np.inf]
    summary = _numeric(profile(pd.DataFrame({"x": values})))
    kept = values[np.isfinite(values)]
    assert summary.missing == 53
    assert summary.count == kept.size
    assert summary.moments.minimum == kept.min()
    assert summary.moments.maximum == kept.max()
    assert summary.moments.mean == pytest.approx(kept.mean(), rel=1e-12)
    assert summary.moments.variance == pytest.approx(kept.var(), rel=1e-9)


def test_psi_bins_are_reference_deciles_counted_right_closed() -> None:
    values = np.arange(1.0, 101.0)  # 1..100
    summary = _numeric(profile(pd.DataFrame({"x": values})))
    assert summary.bin_edges == (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)
    assert summary.bin_counts == (10,) * 10


def test_sketch_keeps_every_distinct_value_of_a_small_column() -> None:
    values = np.array([3.0, 1.0, 2.0, 2.0, 5.0, 1.0, 1.0])
    sketch = _numeric(profile(pd.DataFrame({"x": values}))).sketch
    assert sketch.edges == (1.0, 2.0, 3.0, 5.0)
    assert sketch.counts == (3, 2, 1, 1, 0)
    assert sketch.atoms == (3, 2, 1, 1)
    assert sketch.sums == (3.0, 4.0, 3.0, 5.0, 0.0)


def test_sketch_size_bounds_the_stored_edges() -> None:
    values = np.random.default_rng(0).normal(size=50_000)
    sketch = _numeric(profile(pd.DataFrame({"x": values}), sketch_size=200)).sketch
    assert len(sketch.edges) == 201
    shares = np.asarray(sketch.counts[1:-1]) / values.size
    assert shares.max() <= 1 / 200 + 1 / values.size


def test_categorical_top_k_and_other() -> None:
    words = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] + [None] * 2
    summary = _categorical(profile(pd.DataFrame({"c": words}), categorical_top_k=2))
    assert summary.categories == ("a", "b")  # tie b/c broken by name
    assert summary.counts == (5, 3)
    assert summary.other == 4
    assert summary.missing == 2


def test_window_counts_against_reference_categories() -> None:
    reference = profile(pd.DataFrame({"c": ["a", "a", "b"]}))
    window = profile(pd.DataFrame({"c": ["b", "z", "z", None]}), reference=reference)
    summary = _categorical(window)
    assert summary.categories == ("a", "b")
    assert summary.counts == (0, 1)
    assert summary.other == 2  # 'z' was never seen in the reference
    assert summary.missing == 1


def test_frame_libraries_profile_alike() -> None:
    rng = np.random.default_rng(1)
    data = {
        "x": rng.normal(size=500),
        "n": rng.integers(0, 9, 500),
        "c": rng.choice(["u", "v", "w"], 500),
        "b": rng.random(500) > 0.3,
    }
    from_pandas = profile(pd.DataFrame(data))
    assert profile(pa.table(data)) == from_pandas
    assert profile(pl.DataFrame(data)) == from_pandas
    as_category = pd.DataFrame(data).astype({"c": "category"})
    assert profile(as_category) == from_pandas


def test_chunked_arrow_columns_profile_like_contiguous_ones() -> None:
    rng = np.random.default_rng(6)
    rows = 3_000
    frame = pd.DataFrame({"x": rng.normal(size=rows), "c": rng.choice(["u", "v", "w"], rows)})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    chunked = pa.concat_tables(
        [table.slice(0, 1_000), table.slice(1_000, 1_500), table.slice(2_500)]
    )
    assert chunked.column("c").num_chunks == 3
    expected = profile(frame)
    assert expected.reconstruction is not None
    assert profile(chunked) == expected
    assert profile(pd.concat([frame.iloc[:1_000], frame.iloc[1_000:]])) == expected


def test_unsupported_columns_are_skipped_and_named() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    result = profile(frame)
    assert list(result.columns) == ["x"]
    assert "when" in result.skipped


@settings(max_examples=40, deadline=None)
@given(
    st.lists(maybe_missing, min_size=0, max_size=80),
    st.lists(maybe_missing, min_size=0, max_size=80),
    st.lists(st.one_of(labels, st.none()), min_size=0, max_size=80),
)
def test_merge_equals_profile_of_concatenation(
    first: list[float], second: list[float], words: list[str | None]
) -> None:
    a = _frame(first, words[: len(first)])
    b = _frame(second, words[len(first) :])
    reference = profile(a, categorical_top_k=3, sketch_size=16)
    together = pd.concat([a, b], ignore_index=True)
    merged = merge(reference, profile(b, reference=reference))
    expected = profile(together, reference=reference)
    for name in ("x", "c"):
        _assert_same_counts(merged.column(name), expected.column(name))
    assert merged.rows == expected.rows == len(together)


@settings(max_examples=25, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60), st.lists(finite, min_size=1, max_size=60))
def test_merged_moments_match_numpy(first: list[float], second: list[float]) -> None:
    reference = profile(pd.DataFrame({"x": first}))
    merged = _numeric(merge(reference, profile(pd.DataFrame({"x": second}), reference=reference)))
    both = np.asarray(first + second)
    assert merged.moments.minimum == both.min()
    assert merged.moments.maximum == both.max()
    assert merged.moments.mean == pytest.approx(both.mean(), rel=1e-9, abs=1e-6)
    assert merged.moments.variance == pytest.approx(both.var(), rel=1e-6, abs=1e-3)


def _assert_same_counts(merged: object, expected: object) -> None:
    if isinstance(merged, NumericSummary) and isinstance(expected, NumericSummary):
        assert merged.missing == expected.missing
        assert merged.count == expected.count
        assert merged.bin_counts == expected.bin_counts
        assert merged.sketch.counts == expected.sketch.counts
        assert merged.sketch.atoms == expected.sketch.atoms
        assert merged.moments.minimum == expected.moments.minimum
        assert merged.moments.maximum == expected.moments.maximum
        np.testing.assert_allclose(merged.sketch.sums, expected.sketch.sums, rtol=1e-9, atol=1e-6)
    else:
        assert merged == expected


@settings(max_examples=30, deadline=None)
@given(
    st.lists(maybe_missing, min_size=0, max_size=60),
    st.lists(st.one_of(labels, st.none()), min_size=0, max_size=60),
)
def test_json_round_trip_is_exact(numbers: list[float], words: list[str | None]) -> None:
    original = profile(_frame(numbers, words), sketch_size=8)
    assert Profile.from_json(original.to_json()) == original
    assert Profile.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_json_round_trip_keeps_the_multivariate_baseline() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=400), "y": rng.normal(size=400), "c": "k"})
    original = profile(frame)
    assert original.reconstruction is not None
    assert Profile.from_json(original.to_json()) == original


def test_merge_refuses_profiles_with_different_edges() -> None:
    first = profile(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    second = profile(pd.DataFrame({"x": [4.0, 5.0, 6.0]}))
    with pytest.raises(InvalidInput, match=r"column 'x' was not counted against"):
        merge(first, second)


def test_bad_input_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"frame of type builtins.list is not supported"):
        profile([1, 2, 3])
    with pytest.raises(InvalidInput, match=r"bins must be an integer of at least 2, got 1"):
        profile(pd.DataFrame({"x": [1.0]}), bins=1)
    with pytest.raises(InvalidInput, match=r"columns \['nope'\] are not in the frame"):
        profile(pd.DataFrame({"x": [1.0]}), columns=["nope"])
    reference = profile(pd.DataFrame({"x": [1.0, 2.0]}))
    with pytest.raises(InvalidInput, match=r"column 'x' has type str"):
        profile(pd.DataFrame({"x": ["a", "b"]}), reference=reference)
    with pytest.raises(InvalidInput, match=r"lacks the reference's columns \['x'\]"):
        profile(pd.DataFrame({"y": [1.0]}), reference=reference)
    with pytest.raises(InvalidInput, match=r"profile format 'other' is not supported"):
        Profile.from_dict({"format": "other"})
    with pytest.raises(InvalidInput, match=r"profile JSON does not parse"):
        Profile.from_json("{nope")
    with pytest.raises(InvalidInput, match=r"column 'q' is not in the profile; it has: x"):
        reference.column("q")
