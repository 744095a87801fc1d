"""The monitor spec: stored as JSON or YAML, checked when built, read by the engine."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from steward.contracts import infer_contract
from steward.errors import InvalidInput
from steward.monitoring.engine import evaluate_window
from steward.monitoring.spec import DriftTests, Kpi, MonitorSpec
from steward.monitoring.thresholds import default_alert_thresholds
from steward.stats import ColumnKind, Ks, Psi, profile


def _spec() -> MonitorSpec:
    return MonitorSpec(
        task="classification",
        features=("age", "plan"),
        drift_tests=DriftTests(
            numeric=["wasserstein", Psi(threshold=0.2)],
            features={"plan": [{"test": "chi2", "threshold": 0.01}]},
        ),
        segments=("region",),
        kpis=(Kpi(name="conversion", field="converted"),),
        positive_label="yes",
    )


def test_a_spec_round_trips_through_json_and_yaml() -> None:
    spec = _spec()
    stored = json.loads(json.dumps(spec.to_dict()))
    assert stored["drift_tests"]["numeric"][1] == {
        "test": "psi",
        "threshold": 0.2,
        "min_count": 30,
        "smoothing": 0.0001,
    }
    assert MonitorSpec.from_dict(stored) == spec
    assert MonitorSpec.from_yaml(spec.to_yaml()) == spec
    assert MonitorSpec.from_yaml("task: regression\n") == MonitorSpec(task="regression")


def test_tests_resolve_per_feature_then_per_kind() -> None:
    tests = _spec().drift_tests
    assert [t.name for t in tests.for_column("age", ColumnKind.NUMERIC)] == ["wasserstein", "psi"]
    assert [t.name for t in tests.for_column("plan", ColumnKind.CATEGORICAL)] == ["chi2"]
    assert [t.name for t in tests.for_column("city", ColumnKind.CATEGORICAL)] == [
        "jensen_shannon",
        "psi",
    ]
    own = DriftTests(features={"plan": ["ks"]})
    with pytest.raises(
        InvalidInput, match="drift tests \\['ks'\\] do not apply to categorical feature 'plan'"
    ):
        own.for_column("plan", ColumnKind.CATEGORICAL)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"task": "forecast"},
            "monitor spec field 'task': Input should be 'classification' or 'regression'",
        ),
        (
            {"task": "regression", "drift_tests": {"numeric": ["energy"]}},
            "no drift test named 'energy'; registered: chi2",
        ),
        (
            {"task": "regression", "drift_tests": {"categorical": ["ks"]}},
            "'ks' does not apply to categorical columns",
        ),
        (
            {"task": "regression", "drift_tests": {"numeric": ["psi", "psi"]}},
            "names test\\(s\\) psi more than once",
        ),
        (
            {"task": "regression", "drift_tests": {"numeric": [{"test": "psi", "bins": 3}]}},
            "unexpected keyword argument 'bins'",
        ),
        (
            {
                "task": "regression",
                "kpis": [{"name": "a", "field": "x"}, {"name": "a", "field": "y"}],
            },
            "KPI names must be unique; repeated: a",
        ),
        (
            {"task": "regression", "kpis": [{"name": "a", "field": "x", "agg": "median"}]},
            "field 'kpis.0.agg'",
        ),
        ({"task": "regression", "min_rows": -1}, "field 'min_rows'"),
        ({"task": "regression", "window": "1h"}, "field 'window': Extra inputs are not permitted"),
    ],
)
def test_a_bad_spec_names_the_field_and_what_is_accepted(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        MonitorSpec.from_dict(data)


def test_a_bad_yaml_spec_is_refused() -> None:
    with pytest.raises(InvalidInput, match="a monitor spec must be a mapping, got list"):
        MonitorSpec.from_yaml("- task\n")
    with pytest.raises(InvalidInput, match="monitor spec YAML does not parse"):
        MonitorSpec.from_yaml("task: [")


def test_the_engine_reads_the_spec_tests_and_reports_p_values() -> None:
    rng = np.random.default_rng(1)
    training = pa.table({"age": rng.normal(40, 10, 5_000), "plan": rng.choice(["a", "b"], 5_000)})
    window = pa.table(
        {
            "in_age": rng.normal(40, 10, 2_000),
            "in_plan": rng.choice(["a", "b"], 2_000),
            "prediction": rng.choice(["yes", "no"], 2_000),
            "label": rng.choice(["yes", "no"], 2_000),
            "seg_region": rng.choice(["EU", "US"], 2_000),
            "outcome_converted": rng.random(2_000),
        }
    )
    result = evaluate_window(window, _spec(), profile(training))
    assert {m.metric for m in result.metrics if m.feature == "plan"} >= {
        "drift.chi2",
        "drift.chi2.p_value",
    }
    assert {
        m.metric for m in result.metrics if m.feature == "age" and m.metric.startswith("drift.")
    } == {
        "drift.wasserstein",
        "drift.psi",
    }
    psi = result.get("drift.psi", feature="age")
    assert psi is not None
    assert psi.drifted is False
    assert result.get("perf.precision") is not None


def test_every_recommended_threshold_names_a_metric_the_engine_reports() -> None:
    rng = np.random.default_rng(2)
    training = pa.table(
        {
            "x": rng.normal(0, 1, 5_000),
            "y": rng.normal(0, 1, 5_000),
            "c": rng.choice(["a", "b"], 5_000),
        }
    )
    window = pa.table(
        {
            "in_x": rng.normal(0, 1, 2_000),
            "in_y": rng.normal(0, 1, 2_000),
            "in_c": rng.choice(["a", "b"], 2_000),
            "prediction": rng.normal(0, 1, 2_000),
            "score": rng.random(2_000),
            "label": rng.normal(0, 1, 2_000),
        }
    )
    spec = MonitorSpec(task="regression")
    first = evaluate_window(window, spec, profile(training))
    result = evaluate_window(
        window,
        spec,
        profile(training),
        prediction_baseline=first.profile,
        contract=infer_contract(training),
    )
    reported = {m.metric for m in result.metrics}
    assert {t.metric for t in default_alert_thresholds()} <= reported
    assert not [t for t in default_alert_thresholds() for m in result.metrics if t.is_breached(m)]


def test_configs_are_stored_in_their_registry_form() -> None:
    tests = DriftTests(numeric=Ks(threshold=0.01))
    assert tests.numeric == ({"test": "ks", "threshold": 0.01, "min_count": 30},)
    with pytest.raises(ValueError, match="KPI names"):
        MonitorSpec(task="regression", kpis=(Kpi(name="k", field="a"), Kpi(name="k", field="b")))
