"""The window engine against the statistics engine, the contracts and plain NumPy: every
group's numbers equal what computing them on that group's rows alone gives."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from steward.contracts import Contract, infer_contract, validate
from steward.errors import InvalidInput
from steward.monitoring.engine import evaluate_window
from steward.monitoring.grouping import MISSING_VALUE, OTHER_VALUES, segment_rows
from steward.monitoring.metrics import WindowResult
from steward.monitoring.spec import Kpi, MonitorSpec
from steward.monitoring.summaries import group_summaries
from steward.stats import (
    CategoricalSummary,
    NumericSummary,
    Profile,
    drift_report,
    merge,
    profile,
)

FEATURES = ("age", "income", "visits", "plan", "member")


def _inputs(rng: np.random.Generator, rows: int, shift: float = 0.0) -> dict[str, Any]:
    return {
        "age": rng.normal(40, 10, rows) + 10 * shift,
        "income": rng.lognormal(10, 1, rows),
        "visits": rng.poisson(3, rows),  # integers, with ties on the sketch edges
        "plan": rng.choice(["free", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
        "member": rng.random(rows) < 0.4,  # booleans are categorical
    }


def _window(rng: np.random.Generator, rows: int, *, shift: float = 0.0) -> pa.Table:
    inputs = _inputs(rng, rows, shift)
    age = inputs["age"]
    age[rng.random(rows) < 0.05] = np.nan
    age[:3] = [np.inf, -np.inf, np.nan]  # non-finite values count as missing
    plan = inputs["plan"].astype(object)
    plan[rng.random(rows) < 0.03] = None
    plan[rng.random(rows) < 0.02] = "enterprise"  # never seen in training
    score = np.round(rng.random(rows), 2)  # ties, as real scores have
    truth = (rng.random(rows) < score).astype(np.float64)
    labelled = rng.random(rows) < 0.6
    region = rng.choice(["EU", "US", "APAC"], rows, p=[0.5, 0.3, 0.2]).astype(object)
    region[rng.random(rows) < 0.02] = None
    converted = np.where(rng.random(rows) < 0.7, (rng.random(rows) < 0.2) * 1.0, np.nan)
    return pa.table(
        {
            "prediction_id": [f"p{i}" for i in range(rows)],
            "at_ms": np.arange(rows, dtype=np.int64),
            "model_version": rng.choice([3, 4], rows).astype(np.int64),
            "route": ["primary"] * rows,
            "in_age": pa.array(age, from_pandas=True),
            "in_income": inputs["income"],
            "in_visits": inputs["visits"],
            "in_plan": pa.array(plan, pa.string()),
            "in_member": inputs["member"],
            "prediction": (score > 0.5).astype(np.int64),
            "score": score,
            "label": pa.array(np.where(labelled, truth, np.nan), from_pandas=True),
            "outcome_converted": pa.array(converted, from_pandas=True),
            "outcome_revenue": pa.array(
                np.where(converted == 1, rng.gamma(2, 50, rows), np.nan), from_pandas=True
            ),
            "seg_region": pa.array(region, pa.string()),
            "seg_device": rng.choice(["mobile", "desktop"], rows),
        }
    )


@pytest.fixture(scope="module")
def baseline() -> Profile:
    return profile(pa.table(_inputs(np.random.default_rng(1), 30_000)))


@pytest.fixture(scope="module")
def window() -> pa.Table:
    return _window(np.random.default_rng(2), 6_000)


SPEC = MonitorSpec(
    task="classification",
    segments=("region", "device"),
    kpis=(
        Kpi(name="conversion", field="converted"),
        Kpi(name="revenue", field="revenue", agg="sum"),
        Kpi(name="reported", field="converted", agg="count"),
        Kpi(name="converted_share", field="outcome_converted", agg="rate"),
    ),
    min_rows=10,
)


def _rows_of(table: pa.Table, segment: str | None) -> pa.Table:
    """The window's rows in one segment, the slow obvious way."""
    if segment is None:
        return table
    key, value = segment.split("=", 1)
    column = table.column(f"seg_{key}")
    if value == MISSING_VALUE:
        return table.filter(pc.is_null(column))
    return table.filter(pc.fill_null(pc.equal(column, value), False))


