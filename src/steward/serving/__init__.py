"""Serving: online inference for endpoints and batch scoring of files."""

from steward.serving.batch import (
    BATCH_CONTRACT_MODES,
    BatchContractMode,
    BatchProgress,
    BatchResult,
    rejected_path_for,
    score_file,
)

__all__ = [
    "BATCH_CONTRACT_MODES",
    "BatchContractMode",
    "BatchProgress",
    "BatchResult",
    "rejected_path_for",
    "score_file",
]
