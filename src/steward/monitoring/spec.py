"""What a monitor computes on each window: the stored, JSON/YAML-serialisable monitor spec.

The spec says which features are compared and with which drift tests, how rows are
segmented, which business KPIs are aggregated and how performance is read. The window,
schedule and storage around it belong to the monitor that holds the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from steward.errors import InvalidInput
from steward.stats import ColumnKind, DriftTestConfig, PcaReconstruction, resolve_test
from steward.stats.registry import applies_to

__all__ = [
    "DEFAULT_CATEGORICAL_TESTS",
    "DEFAULT_NUMERIC_TESTS",
    "DriftTests",
    "Kpi",
    "KpiAggregation",
    "MonitorSpec",
    "MultivariateDrift",
    "StoredTest",
]

StoredTest = str | dict[str, Any]  # a test name, or its stored form {"test": "psi", ...}
KpiAggregation = Literal["mean", "sum", "count", "rate"]

# Effect sizes with thresholds set for windows of 1,000+ rows (docs/monitoring.md): a
# distance says how much moved, where a p-value on a big window flags any trivial change.
DEFAULT_NUMERIC_TESTS: tuple[StoredTest, ...] = (
    {"test": "wasserstein", "threshold": 0.2},
    {"test": "psi", "threshold": 0.1},
)
DEFAULT_CATEGORICAL_TESTS: tuple[StoredTest, ...] = (
    {"test": "jensen_shannon", "threshold": 0.1},
    {"test": "psi", "threshold": 0.1},
)
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class DriftTests(BaseModel):
    """Drift tests per column kind, and per feature where a feature needs its own.

    Each entry is a registered test's name (`"ks"`) or its stored form
    (`{"test": "psi", "threshold": 0.2}`); see `steward.stats.DRIFT_TESTS`.
    """

    model_config = _FROZEN

    numeric: tuple[StoredTest, ...] = DEFAULT_NUMERIC_TESTS
    categorical: tuple[StoredTest, ...] = DEFAULT_CATEGORICAL_TESTS
    features: dict[str, tuple[StoredTest, ...]] = Field(default_factory=dict)

    @field_validator("numeric", "categorical", mode="before")
    @classmethod
    def _stored_list(cls, value: Any) -> Any:
        return _stored_tests(value)

    @field_validator("features", mode="before")
    @classmethod
    def _stored_mapping(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {name: _stored_tests(tests) for name, tests in value.items()}

    @field_validator("numeric")
    @classmethod
    def _numeric_tests(cls, value: tuple[StoredTest, ...]) -> tuple[StoredTest, ...]:
        _check_tests(value, "drift_tests.numeric", ColumnKind.NUMERIC)
        return value

    @field_validator("categorical")
    @classmethod
    def _categorical_tests(cls, value: tuple[StoredTest, ...]) -> tuple[StoredTest, ...]:
        _check_tests(value, "drift_tests.categorical", ColumnKind.CATEGORICAL)
        return value

    @field_validator("features")
    @classmethod
    def _feature_tests(
        cls, value: dict[str, tuple[StoredTest, ...]]
    ) -> dict[str, tuple[StoredTest, ...]]:
        for name, tests in value.items():
            _check_tests(tests, f"drift_tests.features.{name}", None)
        return value

    def for_column(self, name: str, kind: ColumnKind) -> list[DriftTestConfig]:
        """The tests for a column: its own when named in `features`, else its kind's.

        Raises:
            InvalidInput: a test named for this feature does not apply to its kind.
        """
        chosen = self.features.get(name)
        if chosen is None:
            chosen = self.numeric if kind is ColumnKind.NUMERIC else self.categorical
        configs = [resolve_test(spec) for spec in chosen]
        wrong = [c.name for c in configs if not applies_to(c, kind)]
        if wrong:
            raise InvalidInput(
                f"drift tests {wrong} do not apply to {kind} feature {name!r}",
                field=f"drift_tests.features.{name}",
            )
        return configs


class MultivariateDrift(BaseModel):
    """PCA reconstruction drift (see docs/statistics.md): flags when the mean error moves
    by `threshold` (relative) and the change is significant at `alpha`."""

    model_config = _FROZEN

    threshold: float = Field(0.1, gt=0)
    alpha: float = Field(0.001, gt=0, lt=1)
    min_count: int = Field(100, ge=1)

    def config(self) -> PcaReconstruction:
        """The statistics engine's config for these settings."""
        return PcaReconstruction(
            threshold=self.threshold, alpha=self.alpha, min_count=self.min_count
        )


