"""Statistics: mergeable profiles, drift tests by name, drift reports (docs/statistics.md)."""

from steward.stats.categorical import CategoricalSummary
from steward.stats.chi2 import Chi2
from steward.stats.defaults import default_test
from steward.stats.frames import ColumnKind
from steward.stats.hellinger import Hellinger
from steward.stats.jensen_shannon import JensenShannon
from steward.stats.ks import Ks, ks_bounds
from steward.stats.l_infinity import LInfinity
from steward.stats.merge import merge
from steward.stats.moments import Moments
from steward.stats.multivariate import PcaReconstruction
from steward.stats.numeric import NumericSummary
from steward.stats.profile import ColumnSummary, Profile, profile
from steward.stats.psi import Psi
from steward.stats.reconstruction import Reconstruction
from steward.stats.registry import (
    DRIFT_TESTS,
    DriftCalculation,
    RegisteredTest,
    TestSpec,
    evaluate,
    register_drift_test,
    resolve_test,
)
from steward.stats.report import DriftReport, Tests, drift_report
from steward.stats.results import DriftResult, DriftStatus, DriftTestConfig, Measurement, Rule
from steward.stats.sketch import QuantileSketch
from steward.stats.wasserstein import Wasserstein, wasserstein_bounds

__all__ = [
    "DRIFT_TESTS",
    "CategoricalSummary",
    "Chi2",
    "ColumnKind",
    "ColumnSummary",
    "DriftCalculation",
    "DriftReport",
    "DriftResult",
    "DriftStatus",
    "DriftTestConfig",
    "Hellinger",
    "JensenShannon",
    "Ks",
    "LInfinity",
    "Measurement",
    "Moments",
    "NumericSummary",
    "PcaReconstruction",
    "Profile",
    "Psi",
    "QuantileSketch",
    "Reconstruction",
    "RegisteredTest",
    "Rule",
    "TestSpec",
    "Tests",
    "Wasserstein",
    "default_test",
    "drift_report",
    "evaluate",
    "ks_bounds",
    "merge",
    "profile",
    "register_drift_test",
    "resolve_test",
    "wasserstein_bounds",
]
