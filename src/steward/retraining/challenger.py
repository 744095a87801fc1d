"""Champion and challenger: score both on the same fresh holdout, and retrain end to end.

`evaluate_challenger` loads `models:/<model>@champion` and the challenger version, scores
both on one holdout frame and returns the metrics shaped for
`registry.promote(..., evaluation=comparison.as_evaluation())`, so the promotion policy
compares like with like instead of each run's own training metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from steward import registry
from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.flavors import LoadedModel
from steward.pipelines import Executor, PipelineRun, load_pipeline, run_pipeline
from steward.registry import ModelVersion, PromotionDecision
from steward.retraining.triggers import Decision, TriggerConfig, should_retrain
from steward.store import Store

__all__ = [
    "METRICS",
    "Comparison",
    "RetrainResult",
    "evaluate_challenger",
    "retrain",
    "train_challenger",
]

log = logging.getLogger(__name__)

CHAMPION = "champion"


def _labels(model: LoadedModel, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    return np.asarray(model.predict(frame))


def _scores(model: LoadedModel, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    proba = model.predict_proba(frame)
    return proba[:, 1] if proba.shape[1] == 2 else proba


# name -> (needs probabilities, metric(y_true, output))
METRICS: dict[str, tuple[bool, Callable[[Any, Any], float]]] = {
    "roc_auc": (True, lambda y, s: float(skm.roc_auc_score(y, s, multi_class="ovr"))),
    "log_loss": (True, lambda y, s: float(skm.log_loss(y, s))),
    "accuracy": (False, lambda y, p: float(skm.accuracy_score(y, p))),
    "f1": (False, lambda y, p: float(skm.f1_score(y, p, average="binary"))),
    "precision": (False, lambda y, p: float(skm.precision_score(y, p, zero_division=0))),
    "recall": (False, lambda y, p: float(skm.recall_score(y, p, zero_division=0))),
    "rmse": (False, lambda y, p: float(np.sqrt(skm.mean_squared_error(y, p)))),
    "mae": (False, lambda y, p: float(skm.mean_absolute_error(y, p))),
    "r2": (False, lambda y, p: float(skm.r2_score(y, p))),
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both versions' metrics on the same holdout rows.

    Attributes:
        champion_version: None when the model had no champion yet (its metrics are empty).
    """

    model: str
    challenger_version: int
    champion_version: int | None
    challenger: dict[str, float]
    champion: dict[str, float]
    rows: int

    def as_evaluation(self) -> dict[str, dict[str, float]]:
        """`{"challenger": {...}, "champion": {...}}` for `registry.promote(evaluation=)`."""
        evaluation = {"challenger": dict(self.challenger)}
        if self.champion_version is not None:
            evaluation["champion"] = dict(self.champion)
        return evaluation

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "challenger_version": self.challenger_version,
            "champion_version": self.champion_version,
            "challenger": self.challenger,
            "champion": self.champion,
            "rows": self.rows,
        }


@dataclass(frozen=True, slots=True)
class RetrainResult:
    """What `retrain` did: the decision, and when it retrained, the run, new version and
    comparison (and the promotion, when asked)."""

    decision: Decision
    run: PipelineRun | None = None
    version: ModelVersion | None = None
    comparison: Comparison | None = None
    promotion: PromotionDecision | None = None


