"""Prediction log: the serving processes' write-ahead log, its compaction into Parquet
partitions (`endpoint=/date=`), and reading it back with DuckDB."""

from __future__ import annotations

from steward.predictions.compaction import compact
from steward.predictions.entities import (
    ROUTES,
    CompactionResult,
    PredictionId,
    PredictionRecord,
    Route,
    new_prediction_id,
)
from steward.predictions.reading import VIEW, PredictionStore
from steward.predictions.writer import PredictionLog

__all__ = [
    "ROUTES",
    "VIEW",
    "CompactionResult",
    "PredictionId",
    "PredictionLog",
    "PredictionRecord",
    "PredictionStore",
    "Route",
    "compact",
    "new_prediction_id",
]
