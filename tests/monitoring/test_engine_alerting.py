"""The alerting defaults hold on realistic streams: quiet when nothing changes, loud when a
feature shifts, and a shift in one segment shows in that segment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from steward.contracts import infer_contract
from steward.monitoring.engine import evaluate_window
from steward.monitoring.metrics import MetricValue
from steward.monitoring.spec import MonitorSpec
from steward.monitoring.thresholds import MIN_SAMPLES, default_alert_thresholds
from steward.stats import Profile, profile

REGIONS = np.array(["EU", "US", "APAC"])
SHAPES = ("normal", "lognormal", "exponential", "uniform", "poisson")


def _inputs(rng: np.random.Generator, rows: int) -> dict[str, Any]:
    """20 numeric features of five shapes and 5 categoricals of 3 to 30 values."""
    columns: dict[str, Any] = {}
    for i in range(20):
        shape = SHAPES[i % 5]
        if shape == "normal":
            values = rng.normal(50, 10, rows)
        elif shape == "lognormal":
            values = rng.lognormal(3, 1, rows)
        elif shape == "exponential":
            values = rng.exponential(2, rows)
        elif shape == "uniform":
            values = rng.uniform(-1, 1, rows)
        else:
            values = rng.poisson(4, rows).astype(np.float64)
        if i == 2:
            values[rng.random(rows) < 0.1] = np.nan  # a feature that is often missing
        columns[f"x{i:02d}"] = values
    for j, size in enumerate([3, 5, 8, 20, 30]):
        weights = np.arange(size, 0, -1, dtype=np.float64)
        names = np.array([f"v{k}" for k in range(size)])
        columns[f"c{j}"] = names[rng.choice(size, rows, p=weights / weights.sum())]
    return columns


def _window(
    rng: np.random.Generator,
    rows: int,
    *,
    shift: dict[str, float] | None = None,
    region_shift: dict[str, float] | None = None,
) -> pa.Table:
    """A window; `shift` moves features by that many of their standard deviations, and
    `region_shift` does so for region EU's rows only."""
    inputs = _inputs(rng, rows)
    region = REGIONS[rng.choice(3, rows, p=[0.2, 0.5, 0.3])]
    for name, by in (shift or {}).items():
        inputs[name] = inputs[name] + by * np.nanstd(inputs[name])
    for name, by in (region_shift or {}).items():
        inputs[name] = inputs[name] + (region == "EU") * by * np.nanstd(inputs[name])
    score = rng.random(rows)
    labelled = rng.random(rows) < 0.5
    truth = np.where(labelled, (rng.random(rows) < score).astype(np.float64), np.nan)
    return pa.table(
        {
            **{f"in_{name}": pa.array(values, from_pandas=True) for name, values in inputs.items()},
            "prediction": (score > 0.5).astype(np.int64),
            "score": score,
            "label": pa.array(truth, from_pandas=True),
            "seg_region": region,
        }
    )


@pytest.fixture(scope="module")
def training() -> dict[str, Any]:
    return _inputs(np.random.default_rng(1), 50_000)


@pytest.fixture(scope="module")
def baseline(training: dict[str, Any]) -> Profile:
    return profile(pa.table(training))


SPEC = MonitorSpec(task="classification", segments=("region",))


def _breaches(metrics: tuple[MetricValue, ...]) -> list[tuple[str, str | None, str | None, float]]:
    rules = {rule.metric: rule for rule in default_alert_thresholds()}
    return [
        (m.metric, m.feature, m.segment, round(m.value, 3))
        for m in metrics
        if m.metric in rules and rules[m.metric].is_breached(m)
    ]


def test_a_stationary_stream_stays_under_every_threshold_for_50_windows(
    baseline: Profile, training: dict[str, Any]
) -> None:
    rng = np.random.default_rng(2)
    contract = infer_contract(pa.table(training))
    reference = profile(_window(rng, 5_000).select(["prediction", "score"]), multivariate=False)
    judged = 0
    for index in range(50):
        rows = [1_000, 2_500, 5_000][index % 3]
        result = evaluate_window(
            _window(rng, rows), SPEC, baseline, prediction_baseline=reference, contract=contract
        )
        assert _breaches(result.metrics) == []
        assert [m for m in result.metrics if m.drifted] == []
        judged += sum(m.sample_size >= MIN_SAMPLES for m in result.metrics)
    assert judged > 50 * 100  # every window was judged on many metrics, segments included


@pytest.mark.parametrize("feature", ["x00", "x01", "x02", "x03"])
def test_a_half_std_shift_in_one_feature_crosses_in_the_first_window(
    baseline: Profile, feature: str
) -> None:
    rng = np.random.default_rng(3)
    result = evaluate_window(_window(rng, 1_250, shift={feature: 0.5}), SPEC, baseline)
    breached = {
        (metric, name) for metric, name, segment, _ in _breaches(result.metrics) if segment is None
    }
    assert breached == {("drift.wasserstein", feature), ("drift.psi", feature)}
    flagged = {m.feature for m in result.metrics if m.drifted and m.segment is None}
    assert flagged == {feature}


def test_a_category_share_change_crosses_the_categorical_thresholds(baseline: Profile) -> None:
    rng = np.random.default_rng(4)
    window = _window(rng, 2_000)
    moved = np.where(
        rng.random(2_000) < 0.3, "v2", window.column("in_c0").to_numpy(zero_copy_only=False)
    )
    window = window.set_column(window.column_names.index("in_c0"), "in_c0", pa.array(moved))
    result = evaluate_window(window, SPEC, baseline)
    overall = {
        (metric, name) for metric, name, segment, _ in _breaches(result.metrics) if segment is None
    }
    assert overall == {("drift.jensen_shannon", "c0"), ("drift.psi", "c0")}


def test_a_shift_in_one_segment_shows_there_and_much_weaker_overall(baseline: Profile) -> None:
    rng = np.random.default_rng(5)
    result = evaluate_window(_window(rng, 10_000, region_shift={"x00": 0.6}), SPEC, baseline)

    def drift(segment: str | None) -> float:
        found = result.get("drift.wasserstein", feature="x00", segment=segment)
        assert found is not None
        return found.value

    eu, us, apac, overall = (drift(s) for s in ("region=EU", "region=US", "region=APAC", None))
    assert eu > 0.4
    assert us < 0.1
    assert apac < 0.1
    assert overall < eu / 3
    breached = _breaches(result.metrics)
    assert {(m, f, s) for m, f, s, _ in breached} == {
        ("drift.wasserstein", "x00", "region=EU"),
        ("drift.psi", "x00", "region=EU"),
    }


def test_a_broken_relation_between_features_crosses_only_the_multivariate_threshold() -> None:
    rng = np.random.default_rng(6)

    def related(rows: int, *, broken: bool = False) -> dict[str, Any]:
        latent = rng.normal(size=(rows, 3))
        columns = {f"f{i}": latent[:, i % 3] + 0.3 * rng.normal(size=rows) for i in range(12)}
        if broken:  # same distribution per feature, relation to the others gone
            for i in range(0, 12, 3):
                columns[f"f{i}"] = rng.permutation(columns[f"f{i}"])
        return columns

    baseline = profile(pa.table(related(20_000)))
    spec = MonitorSpec(task="regression")
    for broken, expected in ((False, []), (True, [("drift.multivariate", None, None)])):
        window = pa.table({f"in_{k}": v for k, v in related(2_000, broken=broken).items()})
        breached = _breaches(evaluate_window(window, spec, baseline).metrics)
        assert [(m, f, s) for m, f, s, _ in breached] == expected