def evaluate_challenger(
    store: Store,
    model: str,
    challenger_version: int,
    holdout_frame: pd.DataFrame,
    label_column: str,
    *,
    metrics: Sequence[str] = ("roc_auc", "accuracy"),
) -> Comparison:
    """Score the champion and `challenger_version` of `model` on the same holdout.

    Args:
        holdout_frame: fresh rows neither version trained on; every column except
            `label_column` is offered to the models (each picks its training columns).
        metrics: names from `METRICS`; probability metrics need `predict_proba`.

    Raises:
        InvalidInput: an unknown metric, an empty holdout, a missing label column, or a
            model that cannot score the frame.
        NotFound: no such model or challenger version.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise InvalidInput(
            f"unknown metric(s) {unknown or list(metrics)}; use {', '.join(METRICS)}",
            field="metrics",
        )
    if label_column not in holdout_frame.columns:
        raise InvalidInput(
            f"label column {label_column!r} is not in the holdout; columns: "
            + ", ".join(map(str, holdout_frame.columns)),
            field="label_column",
        )
    if holdout_frame.empty:
        raise InvalidInput("the holdout frame has no rows", field="holdout_frame")
    features = holdout_frame.drop(columns=[label_column])
    truth = holdout_frame[label_column].to_numpy()
    challenger = registry.load_version(store, model, challenger_version)
    try:
        champion_record = registry.resolve(store, f"models:/{model}@{CHAMPION}")
    except NotFound:
        champion_record = None
    champion_scores: dict[str, float] = {}
    if champion_record is not None:
        champion = registry.load_version(store, model, champion_record.version)
        champion_scores = _score(champion, features, truth, metrics)
    comparison = Comparison(
        model=model,
        challenger_version=challenger_version,
        champion_version=None if champion_record is None else champion_record.version,
        challenger=_score(challenger, features, truth, metrics),
        champion=champion_scores,
        rows=len(holdout_frame),
    )
    log.info(
        "challenger evaluated model=%s challenger=%d champion=%s rows=%d",
        model,
        challenger_version,
        comparison.champion_version,
        comparison.rows,
    )
    return comparison


def _score(
    model: LoadedModel, features: pd.DataFrame, truth: Any, names: Sequence[str]
) -> dict[str, float]:
    result: dict[str, float] = {}
    for name in names:
        needs_proba, metric = METRICS[name]
        output = _scores(model, features) if needs_proba else _labels(model, features)
        try:
            result[name] = metric(truth, output)
        except ValueError as exc:
            raise InvalidInput(f"cannot compute {name} on the holdout: {exc}") from exc
    return result


def retrain(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    *,
    reason: str,
    holdout: pd.DataFrame,
    label_column: str,
    metrics: Sequence[str] = ("roc_auc", "accuracy"),
    monitor: str | None = None,
    window_start_ms: int | None = None,
    now_ms: int | None = None,
    executor: Executor | None = None,
    promote_to: str | None = None,
) -> RetrainResult:
    """Decide (`should_retrain`), run the pipeline to register a challenger, and compare it
    with the champion on `holdout`.

    Promotion stays the caller's call: pass the comparison's `as_evaluation()` to
    `registry.promote`, or give `promote_to` (an environment) to do it here; a policy
    refusal then raises `PolicyViolation` after the challenger is registered.

    Raises:
        InvalidInput: a bad reason or holdout, or a pipeline that registers another model.
        NotFound: the pipeline, monitor or window does not exist.
        StepFailed: a pipeline step failed.
        PolicyViolation: `promote_to` given and the policy refused.
    """
    decision = should_retrain(
        store,
        settings,
        config,
        reason=reason,
        monitor=monitor,
        window_start_ms=window_start_ms,
        now_ms=now_ms,
    )
    if not decision.retrain:
        return RetrainResult(decision)
    run, comparison = train_challenger(
        store, settings, config, holdout, label_column, metrics=metrics, executor=executor
    )
    version = run.model_version
    promotion = None
    if promote_to is not None:
        promotion = registry.promote(
            store,
            config.model,
            comparison.challenger_version,
            to=promote_to,
            actor=settings.actor,
            evaluation=comparison.as_evaluation(),
        )
    return RetrainResult(decision, run, version, comparison, promotion)


def train_challenger(
    store: Store,
    settings: Settings,
    config: TriggerConfig,
    holdout: pd.DataFrame,
    label_column: str,
    *,
    metrics: Sequence[str] = ("roc_auc", "accuracy"),
    executor: Executor | None = None,
) -> tuple[PipelineRun, Comparison]:
    """Run the config's pipeline (registering the challenger) and compare it with the
    champion on `holdout`, whatever the triggers say.

    Raises:
        InvalidInput: a bad holdout, or a pipeline that registers another model or none.
        NotFound: the pipeline cannot be imported.
        StepFailed: a pipeline step failed.
    """
    pipeline = load_pipeline(config.pipeline)
    registers = pipeline.model_name
    if config.tenant is not None:
        registers = f"{registers}-{config.tenant}"
    if registers != config.model:
        raise InvalidInput(
            f"pipeline {config.pipeline!r} registers model {registers!r}, not "
            f"{config.model!r}; fix `model`, `pipeline` or `tenant` in the trigger config",
            field="pipeline",
        )
    run = run_pipeline(
        pipeline,
        params=config.params,
        store=store,
        settings=settings,
        executor=executor,
        tenant=config.tenant,
    )
    if run.model_version is None:
        raise InvalidInput(f"pipeline {config.pipeline!r} registered no model version")
    comparison = evaluate_challenger(
        store, config.model, run.model_version.version, holdout, label_column, metrics=metrics
    )
    return run, comparison
