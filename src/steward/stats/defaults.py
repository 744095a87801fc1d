"""Which test a column gets when the caller names none, and why (docs/statistics.md).

Small samples get significance tests, whose false-alarm rate is alpha at any size. Large
samples get effect sizes with fixed thresholds, because there a p-value flags shifts too
small to matter: at 100,000 rows a KS test calls a 0.015-std mean shift significant.
"""

from __future__ import annotations

from steward.stats.chi2 import Chi2
from steward.stats.frames import ColumnKind
from steward.stats.ks import Ks
from steward.stats.l_infinity import LInfinity
from steward.stats.results import DriftTestConfig
from steward.stats.wasserstein import Wasserstein

__all__ = ["LARGE_SAMPLE", "default_test"]

# From this many non-missing values on the smaller side, effect sizes replace p-values.
# There the sampling noise sits well under the thresholds: normalised Wasserstein between
# two samples of one distribution averages ~0.016 std (0.1 flags), and the largest change
# of a category's share ~0.01 (0.05 flags). At 1,000 values Wasserstein's noise averages
# ~0.06 and reaches 0.1, so Evidently's switch point there would raise false alarms.
LARGE_SAMPLE = 10_000


def default_test(kind: ColumnKind, reference_count: int, current_count: int) -> DriftTestConfig:
    """The default test for a column of `kind` with these non-missing counts."""
    large = min(reference_count, current_count) >= LARGE_SAMPLE
    if kind is ColumnKind.NUMERIC:
        return Wasserstein() if large else Ks()
    return LInfinity() if large else Chi2()