class Kpi(BaseModel):
    """A business KPI over an outcome field, e.g. conversion rate = mean of `converted`.

    `field` names the outcome (`converted` reads the column `outcome_converted`). `agg`:
    `mean` over rows with a value, `sum` of the values, `count` of rows with a value, or
    `rate`: the share of all rows with a non-zero value (outcomes posted only when the
    event happened).
    """

    model_config = _FROZEN

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    field: str = Field(min_length=1)
    agg: KpiAggregation = "mean"


class MonitorSpec(BaseModel):
    """What one monitor computes per window (docs/monitoring.md#what-a-monitor-computes).

    Attributes:
        task: how realised performance is read from `prediction`, `score` and `label`.
        features: input names compared (column `in_<name>`); None: every input column
            the baseline profiles.
        drift_tests: the per-feature drift tests; prediction and score use their kind's.
        multivariate: the PCA reconstruction drift settings; None turns it off.
        segments: segment keys: column `seg_<key>`, or the columns `route` and
            `model_version` by those names.
        max_segment_values: per key, the most frequent values kept as segments; the rest
            are grouped as `<key>=(other)`.
        kpis: business KPIs over outcome fields.
        positive_label: the label counted as positive for precision, recall, F1, ROC AUC
            and log loss (`score` is its probability).
        min_rows: a window or segment with fewer rows reports only `rows`.
        min_drift_samples: with fewer values than this, drift statistics are reported
            without a verdict (`drifted` None): distances are too noisy below it for the
            default thresholds (lower it for significance tests such as `ks`).
    """

    model_config = _FROZEN

    task: Literal["classification", "regression"]
    features: tuple[str, ...] | None = None
    drift_tests: DriftTests = Field(default_factory=DriftTests)
    multivariate: MultivariateDrift | None = Field(default_factory=MultivariateDrift)
    segments: tuple[str, ...] = ()
    max_segment_values: int = Field(20, ge=1, le=1000)
    kpis: tuple[Kpi, ...] = ()
    positive_label: int | float | str = 1
    min_rows: int = Field(100, ge=0)
    min_drift_samples: int = Field(1_000, ge=1)

    @field_validator("kpis")
    @classmethod
    def _unique_kpis(cls, value: tuple[Kpi, ...]) -> tuple[Kpi, ...]:
        names = [kpi.name for kpi in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"KPI names must be unique; repeated: {', '.join(repeated)}")
        return value

    @field_validator("features", "segments")
    @classmethod
    def _unique_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"names must be unique, got {list(value)}")
        return value

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitorSpec:
        """Build and check a spec from plain values (as stored, or read from YAML/JSON).

        Raises:
            InvalidInput: a field is missing or not accepted, naming it and why.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "spec"
            raise InvalidInput(
                f"monitor spec field {where!r}: {first['msg']}", field=where
            ) from None

    @classmethod
    def from_yaml(cls, text: str) -> MonitorSpec:
        """Inverse of `to_yaml`.

        Raises:
            InvalidInput: the text is not YAML, not a mapping, or not a valid spec.
        """
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise InvalidInput(f"monitor spec YAML does not parse: {error}") from None
        if not isinstance(data, Mapping):
            raise InvalidInput(
                f"a monitor spec must be a mapping, got {type(data).__name__}", field="spec"
            )
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; `from_dict` rebuilds an equal spec."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """The spec as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _stored_tests(value: Any) -> Any:
    """Configs in their stored form, so a spec always serialises."""
    if isinstance(value, str | DriftTestConfig | Mapping):
        value = [value]
    if not isinstance(value, list | tuple):
        return value
    return tuple(spec.to_dict() if isinstance(spec, DriftTestConfig) else spec for spec in value)


def _check_tests(tests: tuple[StoredTest, ...], where: str, kind: ColumnKind | None) -> None:
    """Every test resolves, fits `kind` and appears once (its name is the metric name)."""
    names: list[str] = []
    for spec in tests:
        try:
            config = resolve_test(spec)
        except InvalidInput as error:
            raise ValueError(error.message) from None
        if kind is not None and not applies_to(config, kind):
            raise ValueError(f"drift test {config.name!r} does not apply to {kind} columns")
        names.append(config.name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{where} names test(s) {', '.join(repeated)} more than once")
