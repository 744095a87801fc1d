"""The gates of a progressive rollout: what a stage measures and when it breaches.

Every number comes from the prediction log of the stage (and the labels that arrived for
it): the challenger's answers against the other versions' answers over the same time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from steward.config import Settings
from steward.errors import InvalidInput
from steward.predictions import LabelStore, PredictionStore, compact
from steward.stats import Psi, drift_report, profile

__all__ = ["GATES", "check_gates", "find_breaches", "measure"]

GATES = ("max_error_rate", "max_p99_ms", "max_prediction_psi", "max_accuracy_drop")
MIN_LABELLED = 30  # labelled answers a side needs before the accuracy gate judges
MIN_ANSWERS = 30  # answers a side needs before the prediction PSI is computed


def measure(
    settings: Settings,
    endpoint: str,
    challenger_version: int,
    gates: Mapping[str, float],
    start_ms: int,
    end_ms: int,
    *,
    shadow: bool = False,
) -> dict[str, Any]:  # Any: JSON values
    """A stage's numbers from the prediction log (and labels) of `[start_ms, end_ms)`:
    challenger samples, error rate, p99 latency per side, and what the gates in `gates` need
    (prediction PSI, realised accuracy). At a `shadow` stage the challenger's answers are
    its shadow copies, and fallbacks (the champion's) do not count."""
    directory = settings.resolved_predictions_dir
    compact(directory)
    table = PredictionStore(directory).read(
        endpoint, start_ms, end_ms, columns=["model_version", "route", "latency_ms"]
    )
    versions = np.asarray(table.column("model_version").to_pylist(), dtype=np.int64)
    routes = np.asarray(table.column("route").to_pylist(), dtype=object)
    latency = np.asarray(table.column("latency_ms").to_pylist(), dtype=np.float64)
    own_route = "shadow" if shadow else "primary"
    challenger = (versions == challenger_version) & (routes == own_route)
    others = (versions != challenger_version) & (routes == "primary")
    fallbacks = 0 if shadow else int((routes == "fallback").sum())
    samples = int(challenger.sum())
    answered = samples + fallbacks
    measured: dict[str, Any] = {
        "samples": samples,
        "champion_samples": int(others.sum()),
        "fallbacks": fallbacks,
        "error_rate": fallbacks / answered if answered else 0.0,
        "p99_ms": _p99(latency[challenger]),
        "champion_p99_ms": _p99(latency[others]),
    }
    with_psi = "max_prediction_psi" in gates
    with_accuracy = "max_accuracy_drop" in gates and not shadow
    if with_psi or with_accuracy:
        answers = _Answers.read(directory, endpoint, challenger_version, start_ms, end_ms, shadow)
        if with_psi:
            measured["prediction_psi"] = answers.prediction_psi()
        if with_accuracy:
            measured |= answers.accuracy()
    return measured


class _Answers:
    """The stage's answers as the label join gives them: each side's `prediction`, `score`
    (a binary classifier's positive-class probability) and latest `label`."""

    def __init__(self, ours: pa.Table, theirs: pa.Table) -> None:
        self.ours, self.theirs = ours, theirs

    @classmethod
    def read(
        cls,
        directory: Path,
        endpoint: str,
        challenger_version: int,
        start_ms: int,
        end_ms: int,
        shadow: bool,
    ) -> _Answers:
        own_route = "shadow" if shadow else "primary"
        table = LabelStore(directory).window(
            endpoint, start_ms, end_ms, features=[], routes=tuple({own_route, "primary"})
        )
        is_ours = pc.and_(
            pc.equal(table.column("model_version"), challenger_version),
            pc.equal(table.column("route"), own_route),
        )
        is_theirs = pc.and_(
            pc.not_equal(table.column("model_version"), challenger_version),
            pc.equal(table.column("route"), "primary"),
        )
        return cls(table.filter(is_ours), table.filter(is_theirs))

    def prediction_psi(self) -> float | None:
        """PSI of the challenger's answers (score, else prediction) against the champion's;
        None below `MIN_ANSWERS` a side."""
        reference, current = _values(self.theirs), _values(self.ours)
        if min(len(reference), len(current)) < MIN_ANSWERS:
            return None
        frame = pd.DataFrame({"prediction": reference})
        report = drift_report(
            profile(frame), pd.DataFrame({"prediction": current}), tests=[Psi()], multivariate=False
        )
        statistic = report.results[0].statistic
        return None if statistic is None else round(float(statistic), 6)

    def accuracy(self) -> dict[str, Any]:  # Any: JSON values
        """Each side's share of correct answers among those labelled so far; None for a side
        with fewer than `MIN_LABELLED`."""
        ours, theirs = _hits(self.ours), _hits(self.theirs)
        accuracy = float(np.mean(ours)) if len(ours) >= MIN_LABELLED else None
        champion = float(np.mean(theirs)) if len(theirs) >= MIN_LABELLED else None
        drop = None
        if accuracy is not None and champion is not None:
            drop = round(champion - accuracy, 6)
        return {
            "labelled": len(ours),
            "champion_labelled": len(theirs),
            "accuracy": accuracy,
            "champion_accuracy": champion,
            "accuracy_drop": drop,
        }


def _values(table: pa.Table) -> list[Any]:  # Any: scores, numbers or class labels
    scores = table.column("score").to_pylist()
    predictions = table.column("prediction").to_pylist()
    values = [s if s is not None else p for s, p in zip(scores, predictions, strict=True)]
    return [v for v in values if v is not None]


def _hits(table: pa.Table) -> list[bool]:
    pairs = zip(
        table.column("prediction").to_pylist(), table.column("label").to_pylist(), strict=True
    )
    return [_same(p, label) for p, label in pairs if p is not None and label is not None]


def _same(predicted: Any, label: Any) -> bool:  # Any: logged values
    """Whether a prediction matches its label, 1 and 1.0 alike."""
    try:
        return float(predicted) == float(label)
    except (TypeError, ValueError):
        return str(predicted) == str(label)


def _p99(values: np.ndarray[Any, Any]) -> float | None:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, 99)) if finite.size else None


