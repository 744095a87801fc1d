"""Serving: online inference for endpoints and batch scoring of files.

Names load on first use, so `steward serve` pays only for the modules it needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steward.serving.app import ServingApp, create_serving_app
    from steward.serving.background import serve_in_background
    from steward.serving.batch import (
        BATCH_CONTRACT_MODES,
        BatchContractMode,
        BatchProgress,
        BatchResult,
        prediction_logger,
        rejected_path_for,
        score_file,
    )
    from steward.serving.cache import ServingCache
    from steward.serving.sources import EndpointSource, ModelSource

_HOMES = {
    "ServingApp": "app",
    "create_serving_app": "app",
    "serve_in_background": "background",
    "BATCH_CONTRACT_MODES": "batch",
    "BatchContractMode": "batch",
    "BatchProgress": "batch",
    "BatchResult": "batch",
    "prediction_logger": "batch",
    "rejected_path_for": "batch",
    "score_file": "batch",
    "ServingCache": "cache",
    "EndpointSource": "sources",
    "ModelSource": "sources",
}

__all__ = [
    "BATCH_CONTRACT_MODES",
    "BatchContractMode",
    "BatchProgress",
    "BatchResult",
    "EndpointSource",
    "ModelSource",
    "ServingApp",
    "ServingCache",
    "create_serving_app",
    "prediction_logger",
    "rejected_path_for",
    "score_file",
    "serve_in_background",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"steward.serving.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'steward.serving' has no attribute {name!r}")
