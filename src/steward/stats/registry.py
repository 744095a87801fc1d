"""The one registry of drift tests, by name; the built-ins register the way a plugin does.

A third party adds a test with `register_drift_test(MyConfig, my_calculation, kinds)`,
where `MyConfig` subclasses `DriftTestConfig` (setting `name` and `rule`) and the
calculation maps (config, reference summary, current summary) to a `Measurement`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from steward.errors import Conflict, InvalidInput
from steward.stats.chi2 import Chi2, calculate_chi2
from steward.stats.frames import ColumnKind
from steward.stats.hellinger import Hellinger, calculate_hellinger
from steward.stats.jensen_shannon import JensenShannon, calculate_jensen_shannon
from steward.stats.ks import Ks, calculate_ks
from steward.stats.l_infinity import LInfinity, calculate_l_infinity
from steward.stats.profile import ColumnSummary
from steward.stats.psi import Psi, calculate_psi
from steward.stats.results import DriftResult, DriftTestConfig, Measurement, judge
from steward.stats.wasserstein import Wasserstein, calculate_wasserstein

__all__ = [
    "DRIFT_TESTS",
    "DriftCalculation",
    "RegisteredTest",
    "TestSpec",
    "applies_to",
    "evaluate",
    "register_drift_test",
    "resolve_test",
]

TestSpec = str | DriftTestConfig | Mapping[str, Any]  # a name, a config, or its stored form


class DriftCalculation(Protocol):
    """A test's calculation; the summaries are of the kinds the test was registered for."""

    def __call__(self, config: Any, reference: Any, current: Any, /) -> Measurement: ...


@dataclass(frozen=True, slots=True)
class RegisteredTest:
    """A test's config type, its calculation and the column kinds it applies to."""

    config: type[DriftTestConfig]
    calculate: DriftCalculation
    kinds: frozenset[ColumnKind]


BOTH = frozenset(ColumnKind)
DRIFT_TESTS: dict[str, RegisteredTest] = {}


def register_drift_test(
    config: type[DriftTestConfig],
    calculate: DriftCalculation,
    kinds: frozenset[ColumnKind] = BOTH,
    *,
    replace: bool = False,
) -> None:
    """Register a test under `config.name`.

    Raises:
        InvalidInput: the config class has no name.
        Conflict: the name is taken and `replace` is false.
    """
    if not config.name:
        raise InvalidInput(f"drift test config {config.__name__} sets no `name`")
    if config.name in DRIFT_TESTS and not replace:
        raise Conflict(
            f"drift test {config.name!r} is already registered; pass replace=True to override"
        )
    DRIFT_TESTS[config.name] = RegisteredTest(config, calculate, frozenset(kinds))


def resolve_test(spec: TestSpec) -> DriftTestConfig:
    """A config from a test name (its defaults), a config, or a stored dict.

    Raises:
        InvalidInput: the name is not registered or a stored field is not accepted.
    """
    if isinstance(spec, DriftTestConfig):
        return spec
    params = {"test": spec} if isinstance(spec, str) else dict(spec)
    entry = _registered(str(params.pop("test", "")))
    try:
        return entry.config(**params)
    except TypeError as error:
        raise InvalidInput(f"drift test {entry.config.name!r} config: {error}") from None


def applies_to(config: DriftTestConfig, kind: ColumnKind) -> bool:
    """Whether the registered test takes columns of `kind`.

    Raises:
        InvalidInput: the config's test is not registered.
    """
    return kind in _registered(config.name).kinds


def evaluate(
    config: DriftTestConfig, column: str, reference: ColumnSummary, current: ColumnSummary
) -> DriftResult:
    """Run one test on one column; `not_enough_data` below `min_count` on either side.

    Raises:
        InvalidInput: the test does not apply to the column's kind.
    """
    entry = _registered(config.name)
    if reference.kind not in entry.kinds:
        kinds = ", ".join(sorted(k.value for k in entry.kinds))
        raise InvalidInput(
            f"drift test {config.name!r} does not apply to {reference.kind} column "
            f"{column!r}; it takes {kinds} columns",
            field=column,
        )
    if reference.count < config.min_count or current.count < config.min_count:
        return judge(config, column, None)
    return judge(config, column, entry.calculate(config, reference, current))


def _registered(name: str) -> RegisteredTest:
    try:
        return DRIFT_TESTS[name]
    except KeyError:
        raise InvalidInput(
            f"no drift test named {name!r}; registered: {', '.join(sorted(DRIFT_TESTS))}",
            field="test",
        ) from None


NUMERIC = frozenset({ColumnKind.NUMERIC})
register_drift_test(Psi, calculate_psi)
register_drift_test(Ks, calculate_ks, NUMERIC)
register_drift_test(Chi2, calculate_chi2)
register_drift_test(JensenShannon, calculate_jensen_shannon)
register_drift_test(Wasserstein, calculate_wasserstein, NUMERIC)
register_drift_test(Hellinger, calculate_hellinger)
register_drift_test(LInfinity, calculate_l_infinity)
