"""Multivariate drift: the window's mean PCA reconstruction error against the reference's.

A shift in how columns move together (or in any column) changes how well the reference's
principal components reconstruct a row. The statistic is the relative change of the mean
error; the p-value is a two-sided z-test on the difference of means, counting both the
reference's held-out sample and the window as samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from steward.stats.frames import Column, category_codes
from steward.stats.moments import Moments
from steward.stats.pca_fit import sample_rows
from steward.stats.reconstruction import Reconstruction, row_errors
from steward.stats.results import DriftResult, DriftStatus, DriftTestConfig, Rule

__all__ = ["PcaReconstruction", "multivariate_drift", "window_error"]

BLOCK_ROWS = 16_384  # rows scored at a time: bounded memory at any frame size
# A window's mean error is estimated from at most this many rows (a seeded sample), as
# many as the reference's held-out rows: more would barely shrink the difference's noise.
SCORED_ROWS = 20_000
SEED = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PcaReconstruction(DriftTestConfig):
    """Drift when the mean error moves by `threshold` (relative) and p < `alpha`.

    Both conditions: the relative change keeps huge windows from flagging trivia, the
    p-value keeps small windows from flagging noise.
    """

    name: ClassVar[str] = "pca_reconstruction"
    rule: ClassVar[Rule] = Rule.STATISTIC_AT_LEAST

    threshold: float = 0.01
    alpha: float = 0.01
    min_count: int = 100


def window_error(
    reconstruction: Reconstruction, columns: Mapping[str, Column], rows: int
) -> Moments:
    """Moments of the per-row reconstruction error over (a sample of) a window's rows."""
    picked: npt.NDArray[np.int64] | None = None
    if rows > SCORED_ROWS:
        picked = sample_rows(rows, SCORED_ROWS, SEED)
    scored = rows if picked is None else len(picked)
    moments = Moments(0, 0.0, 0.0, None, None)
    for start in range(0, scored, BLOCK_ROWS):
        block: slice | npt.NDArray[np.int64] = slice(start, min(start + BLOCK_ROWS, scored))
        if picked is not None:
            block = picked[block]
        encoded = [_encoded(reconstruction, columns[n], block) for n in reconstruction.columns]
        moments = moments.merge(Moments.of_values(row_errors(reconstruction, encoded)))
    return moments


def multivariate_drift(
    config: PcaReconstruction, reference: Moments, current: Moments
) -> DriftResult:
    """Judge the window's error moments against the reference's."""
    if reference.count < config.min_count or current.count < config.min_count:
        return DriftResult(
            config.name, "*", None, None, config.threshold, False, DriftStatus.NOT_ENOUGH_DATA
        )
    change = (current.mean - reference.mean) / reference.mean if reference.mean > 0 else 0.0
    spread = math.sqrt(reference.variance / reference.count + current.variance / current.count)
    z = abs(current.mean - reference.mean) / spread if spread > 0 else 0.0
    p_value = math.erfc(z / math.sqrt(2.0))  # two-sided normal tail
    drifted = abs(change) >= config.threshold and p_value < config.alpha
    status = DriftStatus.DRIFTED if drifted else DriftStatus.OK
    return DriftResult(config.name, "*", change, p_value, config.threshold, drifted, status)


def _encoded(
    reconstruction: Reconstruction, column: Column, block: slice | npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    encoding = reconstruction.encodings.get(column.name)
    if encoding is None:
        if not isinstance(column.data, np.ndarray):
            raise AssertionError("unreachable: the profile checked kinds")  # pragma: no cover
        return column.data[block]
    return encoding.encode(category_codes(column, encoding.categories, block))
