"""Params (write-once), metric series (NaN and infinities kept), tags, and batches of all three."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from steward import tracking
from steward.errors import Conflict, InvalidInput, NotFound
from steward.store import Store
from steward.tracking import Metric
from tests.tracking.conftest import START_MS


def test_params_are_strings_and_write_once(store: Store, run: tracking.Run) -> None:
    tracking.log_params(store, run.id, {"C": 1.0, "depth": 3, "flag": True, "none": None})
    tracking.log_params(store, run.id, {"C": "1.0", "depth": 3})  # same values: a no-op
    assert tracking.get_run(store, run.id).params == {
        "C": "1.0",
        "depth": "3",
        "flag": "True",
        "none": "None",
    }


def test_a_changed_param_is_a_conflict_and_the_batch_is_not_written(
    store: Store, run: tracking.Run, snapshot: Callable[[], object]
) -> None:
    before = snapshot()
    with pytest.raises(Conflict) as caught:
        tracking.log_params(store, run.id, {"new": "x", "C": 2.0})
    message = caught.value.message
    assert "param 'C'" in message
    assert "'1.0'" in message
    assert "'2.0'" in message
    assert caught.value.field == "params.C"
    assert caught.value.details == [{"key": "C", "stored": "1.0", "received": "2.0"}]
    assert snapshot() == before


def test_bad_params_are_refused_before_any_write(
    store: Store, run: tracking.Run, snapshot: Callable[[], object]
) -> None:
    before = snapshot()
    with pytest.raises(InvalidInput, match="6001 characters; at most 6000") as caught:
        tracking.log_params(store, run.id, {"ok": "1", "long": "x" * 6001})
    assert caught.value.field == "params.long"
    with pytest.raises(InvalidInput, match="param key 'a\\*b' is not valid"):
        tracking.log_params(store, run.id, {"ok": "1", "a*b": "2"})
    assert snapshot() == before


def test_metric_series_keep_nan_and_infinities(store: Store, run: tracking.Run) -> None:
    points = [
        Metric("loss", 0.5, step=0),
        Metric("loss", math.nan, step=1),
        Metric("loss", math.inf, step=2),
        Metric("loss", -math.inf, step=3),
        Metric("loss", 1e308, step=4, timestamp_ms=42),
    ]
    tracking.log_metrics(store, run.id, points)
    history = tracking.get_metric_history(store, run.id, "loss")
    values = [point.value for point in history]
    assert values[0] == 0.5
    assert math.isnan(values[1])
    assert values[2:4] == [math.inf, -math.inf]
    assert values[4] == 1e308
    assert [point.step for point in history] == [0, 1, 2, 3, 4]
    assert history[4].timestamp_ms == 42
    assert all(point.timestamp_ms is not None for point in history)


def test_latest_metric_is_the_highest_step_then_latest_time(
    store: Store, run: tracking.Run
) -> None:
    tracking.log_metrics(store, run.id, [Metric("auc", 0.7, 5), Metric("auc", 0.9, 1)])
    assert tracking.get_run(store, run.id).metrics == {"auc": 0.7}
    tracking.log_metrics(store, run.id, [Metric("auc", 0.6, 3)])  # an older step: kept out
    assert tracking.get_run(store, run.id).metrics == {"auc": 0.7}
    tracking.log_metrics(store, run.id, [Metric("auc", 0.8, 5)])  # same step, later
    tracking.log_metrics(store, run.id, [Metric("nan", math.nan)])
    latest = tracking.get_run(store, run.id).metrics
    assert latest["auc"] == 0.8
    assert math.isnan(latest["nan"])


def test_metric_defaults_are_step_zero_and_the_store_clock(store: Store, run: tracking.Run) -> None:
    tracking.log_metrics(store, run.id, [Metric("acc", 1)])
    (point,) = tracking.get_metric_history(store, run.id, "acc")
    assert point.step == 0
    assert point.value == 1.0
    assert point.timestamp_ms is not None
    assert point.timestamp_ms > START_MS


def test_a_large_batch_goes_in_at_once(store: Store, run: tracking.Run) -> None:
    points = [Metric(f"m{i % 7}", float(i), step=i // 7) for i in range(7_000)]
    tracking.log_metrics(store, run.id, points)
    history = tracking.get_metric_history(store, run.id, "m3")
    assert [point.step for point in history] == list(range(1_000))
    assert tracking.get_run(store, run.id).metrics["m3"] == history[-1].value == 6996.0


def test_numeric_strings_and_numpy_numbers_are_metric_values(
    store: Store, run: tracking.Run
) -> None:
    points = [
        Metric("s", "NaN", 0),  # type: ignore[arg-type]
        Metric("s", "-Infinity", 1),  # type: ignore[arg-type]
        Metric("s", np.float32(0.25), np.int64(2)),  # type: ignore[arg-type]
    ]
    tracking.log_metrics(store, run.id, points)
    values = [point.value for point in tracking.get_metric_history(store, run.id, "s")]
    assert math.isnan(values[0])
    assert values[1:] == [-math.inf, 0.25]


BAD_METRICS = [
    ([Metric("ok", 1.0), Metric("x", "high")], "metrics[1].value", "'high' is not a number"),  # type: ignore[arg-type]
    ([Metric("x", True)], "metrics[0].value", "True is not a number"),
    ([Metric("x", 1.0, step=1.5)], "metrics[0].step", "expected an integer"),  # type: ignore[arg-type]
    ([Metric("x", 1.0, step=2**63)], "metrics[0].step", "expected an integer"),
    ([Metric("x", 1.0, timestamp_ms="now")], "metrics[0].timestamp_ms", "expected an integer"),  # type: ignore[arg-type]
    ([Metric("ok", 1.0), Metric("b@d", 1.0)], "metrics[1].key", "metric key 'b@d'"),
]


def test_bad_metrics_are_refused_and_nothing_is_written(
    store: Store, run: tracking.Run, snapshot: Callable[[], object]
) -> None:
    before = snapshot()
    for points, field, message in BAD_METRICS:
        with pytest.raises(InvalidInput, match=message.replace("[", r"\[")) as caught:
            tracking.log_metrics(store, run.id, points)
        assert caught.value.field == field
    with pytest.raises(InvalidInput, match="must be a list of Metric"):
        tracking.log_metrics(store, run.id, Metric("x", 1.0))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"metrics\[0\] is a dict, not a Metric"):
        tracking.log_metrics(store, run.id, [{"key": "x", "value": 1.0}])  # type: ignore[list-item]
    assert snapshot() == before


def test_tags_can_be_set_again(store: Store, run: tracking.Run) -> None:
    tracking.set_tags(store, run.id, {"stage": "dev", "owner": "ada"})
    tracking.set_tags(store, run.id, {"stage": "prod"})
    assert tracking.get_run(store, run.id).tags == {"stage": "prod", "owner": "ada"}


def test_log_batch_writes_all_three_together(store: Store, run: tracking.Run) -> None:
    tracking.log_batch(
        store,
        run.id,
        metrics=[Metric("auc", 0.9, 1)],
        params={"depth": 4},
        tags={"stage": "dev"},
    )
    stored = tracking.get_run(store, run.id)
    assert (stored.metrics, stored.params["depth"], stored.tags) == (
        {"auc": 0.9},
        "4",
        {"stage": "dev"},
    )


def test_log_batch_writes_nothing_when_a_param_conflicts(
    store: Store, run: tracking.Run, snapshot: Callable[[], object]
) -> None:
    before = snapshot()
    with pytest.raises(Conflict, match="param 'C'"):
        tracking.log_batch(
            store, run.id, metrics=[Metric("auc", 0.9)], params={"C": 5}, tags={"t": "x"}
        )
    assert snapshot() == before


def test_nothing_can_be_logged_to_an_ended_run(
    store: Store, run: tracking.Run, snapshot: Callable[[], object]
) -> None:
    tracking.end_run(store, run.id, "KILLED")
    before = snapshot()
    attempts: list[Callable[[], object]] = [
        lambda: tracking.log_params(store, run.id, {"x": 1}),
        lambda: tracking.log_metrics(store, run.id, [Metric("x", 1.0)]),
        lambda: tracking.set_tags(store, run.id, {"x": "1"}),
        lambda: tracking.log_batch(store, run.id, metrics=[Metric("x", 1.0)]),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict, match=f"run {run.id} is KILLED; start a new run to log more"):
            attempt()
    assert snapshot() == before


def test_logging_to_an_unknown_run_is_not_found(store: Store, run: tracking.Run) -> None:
    with pytest.raises(NotFound, match="no run 'ghost'"):
        tracking.log_metrics(store, "ghost", [Metric("x", 1.0)])
    with pytest.raises(NotFound, match="no run 'ghost'"):
        tracking.log_params(store, "ghost", {"x": 1})
    with pytest.raises(NotFound, match="no run 'ghost'"):
        tracking.get_metric_history(store, "ghost", "x")
    assert tracking.get_metric_history(store, run.id, "never-logged") == []
