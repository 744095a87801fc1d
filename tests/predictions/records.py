"""Prediction records for tests: deterministic, one per integer, like serving's."""

from __future__ import annotations

from steward.predictions import PredictionRecord

DAY_MS = 86_400_000
# 2024-03-10T00:00:00Z: a round day, so tests can place records on chosen dates.
BASE_MS = 1_710_028_800_000


def make_record(
    i: int, *, endpoint: str = "churn", at_ms: int | None = None, version: int = 3
) -> PredictionRecord:
    """Record number `i`: its id is `p<i>`, its inputs and answer derive from `i`."""
    return PredictionRecord(
        prediction_id=f"p{i:08d}",
        at_ms=BASE_MS + i if at_ms is None else at_ms,
        endpoint=endpoint,
        model_name="churn",
        model_version=version,
        route="shadow" if i % 10 == 0 else "primary",
        inputs={"age": 20 + i % 50, "income": i * 1.5, "country": ["FR", "DE"][i % 2]},
        outputs={"prediction": i % 2, "probabilities": [0.25, 0.75]},
        latency_ms=0.5 + i % 3,
        entity_key=f"customer-{i}" if i % 3 == 0 else None,
        segment={"tier": "gold"} if i % 4 == 0 else None,
    )
