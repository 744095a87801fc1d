"""Hellinger distance between the two histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from steward.stats.binned import ColumnSummary, shares
from steward.stats.results import DriftTestConfig, Measurement, Rule

__all__ = ["Hellinger", "calculate_hellinger"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hellinger(DriftTestConfig):
    """H = ||sqrt(p) - sqrt(q)||_2 / sqrt(2), in [0, 1]; empty bins need no smoothing."""

    name: ClassVar[str] = "hellinger"
    rule: ClassVar[Rule] = Rule.STATISTIC_AT_LEAST

    threshold: float = 0.1


def calculate_hellinger(
    config: Hellinger, reference: ColumnSummary, current: ColumnSummary
) -> Measurement:
    """Hellinger distance between the reference and current histograms."""
    p, q = shares(reference, current)
    return Measurement(float(np.linalg.norm(np.sqrt(p) - np.sqrt(q)) / np.sqrt(2.0)))