def find_breaches(gates: Mapping[str, float], evaluation: Mapping[str, Any]) -> list[str]:
    """Each gate the measured numbers exceed, one sentence with its numbers."""
    breaches = []
    limit = gates.get("max_error_rate")
    if limit is not None and evaluation["error_rate"] > limit:
        breaches.append(f"error rate {evaluation['error_rate']:.4f} > {limit}")
    limit = gates.get("max_p99_ms")
    p99 = evaluation["p99_ms"]
    if limit is not None and p99 is not None and p99 > limit:
        breaches.append(f"p99 latency {p99:.1f} ms > {limit} ms")
    limit = gates.get("max_accuracy_drop")
    drop = evaluation.get("accuracy_drop")
    if limit is not None and drop is not None and drop > limit:
        breaches.append(
            f"accuracy on labelled answers {evaluation['accuracy']:.3f} is {drop:.3f} below "
            f"the champion's {evaluation['champion_accuracy']:.3f} (max drop {limit})"
        )
    limit = gates.get("max_prediction_psi")
    psi = evaluation.get("prediction_psi")
    if limit is not None and psi is not None and psi > limit:
        breaches.append(f"prediction PSI against the champion {psi:.3f} > {limit}")
    return breaches


def check_gates(gates: Mapping[str, float]) -> dict[str, float]:
    """Raises: InvalidInput naming an unknown gate or a value out of range."""
    checked: dict[str, float] = {}
    for key, value in gates.items():
        if key not in GATES:
            raise InvalidInput(
                f"unknown gate {key!r}; accepted: {', '.join(GATES)}", field=f"gates.{key}"
            )
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else -1
        if not number >= 0 or (key == "max_error_rate" and number > 1):
            accepted = {
                "max_error_rate": "a rate in 0-1",
                "max_p99_ms": "milliseconds >= 0",
            }.get(key, "a number >= 0")
            raise InvalidInput(f"gate {key} {value!r} is not {accepted}", field=f"gates.{key}")
        checked[key] = float(number)
    return checked