def _inputs_of(table: pa.Table) -> pa.Table:
    return table.select([f"in_{f}" for f in FEATURES]).rename_columns(list(FEATURES))


def _assert_same_summary(mine: Any, theirs: Any) -> None:
    if isinstance(theirs, CategoricalSummary):
        assert mine == theirs
        return
    assert isinstance(mine, NumericSummary)
    assert (mine.missing, mine.bin_counts) == (theirs.missing, theirs.bin_counts)
    assert (mine.sketch.counts, mine.sketch.atoms) == (theirs.sketch.counts, theirs.sketch.atoms)
    assert np.allclose(mine.sketch.sums, theirs.sketch.sums, rtol=1e-12, atol=1e-9)
    assert mine.moments.count == theirs.moments.count
    assert (mine.moments.minimum, mine.moments.maximum) == (
        theirs.moments.minimum,
        theirs.moments.maximum,
    )
    assert mine.moments.mean == pytest.approx(theirs.moments.mean, rel=1e-12)
    assert mine.moments.m2 == pytest.approx(theirs.moments.m2, rel=1e-9)


@pytest.mark.parametrize("max_values", [20, 2])
def test_every_groups_summary_equals_the_profile_of_its_rows(
    baseline: Profile, window: pa.Table, max_values: int
) -> None:
    segments = segment_rows(window, ["region", "device"], max_values)
    expected_labels = {
        20: {"region=APAC", "region=EU", "region=US", f"region={MISSING_VALUE}"},
        2: {"region=EU", "region=US", f"region={OTHER_VALUES}", f"region={MISSING_VALUE}"},
    }[max_values]
    assert set(segments.labels[1:]) == expected_labels | {"device=desktop", "device=mobile"}
    for feature in FEATURES:
        groups = group_summaries(
            feature, window.column(f"in_{feature}"), baseline.columns[feature], segments
        )
        for label, mine in zip(segments.labels, groups, strict=True):
            if label is not None and label.endswith(OTHER_VALUES):
                rows = window.filter(pc.equal(window.column("seg_region"), "APAC"))
            else:
                rows = _rows_of(window, label)
            theirs = profile(_inputs_of(rows), reference=baseline, columns=[feature])
            _assert_same_summary(mine, theirs.columns[feature])


def test_many_value_combinations_take_one_pass_per_key_with_the_same_results(
    baseline: Profile,
) -> None:
    rng = np.random.default_rng(3)
    table = _window(rng, 8_000)
    table = table.append_column("seg_shop", pa.array([f"s{i}" for i in rng.integers(0, 30, 8_000)]))
    table = table.append_column("seg_city", pa.array([f"c{i}" for i in rng.integers(0, 30, 8_000)]))
    segments = segment_rows(table, ["shop", "city"], 30)
    assert len(segments.partitions) == 2  # 900 combinations: one partition per key
    groups = group_summaries(
        "income", table.column("in_income"), baseline.columns["income"], segments
    )
    for label in ("shop=s7", "city=c29", None):
        theirs = profile(_inputs_of(_rows_of(table, label)), reference=baseline, columns=["income"])
        _assert_same_summary(groups[segments.labels.index(label)], theirs.columns["income"])


def test_drift_per_segment_equals_a_drift_report_on_the_segments_rows(
    baseline: Profile, window: pa.Table
) -> None:
    result = evaluate_window(window, SPEC, baseline)
    numeric, categorical = ["wasserstein", "psi"], ["jensen_shannon", "psi"]  # the defaults
    tests = {f: categorical if f in ("plan", "member") else numeric for f in FEATURES}
    for segment in (None, "region=EU", "region=APAC", "device=mobile"):
        report = drift_report(baseline, _inputs_of(_rows_of(window, segment)), tests=tests)
        for expected in report.results:
            got = result.get(f"drift.{expected.test}", feature=expected.column, segment=segment)
            assert got is not None, (expected.test, expected.column, segment)
            assert got.value == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
            if got.sample_size < SPEC.min_drift_samples:
                assert got.drifted is None  # too few values for a verdict
            else:
                assert got.drifted is expected.is_drifted
    overall = drift_report(baseline, _inputs_of(window)).multivariate
    assert overall is not None
    got = result.get("drift.multivariate")
    assert got is not None
    assert got.value == pytest.approx(overall.statistic, rel=1e-9)


