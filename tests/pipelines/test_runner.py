"""run_pipeline: order, lineage, caching, retries, failures and resuming."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from steward import registry, tracking
from steward.config import Settings
from steward.errors import InvalidInput
from steward.pipelines import InlineExecutor, LocalExecutor, StepFailed, run_pipeline
from steward.store import Store, open_store
from tests.pipelines import example


def test_steps_run_in_order_and_register_a_version_with_lineage(
    store: Store, settings: Settings, pool: LocalExecutor
) -> None:
    run = run_pipeline(
        example.churn, params={"rows": 300, "C": 0.5}, store=store, settings=settings, executor=pool
    )

    assert [s.name for s in run.steps] == ["load", "prepare", "train"]
    assert run.ran_steps == ["load", "prepare", "train"]
    version = run.model_version
    assert version is not None
    assert (version.model_name, version.version, version.run_id) == ("churn", 1, run.run_id)
    assert version.flavor == "sklearn"
    assert [c["name"] for c in version.input_schema] == ["x1", "x2", "x3", "x1x2"]
    recorded = tracking.get_run(store, run.run_id)
    assert recorded.status == tracking.FINISHED
    assert recorded.params == {"rows": "300", "C": "0.5"}
    assert recorded.tags["steward.pipeline"] == "churn"
    assert recorded.tags["steward.model_version"] == "churn/1"
    assert recorded.tags["steward.step.train"].startswith("ran in")
    assert 0.7 < recorded.metrics["accuracy"] <= 1.0
    inputs = {i.name: i.digest for i in recorded.inputs}
    assert set(inputs) == {"churn/load", "churn/prepare"}
    assert set(version.dataset_digests) == set(inputs.values()) == set(run.dataset_digests)
    model = registry.load_version(store, "churn", 1)
    rows = pd.DataFrame({"x1": [1.0, -1.0], "x2": [0.5, 0.0], "x3": [0.0, 0.0], "x1x2": [0.5, 0.0]})
    assert model.predict(rows).shape == (2,)


def test_unchanged_steps_are_cached_and_changed_ones_rerun(
    store: Store, settings: Settings, pool: LocalExecutor
) -> None:
    params = {"rows": 300, "C": 1.0}
    first = run_pipeline(
        example.churn, params=params, store=store, settings=settings, executor=pool
    )
    again = run_pipeline(
        example.churn, params=params, store=store, settings=settings, executor=pool
    )
    assert again.cached_steps == ["load", "prepare", "train"]
    assert [s.attempts for s in again.steps] == [0, 0, 0]
    assert again.model_version == first.model_version  # same model: no new version
    assert again.run_id != first.run_id
    assert tracking.get_run(store, again.run_id).tags["steward.step.load"] == "cached"

    tuned = run_pipeline(
        example.churn, params={**params, "C": 0.01}, store=store, settings=settings, executor=pool
    )
    assert tuned.cached_steps == ["load", "prepare"]
    assert tuned.ran_steps == ["train"]
    assert tuned.model_version is not None
    assert tuned.model_version.version == 2

    more_rows = run_pipeline(
        example.churn, params={**params, "rows": 301}, store=store, settings=settings, executor=pool
    )
    assert more_rows.ran_steps == ["load", "prepare", "train"]


def test_a_retryable_step_that_fails_twice_then_succeeds(
    store: Store, settings: Settings, pool: LocalExecutor, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    run = run_pipeline(
        example.retrying,
        params={"rows": 100, "counter_path": str(counter)},
        store=store,
        settings=settings,
        executor=pool,
    )
    assert run.step("flaky").attempts == 3
    assert counter.read_text() == "3"
    assert run.model_version is None
    assert tracking.get_run(store, run.run_id).status == tracking.FINISHED


def test_retries_exhausted_names_the_step(store: Store, settings: Settings, tmp_path: Path) -> None:
    params = {"rows": 100, "counter_path": str(tmp_path / "n"), "failures": 5}
    with pytest.raises(StepFailed, match=r"step 'flaky' .* after 3 attempt\(s\): ConnectionError"):
        run_pipeline(
            example.retrying,
            params=params,
            store=store,
            settings=settings,
            executor=InlineExecutor(),
        )


def test_a_failing_step_names_itself_and_a_rerun_resumes_from_the_cache(
    store: Store, settings: Settings, pool: LocalExecutor, tmp_path: Path
) -> None:
    marker = tmp_path / "broken"
    marker.touch()
    params = {"rows": 200, "fail_marker": str(marker)}
    with pytest.raises(StepFailed) as failure:
        run_pipeline(
            example.resumable, params=params, store=store, settings=settings, executor=pool
        )
    error = failure.value
    assert error.step == "fragile"
    assert error.attempts == 1
    assert "step 'fragile' of pipeline 'resumable'" in error.message
    assert "ValueError: refusing to continue" in error.message
    failed = tracking.get_run(store, error.run_id)
    assert failed.status == tracking.FAILED
    assert failed.tags["steward.step.fragile"] == "failed after 1 attempt(s)"
    assert failed.tags["steward.step.prepare"].startswith("ran in")

    marker.unlink()
    resumed = run_pipeline(
        example.resumable, params=params, store=store, settings=settings, executor=pool
    )
    assert resumed.cached_steps == ["load", "prepare"]
    assert resumed.ran_steps == ["fragile", "fit_fragile"]
    assert resumed.model_version is not None
    assert resumed.model_version.run_id == resumed.run_id


def test_a_step_that_registers_itself_is_the_version_out(settings: Settings) -> None:
    store = open_store(settings)
    try:
        run = run_pipeline(
            example.self_registering,
            params={"rows": 120},
            store=store,
            settings=settings,
            executor=InlineExecutor(),
        )
        assert run.model_version is not None
        assert run.model_version.model_name == "self-registered"
        assert run.model_version.run_id == run.run_id
        assert registry.get_model(store, "self-registered").latest_version == 1
    finally:
        store.close()


def test_missing_params_are_refused_before_any_run(store: Store, settings: Settings) -> None:
    with pytest.raises(InvalidInput, match=r"step 'load' of pipeline 'churn' needs 'rows'"):
        run_pipeline(example.churn, params={}, store=store, settings=settings)
    assert [e.name for e in tracking.list_experiments(store)] == []
