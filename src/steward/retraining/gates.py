"""The gates of a progressive rollout: what a stage measures and when it breaches.

Every number comes from the prediction log of the stage (and the labels that arrived for
it): the challenger's answers against the other versions' answers over the same time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd

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
    columns = ["model_version", "route", "latency_ms"]
    with_psi = "max_prediction_psi" in gates
    table = PredictionStore(directory).read(
        endpoint, start_ms, end_ms, columns=[*columns, "outputs"] if with_psi else columns
    )
    versions = np.asarray(table.column("model_version").to_pylist(), dtype=np.int64)
    routes = np.asarray(table.column("route").to_pylist(), dtype=object)
    latency = np.asarray(table.column("latency_ms").to_pylist(), dtype=np.float64)
    own_route = "shadow" if shadow else "primary"
    challenger = (versions == challenger_version) & (routes == own_route)
    others = (versions != challenger_version) & (routes == "primary")
    fallbacks = 0 if own_route == "shadow" else int((routes == "fallback").sum())
    samples = int(challenger.sum())
    answered = samples + fallbacks
    measured = {
        "samples": samples,
        "champion_samples": int(others.sum()),
        "fallbacks": fallbacks,
        "error_rate": fallbacks / answered if answered else 0.0,
        "p99_ms": _p99(latency[challenger]),
        "champion_p99_ms": _p99(latency[others]),
    }
    if with_psi:
        outputs = np.asarray(table.column("outputs").to_pylist(), dtype=object)
        measured["prediction_psi"] = _prediction_psi(outputs[others], outputs[challenger])
    if "max_accuracy_drop" in gates and not shadow:
        measured |= _realised(settings, endpoint, challenger_version, start_ms, end_ms)
    return measured


def _realised(
    settings: Settings, endpoint: str, challenger_version: int, start_ms: int, end_ms: int
) -> dict[str, Any]:  # Any: JSON values
    """Accuracy of the challenger's and the champion's labelled answers in the stage (labels
    that arrived so far); None for a side with fewer than `MIN_LABELLED`."""
    table = LabelStore(settings.resolved_predictions_dir).window(
        endpoint, start_ms, end_ms, features=[], routes=("primary",)
    )
    versions = np.asarray(table.column("model_version").to_pylist(), dtype=np.int64)
    predictions = table.column("prediction").to_pylist()
    labels = table.column("label").to_pylist()
    ours: list[bool] = []
    theirs: list[bool] = []
    for version, predicted, label in zip(versions, predictions, labels, strict=True):
        if label is not None and predicted is not None:
            side = ours if version == challenger_version else theirs
            side.append(_same(predicted, label))
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


def _same(predicted: Any, label: Any) -> bool:  # Any: logged values
    """Whether a prediction matches its label, 1 and 1.0 alike."""
    try:
        return float(predicted) == float(label)
    except (TypeError, ValueError):
        return str(predicted) == str(label)


def _prediction_psi(
    champion: np.ndarray[Any, Any], challenger: np.ndarray[Any, Any]
) -> float | None:
    """PSI of the challenger's predictions (positive-class probability when there are two
    classes, else the prediction) against the champion's; None below 30 answers a side."""
    if min(len(champion), len(challenger)) < MIN_ANSWERS:
        return None
    reference = pd.DataFrame({"prediction": [_answer(text) for text in champion]})
    current = pd.DataFrame({"prediction": [_answer(text) for text in challenger]})
    if reference["prediction"].isna().all() or current["prediction"].isna().all():
        return None
    report = drift_report(profile(reference), current, tests=[Psi()], multivariate=False)
    statistic = report.results[0].statistic
    return None if statistic is None else round(float(statistic), 6)


def _answer(text: str | None) -> Any:  # Any: one prediction value
    """One logged answer's value: the positive-class probability of a binary classifier,
    else its prediction (a number or a label)."""
    if not text:
        return None
    answer = orjson.loads(text)
    if not isinstance(answer, dict):
        return answer
    probabilities = answer.get("probabilities")
    if isinstance(probabilities, list) and len(probabilities) == 2:
        return probabilities[1]
    return answer.get("prediction")


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