def test_verdicts_follow_each_tests_threshold_once_there_are_enough_values(
    baseline: Profile,
) -> None:
    shifted = _window(np.random.default_rng(4), 3_000, shift=0.5)
    result = evaluate_window(shifted, SPEC, baseline)
    age = result.get("drift.wasserstein", feature="age")
    income = result.get("drift.wasserstein", feature="income")
    assert age is not None
    assert age.drifted is True
    assert age.value > 0.4
    assert income is not None
    assert income.drifted is False
    custom = SPEC.model_copy(update={"min_drift_samples": 30})
    small = evaluate_window(shifted.slice(0, 200), custom, baseline)
    assert {m.drifted for m in small.metrics if m.metric.startswith("drift.psi")} <= {True, False}


def test_missing_and_unseen_rates_count_per_group(baseline: Profile, window: pa.Table) -> None:
    result = evaluate_window(window, SPEC, baseline)
    for segment in (None, "region=US", f"region={MISSING_VALUE}"):
        rows = _rows_of(window, segment)
        age = rows.column("in_age").to_numpy(zero_copy_only=False)
        missing = result.get("missing_rate", feature="age", segment=segment)
        assert missing is not None
        assert missing.value == pytest.approx(np.mean(~np.isfinite(age)))
        assert missing.sample_size == rows.num_rows
        change = result.get("missing_rate_change", feature="age", segment=segment)
        assert change is not None
        assert change.value == pytest.approx(missing.value)
        plan = rows.column("in_plan")
        present = plan.drop_null()
        unseen = result.get("unseen_category_rate", feature="plan", segment=segment)
        assert unseen is not None
        assert unseen.value == pytest.approx(
            pc.sum(pc.equal(present, "enterprise")).as_py() / len(present)
        )
        assert unseen.sample_size == len(present)
    assert result.get("unseen_category_rate", feature="age") is None  # numeric feature


def test_kpis_per_group_equal_numpy(baseline: Profile, window: pa.Table) -> None:
    result = evaluate_window(window, SPEC, baseline)
    for segment in (None, "region=EU", "device=desktop"):
        rows = _rows_of(window, segment)
        converted = rows.column("outcome_converted").to_numpy(zero_copy_only=False)
        revenue = rows.column("outcome_revenue").to_numpy(zero_copy_only=False)
        expected = {
            "kpi.conversion": (np.nanmean(converted), np.isfinite(converted).sum()),
            "kpi.revenue": (np.nansum(revenue), rows.num_rows),
            "kpi.reported": (np.isfinite(converted).sum(), rows.num_rows),
            "kpi.converted_share": (np.nansum(converted == 1) / rows.num_rows, rows.num_rows),
        }
        for metric, (value, size) in expected.items():
            got = result.get(metric, segment=segment)
            assert got is not None
            assert got.value == pytest.approx(value, rel=1e-12)
            assert got.sample_size == size


def test_contract_violations_equal_validate_per_group(baseline: Profile, window: pa.Table) -> None:
    clean = pa.table(_inputs(np.random.default_rng(5), 5_000)).drop_columns(["plan"])
    contract = infer_contract(clean, name="churn")  # age is never missing in training
    result = evaluate_window(window, SPEC, baseline, contract=contract)
    for segment in (None, "region=EU", "device=mobile"):
        rows = _inputs_of(_rows_of(window, segment)).drop_columns(["plan"])
        report = validate(rows, contract, mode="warn").report
        overall = result.get("contract_violation_rate", segment=segment)
        assert overall is not None
        assert overall.value == pytest.approx(report.invalid_rows / rows.num_rows)
        assert report.invalid_rows > 0
        for column in contract.column_names:
            broken = sum(
                count
                for kind, count in report.counts.get(column, {}).items()
                if kind != "missing_rate"
            )
            got = result.get("contract_violation_rate", feature=column, segment=segment)
            assert got is not None
            assert got.value == pytest.approx(broken / rows.num_rows)


