"""Prediction-log records for one answered request: one record per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steward.predictions import PredictionRecord, Route
from steward.serving.inputs import Row

__all__ = ["DEFAULT_RESPONSE_VERSION", "build_records"]

DEFAULT_RESPONSE_VERSION = 0
"""`model_version` of records answered by the endpoint's default response (versions start at 1)."""


def build_records(
    *,
    endpoint: str,
    model_name: str,
    model_version: int,
    route: Route,
    rows: Sequence[Row],
    prediction_ids: Sequence[str],
    predictions: Sequence[Any],  # Any: JSON values of the model's output
    probabilities: Sequence[Any] | None,
    at_ms: int,
    latency_ms: float,
    entity_keys: Sequence[str | None] | None,
) -> list[PredictionRecord]:
    """One record per row; outputs are `{"prediction": ..., "probabilities": [...]}`."""
    records = []
    for index, row in enumerate(rows):
        outputs: dict[str, Any] = {"prediction": predictions[index]}
        if probabilities is not None:
            outputs["probabilities"] = probabilities[index]
        records.append(
            PredictionRecord(
                prediction_id=prediction_ids[index],
                at_ms=at_ms,
                endpoint=endpoint,
                model_name=model_name,
                model_version=model_version,
                route=route,
                inputs=row if type(row) is dict else dict(row),  # parsed rows are never reused
                outputs=outputs,
                latency_ms=latency_ms,
                entity_key=None if entity_keys is None else entity_keys[index],
            )
        )
    return records
