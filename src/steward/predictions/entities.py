"""The prediction log's entities: one logged prediction, and what a compaction did."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, NewType

__all__ = [
    "ROUTES",
    "CompactionResult",
    "PredictionId",
    "PredictionRecord",
    "Route",
    "new_prediction_id",
]

PredictionId = NewType("PredictionId", str)
Route = Literal["primary", "shadow", "fallback", "batch"]
ROUTES: Final[tuple[Route, ...]] = ("primary", "shadow", "fallback", "batch")


def new_prediction_id(at_ms: int) -> PredictionId:
    """A 32-character hex id that sorts by time: 48 bits of epoch ms, then 80 random bits."""
    return PredictionId(f"{at_ms & 0xFFFF_FFFF_FFFF:012x}{os.urandom(10).hex()}")


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One logged inference: what went in, what came out, which version answered, when.

    Built on the serving hot path, so nothing is validated here: the types are the contract.
    Values in `inputs` and `outputs` are written as JSON (NumPy scalars and arrays included;
    NaN becomes null; anything else JSON cannot hold is written as its `str`).

    Attributes:
        prediction_id: what labels join on later (see `new_prediction_id`).
        at_ms: when the request was answered, epoch milliseconds UTC.
        endpoint: the endpoint that served the request.
        model_name: the registered model that answered.
        model_version: its version number.
        route: `primary`, `shadow` (mirrored, never returned), `fallback`, or `batch`
            (scored from a file by `steward predict`).
        inputs: one row, column name to value.
        outputs: the answer, by convention `{"prediction": ..., "probabilities": [...]}`.
        latency_ms: time spent in the model, milliseconds.
        entity_key: the caller's entity (customer, device...), when known.
        segment: segment keys for per-segment monitoring (`{"country": "FR"}`).
    """

    prediction_id: str
    at_ms: int
    endpoint: str
    model_name: str
    model_version: int
    route: Route
    inputs: dict[str, Any]  # one row of a user's data: any JSON-able scalars
    outputs: Any  # a user's model answer: JSON-able
    latency_ms: float
    entity_key: str | None = None
    segment: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """What one `compact` call moved from write-ahead segments into Parquet.

    Attributes:
        segments: names of the WAL segments compacted and deleted.
        records: rows written to Parquet.
        files: the Parquet files written.
        skipped_bytes: bytes of torn or corrupt frames found at segment ends and dropped.
    """

    segments: tuple[str, ...]
    records: int
    files: tuple[Path, ...]
    skipped_bytes: int = 0