def test_a_required_column_the_window_lacks_breaks_every_row(
    baseline: Profile, window: pa.Table
) -> None:
    contract = infer_contract(_inputs_of(window).append_column("tenure", pa.array(np.ones(6_000))))
    result = evaluate_window(window, SPEC, baseline, contract=contract)
    tenure = result.get("contract_violation_rate", feature="tenure")
    overall = result.get("contract_violation_rate")
    assert tenure is not None
    assert tenure.value == 1.0
    assert overall is not None
    assert overall.value == 1.0


def test_prediction_and_score_drift_against_a_prediction_baseline(
    baseline: Profile, window: pa.Table
) -> None:
    first = evaluate_window(window, SPEC, baseline)
    assert first.get("prediction_drift.psi") is None  # no prediction baseline yet
    assert {"prediction", "score"} <= set(first.profile.columns)
    same = evaluate_window(window, SPEC, baseline, prediction_baseline=first.profile)
    psi = same.get("prediction_drift.psi")
    assert psi is not None
    assert psi.value == pytest.approx(0.0, abs=1e-12)
    score = np.clip(window.column("score").to_numpy() + 0.3, 0, 1)
    moved = window.set_column(window.column_names.index("score"), "score", pa.array(score))
    later = evaluate_window(moved, SPEC, baseline, prediction_baseline=first.profile)
    drift = later.get("score_drift.wasserstein")
    assert drift is not None
    assert drift.value > 0.5
    assert drift.drifted is True
    assert later.get("score_drift.wasserstein", segment="region=EU") is not None


def test_the_window_profile_stores_merges_and_serves_as_a_seasonal_baseline(
    baseline: Profile,
) -> None:
    rng = np.random.default_rng(6)
    first, second = _window(rng, 3_000), _window(rng, 2_000)
    a = evaluate_window(first, SPEC, baseline).profile
    # Windows merge when counted against the same baselines: the first window's profile
    # is the later windows' prediction baseline.
    b = evaluate_window(second, SPEC, baseline, prediction_baseline=a).profile
    assert Profile.from_json(a.to_json()) == a
    both = pa.concat_tables([first, second])
    whole = profile(_inputs_of(both), reference=baseline)
    merged = merge(a, b)
    for feature in FEATURES:
        _assert_same_summary(merged.columns[feature], whole.columns[feature])
    scores = profile(both.select(["score"]), reference=a, columns=["score"])
    _assert_same_summary(merged.columns["score"], scores.columns["score"])
    seasonal = evaluate_window(second, SPEC, a)
    assert seasonal.get("drift.psi", feature="plan") is not None
    assert seasonal.get("drift.multivariate") is not None  # the training PCA travels along


def test_without_a_baseline_the_window_is_profiled_on_its_own(window: pa.Table) -> None:
    result = evaluate_window(window, SPEC, None)
    assert not [m for m in result.metrics if m.metric.startswith("drift.")]
    assert result.get("missing_rate", feature="age") is not None
    assert result.get("missing_rate_change", feature="age") is None
    theirs = profile(_inputs_of(window), multivariate=False)
    for feature in FEATURES:
        _assert_same_summary(result.profile.columns[feature], theirs.columns[feature])


def test_small_groups_report_only_their_rows(baseline: Profile, window: pa.Table) -> None:
    spec = SPEC.model_copy(update={"min_rows": 1_000})
    result = evaluate_window(window, spec, baseline)
    small = f"region={MISSING_VALUE}"
    assert [m.metric for m in result.metrics if m.segment == small] == ["rows"]
    assert len([m for m in result.metrics if m.segment == "region=EU"]) > 20


