"""Multivariate drift: PCA reconstruction error against the reference.

Fitted once on a seeded random sample of reference rows and stored in the profile: each
column is encoded as a number (numeric as is; categorical as the category's reference
share), missing values are imputed with the reference mean, everything is standardised,
and PCA keeps the fewest components that explain `variance` of the variance. A row's
error is the Euclidean distance between it and its reconstruction. The reference error's
moments come from a second, disjoint sample, so the fit never grades its own rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from steward.stats.moments import Moments

__all__ = ["Encoding", "Reconstruction", "row_errors"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Encoding:
    """How a categorical column becomes a number: its category's reference share."""

    categories: tuple[str, ...]
    shares: tuple[float, ...]  # per category, then one more for any other value

    def encode(self, codes: npt.NDArray[np.int64]) -> FloatArray:
        """Codes from `category_codes` (-1 other, -2 missing) to shares, NaN for missing."""
        table = np.asarray((*self.shares, np.nan), dtype=np.float64)  # -2 reads NaN
        return table[codes]


@dataclass(frozen=True, slots=True)
class Reconstruction:
    """A fitted PCA of the reference, small enough to store in the profile."""

    columns: tuple[str, ...]
    encodings: Mapping[str, Encoding]  # categorical columns only
    centers: tuple[float, ...]
    scales: tuple[float, ...]
    components: tuple[tuple[float, ...], ...]  # k x len(columns), orthonormal rows
    variance: float
    reference_error: Moments

    @classmethod
    def fit(
        cls,
        fit_rows: Mapping[str, FloatArray],
        held_out: Mapping[str, FloatArray],
        encodings: Mapping[str, Encoding],
        variance: float,
    ) -> Reconstruction:
        """Fit on `fit_rows` (column -> encoded values), grade on `held_out`."""
        names = tuple(fit_rows)
        centers = np.array([_finite_or(float(np.nanmean(fit_rows[n])), 0.0) for n in names])
        scales = np.array([_finite_or(float(np.nanstd(fit_rows[n])), 1.0) for n in names])
        scales[scales == 0] = 1.0
        standard = _standardise([fit_rows[n] for n in names], centers, scales)
        # Principal axes from the small columns x columns scatter matrix, largest first.
        scatter = np.einsum("ij,ik->jk", standard, standard)  # not BLAS: steady on busy hosts
        del standard
        eigenvalues, eigenvectors = np.linalg.eigh(scatter)
        eigenvalues, axes = np.clip(eigenvalues[::-1], 0, None), eigenvectors[:, ::-1].T
        explained = np.cumsum(eigenvalues) / max(float(eigenvalues.sum()), 1e-300)
        keep = min(int(np.searchsorted(explained, variance) + 1), len(names) - 1)
        components = axes[: max(keep, 1)]
        errors = _errors([held_out[n] for n in names], centers, scales, components)
        return cls(
            names,
            dict(encodings),
            tuple(centers.tolist()),
            tuple(scales.tolist()),
            tuple(tuple(row) for row in components.tolist()),
            variance,
            Moments.of_values(errors),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "columns": list(self.columns),
            "encodings": {
                name: {"categories": list(e.categories), "shares": list(e.shares)}
                for name, e in self.encodings.items()
            },
            "centers": list(self.centers),
            "scales": list(self.scales),
            "components": [list(row) for row in self.components],
            "variance": self.variance,
            "reference_error": self.reference_error.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reconstruction:
        """Inverse of `to_dict`; KeyError/TypeError/ValueError on malformed input."""
        return cls(
            tuple(str(c) for c in data["columns"]),
            {
                str(name): Encoding(
                    tuple(str(c) for c in e["categories"]), tuple(float(s) for s in e["shares"])
                )
                for name, e in data["encodings"].items()
            },
            tuple(float(v) for v in data["centers"]),
            tuple(float(v) for v in data["scales"]),
            tuple(tuple(float(v) for v in row) for row in data["components"]),
            float(data["variance"]),
            Moments.from_dict(data["reference_error"]),
        )


def row_errors(reconstruction: Reconstruction, columns: Sequence[FloatArray]) -> FloatArray:
    """Reconstruction error per row; `columns` are encoded, in fitted order, NaN missing."""
    return _errors(
        columns,
        np.asarray(reconstruction.centers),
        np.asarray(reconstruction.scales),
        np.asarray(reconstruction.components),
    )


def _finite_or(value: float, fallback: float) -> float:
    return float(value) if np.isfinite(value) else fallback


def _standardise(
    columns: Sequence[FloatArray], centers: FloatArray, scales: FloatArray
) -> FloatArray:
    """One rows x columns matrix, filled column by column: no full-size temporaries."""
    standard = np.empty((len(columns[0]), len(columns)), dtype=np.float64)
    for j, values in enumerate(columns):
        np.subtract(values, centers[j], out=standard[:, j])
        standard[:, j] /= scales[j]
    standard[~np.isfinite(standard)] = 0.0  # missing: imputed with the reference mean
    return standard


def _errors(
    columns: Sequence[FloatArray], centers: FloatArray, scales: FloatArray, components: FloatArray
) -> FloatArray:
    standard = _standardise(columns, centers, scales)
    # |z - z V'V|^2 = |z|^2 - |z V'|^2 for orthonormal V: one small product, not two.
    scores = standard @ components.T
    squared = np.einsum("ij,ij->i", standard, standard) - np.einsum("ij,ij->i", scores, scores)
    errors: FloatArray = np.sqrt(np.clip(squared, 0.0, None))
    return errors
