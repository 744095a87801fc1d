"""Prediction log: the serving processes' write-ahead log, its compaction into Parquet
partitions (`endpoint=/date=`), reading it back with DuckDB, and the labels and outcomes
joined to it later by prediction id."""

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
from steward.predictions.label_batches import labels_from_rows, labels_from_table, validate_labels
from steward.predictions.label_entities import Label, LabelIngestResult, LabelRecord
from steward.predictions.labels import LabelStore
from steward.predictions.reading import VIEW, PredictionStore
from steward.predictions.writer import PredictionLog

__all__ = [
    "ROUTES",
    "VIEW",
    "CompactionResult",
    "Label",
    "LabelIngestResult",
    "LabelRecord",
    "LabelStore",
    "PredictionId",
    "PredictionLog",
    "PredictionRecord",
    "PredictionStore",
    "Route",
    "compact",
    "labels_from_rows",
    "labels_from_table",
    "new_prediction_id",
    "validate_labels",
]
