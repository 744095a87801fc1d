"""Fitting the PCA baseline while a reference is profiled: which rows, how they are encoded."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from steward.stats.categorical import CategoricalSummary
from steward.stats.frames import Column, category_codes
from steward.stats.numeric import NumericSummary
from steward.stats.reconstruction import Encoding, Reconstruction

__all__ = ["encoded_sample", "fit_pca", "pca_rows", "sample_rows"]

SAMPLE_ROWS = 20_000  # reference rows fitting the PCA, and as many again grading it
MIN_SAMPLE_ROWS = 50  # fewer rows than this: no multivariate baseline
VARIANCE = 0.65  # share of the variance the PCA keeps (NannyML's default)
SEED = 0
FloatArray = npt.NDArray[np.float64]


def sample_rows(rows: int, size: int, seed: int) -> npt.NDArray[np.int64]:
    """About `size` distinct row positions, sorted, drawn uniformly with a fixed seed.

    Drawn with replacement and deduplicated, so memory stays O(size) however many rows
    there are; the few duplicates dropped (size^2 / 2rows expected) change nothing.
    """
    drawn = np.sort(np.random.default_rng(seed).integers(0, rows, size=size, dtype=np.int64))
    return drawn[np.concatenate(([True], drawn[1:] != drawn[:-1]))]


def pca_rows(rows: int) -> npt.NDArray[np.int64] | None:
    """Rows for the PCA: even positions fit it, odd ones grade it (all rows when few)."""
    if rows < MIN_SAMPLE_ROWS:
        return None
    if rows <= 2 * SAMPLE_ROWS:
        return np.arange(rows, dtype=np.int64)
    return sample_rows(rows, 2 * SAMPLE_ROWS, SEED)


def encoded_sample(
    column: Column,
    summary: NumericSummary | CategoricalSummary,
    sample: npt.NDArray[np.int64],
) -> tuple[FloatArray, Encoding | None]:
    """The sampled rows as numbers; categorical columns also return their encoding."""
    if isinstance(summary, NumericSummary) and isinstance(column.data, np.ndarray):
        return np.asarray(column.data[sample], dtype=np.float64), None
    if not isinstance(summary, CategoricalSummary):
        raise AssertionError("unreachable: summaries follow the column kind")  # pragma: no cover
    total = max(summary.count, 1)
    encoding = Encoding(
        summary.categories, tuple(c / total for c in (*summary.counts, summary.other))
    )
    return encoding.encode(category_codes(column, summary.categories, sample)), encoding


def fit_pca(
    samples: Mapping[str, FloatArray], encodings: Mapping[str, Encoding]
) -> Reconstruction | None:
    """The fitted baseline, or None with fewer than two columns to relate."""
    if len(samples) < 2:
        return None
    fit_rows = {name: values[0::2] for name, values in samples.items()}
    held_out = {name: values[1::2] for name, values in samples.items()}
    return Reconstruction.fit(fit_rows, held_out, encodings, VARIANCE)
