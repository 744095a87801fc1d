"""Drift between two versions' training profiles, for the `max_feature_drift` check.

Two training profiles are counted against different bin edges, so the challenger's
histogram is first re-counted on the champion's bins: numeric columns by linear
interpolation of the challenger's empirical CDF, known exactly at its quantile-sketch edges;
categorical columns by category, unseen ones into `other`. The binned drift tests of
`steward.stats` then compare the two as they compare any window with its reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from steward.stats import CategoricalSummary, NumericSummary, Profile, evaluate, resolve_test
from steward.stats.profile import ColumnSummary

__all__ = ["feature_drift"]


def feature_drift(
    champion: Mapping[str, Any], challenger: Mapping[str, Any], test: str, threshold: float
) -> dict[str, float]:
    """Feature -> drift statistic of the challenger's profile against the champion's.

    Only features in both profiles, of the same kind, are compared; a feature without
    enough data on either side is left out.

    Raises:
        InvalidInput: a profile is not a Steward profile, or the test is unknown.
    """
    reference, current = Profile.from_dict(champion), Profile.from_dict(challenger)
    config = resolve_test({"test": test, "threshold": threshold})
    found: dict[str, float] = {}
    for name, summary in reference.columns.items():
        theirs = current.columns.get(name)
        if theirs is None or theirs.kind is not summary.kind:
            continue
        result = evaluate(config, name, summary, _recount(summary, theirs))
        if result.statistic is not None:
            found[name] = float(result.statistic)
    return found


def _recount(reference: ColumnSummary, current: ColumnSummary) -> ColumnSummary:
    if isinstance(reference, NumericSummary) and isinstance(current, NumericSummary):
        return _recount_numeric(reference, current)
    if isinstance(reference, CategoricalSummary) and isinstance(current, CategoricalSummary):
        return _recount_categorical(reference, current)
    return current  # pragma: no cover - kinds are checked by the caller


def _recount_numeric(reference: NumericSummary, current: NumericSummary) -> NumericSummary:
    if current.same_edges(reference):
        return current
    edges, counts, _atoms, _sums = current.sketch.arrays()
    cumulative = np.cumsum(counts)[: edges.shape[0]]  # values <= each sketch edge
    at_edges = np.interp(np.asarray(reference.bin_edges, dtype=np.float64), edges, cumulative)
    total = float(current.sketch.total)
    bounds = np.concatenate(([0.0], at_edges, [total]))
    binned = np.maximum(np.rint(np.diff(bounds)), 0).astype(np.int64)
    return NumericSummary(
        current.missing,
        current.moments,
        reference.bin_edges,
        tuple(int(v) for v in binned),
        reference.sketch,  # the binned tests never read it
    )


def _recount_categorical(
    reference: CategoricalSummary, current: CategoricalSummary
) -> CategoricalSummary:
    theirs = dict(zip(current.categories, current.counts, strict=True))
    counts = tuple(theirs.pop(category, 0) for category in reference.categories)
    return CategoricalSummary(
        current.missing, reference.categories, counts, current.other + sum(theirs.values())
    )
