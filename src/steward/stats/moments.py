"""Mergeable moments of a numeric column: count, mean, sum of squared deviations, min, max.

Two windows merge with Chan et al.'s parallel formula, so a daily profile is the merge of
its hourly ones without the raw values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Moments"]


@dataclass(frozen=True, slots=True)
class Moments:
    """Moments of the non-missing values; `minimum`/`maximum` are None when count is 0."""

    count: int
    mean: float
    m2: float  # sum of squared deviations from the mean
    minimum: float | None
    maximum: float | None

    @property
    def variance(self) -> float:
        """Population variance (ddof=0); 0.0 for fewer than two values."""
        return self.m2 / self.count if self.count > 1 else 0.0

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0)."""
        return math.sqrt(self.variance)

    @classmethod
    def of_sorted(cls, values: npt.NDArray[np.float64], total: float | None = None) -> Moments:
        """Moments of finite values already sorted ascending; `total` is their sum if known."""
        count = int(values.shape[0])
        if count == 0:
            return cls(0, 0.0, 0.0, None, None)
        mean = (float(values.sum()) if total is None else total) / count
        # One pass: sum of squares minus n mean^2. When the mean dwarfs the spread that
        # loses digits, so fall back to summing squared deviations (two passes).
        m2 = float(np.einsum("i,i->", values, values)) - count * mean * mean
        if not m2 > 1e-6 * count * mean * mean:
            deviations = values - mean
            m2 = float(np.einsum("i,i->", deviations, deviations))
        return cls(count, mean, m2, float(values[0]), float(values[-1]))

    @classmethod
    def of_values(cls, values: npt.NDArray[np.float64]) -> Moments:
        """Moments of finite values in any order."""
        if values.shape[0] == 0:
            return cls(0, 0.0, 0.0, None, None)
        moments = cls.of_sorted(values)
        return cls(
            moments.count, moments.mean, moments.m2, float(values.min()), float(values.max())
        )

    def merge(self, other: Moments) -> Moments:
        """Moments of both windows together."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / count
        m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / count
        return Moments(
            count, mean, m2, _pick(min, self, other, "minimum"), _pick(max, self, other, "maximum")
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "count": self.count,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.minimum,
            "max": self.maximum,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Moments:
        """Inverse of `to_dict`; KeyError/TypeError/ValueError on malformed input."""
        return cls(
            int(data["count"]),
            float(data["mean"]),
            float(data["m2"]),
            _optional_float(data["min"]),
            _optional_float(data["max"]),
        )


def _pick(choose: Any, a: Moments, b: Moments, field: str) -> float | None:
    values = [v for v in (getattr(a, field), getattr(b, field)) if v is not None]
    return float(choose(values)) if values else None


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