def test_an_empty_window_gives_rows_and_a_profile(baseline: Profile, window: pa.Table) -> None:
    empty = window.slice(0, 0)
    for spec in (SPEC, SPEC.model_copy(update={"min_rows": 0})):
        result = evaluate_window(empty, spec, baseline)
        assert result.rows == 0
        assert [(m.metric, m.value) for m in result.metrics] == [("rows", 0.0)]
        assert result.profile.rows == 0
        assert set(FEATURES) <= set(result.profile.columns)


def test_every_value_is_finite_and_json_ready(baseline: Profile, window: pa.Table) -> None:
    result = evaluate_window(window, SPEC, baseline)
    assert all(np.isfinite(m.value) for m in result.metrics)
    keys = [(m.metric, m.feature, m.segment) for m in result.metrics]
    assert len(keys) == len(set(keys))
    body = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert body["rows"] == 6_000
    assert isinstance(result, WindowResult)


def test_features_default_to_the_inputs_the_baseline_knows(baseline: Profile) -> None:
    table = _window(np.random.default_rng(7), 500).append_column("in_extra", pa.array(np.ones(500)))
    result = evaluate_window(table, SPEC, baseline)
    assert {m.feature for m in result.metrics if m.feature} == set(FEATURES)
    only = evaluate_window(table, SPEC.model_copy(update={"features": ("age",)}), baseline)
    assert {m.feature for m in only.metrics if m.feature} == {"age"}


def test_a_feature_absent_from_every_file_reads_as_missing(baseline: Profile) -> None:
    table = _window(np.random.default_rng(8), 500)
    nulls = pa.nulls(500, pa.float64())  # what the reader gives for a feature no file has
    table = table.set_column(table.column_names.index("in_plan"), "in_plan", nulls)
    result = evaluate_window(table, SPEC, baseline)
    missing = result.get("missing_rate", feature="plan")
    assert missing is not None
    assert missing.value == 1.0
    assert result.get("drift.psi", feature="plan") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": ("age", "tenure")}, "features ['tenure'] have no in_<feature> column"),
        ({"segments": ("country",)}, "segment key 'country' has no column seg_country"),
        ({"kpis": (Kpi(name="clicks", field="clicked"),)}, "outcome 'clicked'"),
    ],
)
def test_names_the_window_lacks_are_refused(
    baseline: Profile, window: pa.Table, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        evaluate_window(window, SPEC.model_copy(update=change), baseline)


def test_bad_arguments_are_refused_with_what_is_accepted(
    baseline: Profile, window: pa.Table
) -> None:
    with pytest.raises(InvalidInput, match=r"table must be a pyarrow\.Table, got DataFrame"):
        evaluate_window(window.to_pandas(), SPEC, baseline)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"baseline must be a steward\.stats\.Profile"):
        evaluate_window(window, SPEC, baseline.to_dict())  # type: ignore[arg-type]
    wrong = window.set_column(
        window.column_names.index("in_age"), "in_age", pa.array(["x"] * window.num_rows)
    )
    with pytest.raises(InvalidInput, match="column 'age' has type string"):
        evaluate_window(wrong, SPEC, baseline)
    renamed = window.append_column("in_score", window.column("score"))
    with pytest.raises(InvalidInput, match="may not be named"):
        evaluate_window(renamed, SPEC.model_copy(update={"features": ("score",)}), None)
    contract = Contract.from_dict(infer_contract(_inputs_of(window)).to_dict())
    with pytest.raises(InvalidInput, match=r"contract must be a steward\.contracts\.Contract"):
        evaluate_window(window, SPEC, baseline, contract=contract.to_dict())  # type: ignore[arg-type]


def test_route_and_model_version_are_segment_keys_too(baseline: Profile, window: pa.Table) -> None:
    spec = SPEC.model_copy(update={"segments": ("model_version", "route")})
    result = evaluate_window(window, spec, baseline)
    assert result.segments == ("model_version=3", "model_version=4", "route=primary")
    versions = window.column("model_version").to_numpy()
    rows = result.get("rows", segment="model_version=4")
    assert rows is not None
    assert rows.value == (versions == 4).sum()
