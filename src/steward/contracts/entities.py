"""The contract entities: what one column and a whole frame must look like.

Each column stores what was observed (min/max, missing rate) next to the tolerance allowed
around it, so a person reading the YAML sees both the training data and the rule.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import yaml

from steward.contracts import parsing
from steward.errors import InvalidInput

__all__ = [
    "DEFAULT_MISSING_RATE_TOLERANCE",
    "DEFAULT_RANGE_TOLERANCE",
    "Bound",
    "ColumnContract",
    "Contract",
    "ExtraColumns",
    "LogicalType",
]

LogicalType = Literal["integer", "float", "boolean", "categorical", "string", "datetime"]
ExtraColumns = Literal["allow", "drop", "reject"]
Bound = int | float | datetime

LOGICAL_TYPES: tuple[str, ...] = get_args(LogicalType)
EXTRA_COLUMNS: tuple[str, ...] = get_args(ExtraColumns)
RANGED_TYPES = ("integer", "float", "datetime")
DEFAULT_RANGE_TOLERANCE = 0.1
DEFAULT_MISSING_RATE_TOLERANCE = 0.05
FORMAT = 1

_COLUMN_FIELDS = (
    "name",
    "type",
    "nullable",
    "missing_rate",
    "missing_rate_tolerance",
    "minimum",
    "maximum",
    "range_tolerance",
    "categories",
)
_CONTRACT_FIELDS = ("format", "name", "version", "extra_columns", "required_columns", "columns")


@dataclass(frozen=True, slots=True)
class ColumnContract:
    """What one column must hold.

    Attributes:
        name: the column name, matched exactly.
        logical_type: what every present value must be (see docs/contracts.md for coercion).
        nullable: whether a missing value (null, NaN, NaT) is allowed at all.
        missing_rate: the fraction of missing values expected (observed at inference).
        missing_rate_tolerance: absolute slack on `missing_rate` before a batch fails.
        minimum: the smallest value observed; None means unbounded below.
        maximum: the largest value observed; None means unbounded above.
        range_tolerance: widening of [minimum, maximum] on each side, as a fraction of the span.
        categories: the allowed values of a categorical column; None for every other type.
    """

    name: str
    logical_type: LogicalType
    nullable: bool = False
    missing_rate: float = 0.0
    missing_rate_tolerance: float = DEFAULT_MISSING_RATE_TOLERANCE
    minimum: Bound | None = None
    maximum: Bound | None = None
    range_tolerance: float = DEFAULT_RANGE_TOLERANCE
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput(f"a column name must be a non-empty string, got {self.name!r}")
        if self.logical_type not in LOGICAL_TYPES:
            raise InvalidInput(
                f"column {self.name!r} has type {self.logical_type!r}; "
                f"accepted: {', '.join(LOGICAL_TYPES)}",
                field="type",
            )
        self._check_bounds()
        self._check_categories()

    @property
    def max_missing_rate(self) -> float:
        """The largest missing fraction a batch may show: `missing_rate` plus its tolerance."""
        return min(1.0, self.missing_rate + self.missing_rate_tolerance)

    def bounds(self) -> tuple[Bound | None, Bound | None]:
        """The accepted interval: [minimum, maximum] widened by `range_tolerance` of the span.

        A one-sided or missing range is not widened: there is no span to take a fraction of.
        """
        low, high = self.minimum, self.maximum
        if low is None or high is None or self.range_tolerance == 0:
            return low, high
        if isinstance(low, datetime) and isinstance(high, datetime):
            return _widen_datetimes(low, high, self.range_tolerance)
        widening = (float(high) - float(low)) * self.range_tolerance  # type: ignore[arg-type]
        if not math.isfinite(widening):
            return -math.inf, math.inf
        return float(low) - widening, float(high) + widening  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (`Any`: JSON values); datetimes become ISO 8601 strings."""
        return {
            "name": self.name,
            "type": self.logical_type,
            "nullable": self.nullable,
            "missing_rate": self.missing_rate,
            "missing_rate_tolerance": self.missing_rate_tolerance,
            "minimum": parsing.dump_bound(self.minimum),
            "maximum": parsing.dump_bound(self.maximum),
            "range_tolerance": self.range_tolerance,
            "categories": None if self.categories is None else list(self.categories),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "column") -> ColumnContract:
        """Build a column from a (possibly hand-edited) mapping.

        Raises:
            InvalidInput: naming the field (as `path.field`), the value and what is accepted.
        """
        fields = parsing.read_mapping(data, path)
        parsing.check_keys(fields, _COLUMN_FIELDS, path)
        logical_type = parsing.read_str(fields, "type", path)
        values: dict[str, Any] = {
            "name": parsing.read_str(fields, "name", path),
            "logical_type": logical_type,
            "nullable": parsing.read_bool(fields, "nullable", path, False),
            "missing_rate": parsing.read_fraction(
                fields, "missing_rate", path, 0.0, at_most_one=True
            ),
            "missing_rate_tolerance": parsing.read_fraction(
                fields,
                "missing_rate_tolerance",
                path,
                DEFAULT_MISSING_RATE_TOLERANCE,
                at_most_one=True,
            ),
            "minimum": parsing.read_bound(fields, "minimum", path, logical_type),
            "maximum": parsing.read_bound(fields, "maximum", path, logical_type),
            "range_tolerance": parsing.read_fraction(
                fields, "range_tolerance", path, DEFAULT_RANGE_TOLERANCE, at_most_one=False
            ),
            "categories": parsing.read_categories(fields, "categories", path),
        }
        try:
            return cls(**values)
        except InvalidInput as exc:
            # The entity's own checks name the column; add where it sits in the file.
            field = f"{path}.{exc.field}" if exc.field else path
            raise InvalidInput(f"{path}: {exc.message}", field=field) from exc

    def _check_bounds(self) -> None:
        for key in ("minimum", "maximum"):
            bound = getattr(self, key)
            if bound is not None and not _bound_fits(bound, self.logical_type):
                accepted = _BOUND_KINDS.get(self.logical_type, "null (no range for this type)")
                raise InvalidInput(
                    f"column {self.name!r} ({self.logical_type}) has {key} {bound!r}; "
                    f"accepted: {accepted}",
                    field=key,
                )
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            raise InvalidInput(
                f"column {self.name!r} has minimum {low!r} above maximum {high!r}; "
                "set minimum <= maximum",
                field="minimum",
            )

    def _check_categories(self) -> None:
        if self.logical_type == "categorical" and self.categories is None:
            raise InvalidInput(
                f"column {self.name!r} is categorical but lists no categories; "
                "list them, or use type 'string' for free text",
                field="categories",
            )
        if self.logical_type != "categorical" and self.categories is not None:
            raise InvalidInput(
                f"column {self.name!r} ({self.logical_type}) lists categories; "
                "only a categorical column accepts them (set categories to null)",
                field="categories",
            )
        if self.categories is not None and len(set(self.categories)) != len(self.categories):
            raise InvalidInput(
                f"column {self.name!r} lists a category twice in {list(self.categories)!r}; "
                "each category must appear once",
                field="categories",
            )


@dataclass(frozen=True, slots=True)
class Contract:
    """What a whole frame must look like.

    Attributes:
        columns: per-column rules, in the order the model was trained with.
        required_columns: the columns a frame must carry (in contract order); a column in
            `columns` but not here is checked when present and may be absent.
        extra_columns: what to do with a column the contract does not know: keep it
            ("allow"), remove it from the outputs ("drop") or fail the rows ("reject").
        name: a label used in messages, e.g. the dataset or model name.
        version: starts at 1; every edit made through `with_changes` adds one.
    """

    columns: tuple[ColumnContract, ...]
    required_columns: tuple[str, ...]
    extra_columns: ExtraColumns = "allow"
    name: str | None = None
    version: int = 1

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if not names:
            raise InvalidInput("a contract needs at least one column, got none", field="columns")
        _reject_duplicates(names, "columns")
        _reject_duplicates(list(self.required_columns), "required_columns")
        for required in self.required_columns:
            if required not in names:
                raise InvalidInput(
                    f"required column {required!r} has no entry in columns; "
                    f"columns: {', '.join(names)}",
                    field="required_columns",
                )
        self._check_frame_fields()

    @property
    def label(self) -> str:
        """How messages name this contract, e.g. 'contract churn v3'."""
        return f"contract {self.name} v{self.version}" if self.name else f"contract v{self.version}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON (sorted keys, no spaces) of `to_dict()`."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def column(self, name: str) -> ColumnContract:
        """The rule for one column.

        Raises:
            InvalidInput: the contract has no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise InvalidInput(
            f"{self.label} has no column {name!r}; columns: {', '.join(self.column_names)}",
            field="columns",
        )

    def with_changes(self, **changes: Any) -> Contract:
        """A copy with frame-level fields replaced and the version bumped (unless given).

        `Any`: the keyword values are the dataclass fields, checked by `__post_init__`.

        Raises:
            InvalidInput: the changed contract breaks a rule.
        """
        changes.setdefault("version", self.version + 1)
        return replace(self, **changes)

    def with_column(self, name: str, **changes: Any) -> Contract:
        """A copy with one column's fields replaced and the version bumped.

        Raises:
            InvalidInput: no such column, or the changed column breaks a rule.
        """
        edited = replace(self.column(name), **changes)
        columns = tuple(edited if c.name == name else c for c in self.columns)
        return self.with_changes(columns=columns)

    def bump_version(self) -> Contract:
        """The same rules under the next version number."""
        return replace(self, version=self.version + 1)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (`Any`: JSON values), the format of the YAML and JSON files."""
        return {
            "format": FORMAT,
            "name": self.name,
            "version": self.version,
            "extra_columns": self.extra_columns,
            "required_columns": list(self.required_columns),
            "columns": [column.to_dict() for column in self.columns],
        }

    @classmethod
    def from_dict(cls, data: object) -> Contract:
        """Build a contract from a (possibly hand-edited) mapping.

        `required_columns` defaults to every column; `extra_columns` to "allow".

        Raises:
            InvalidInput: naming the bad field (e.g. `columns[2].minimum`), its value and what
                would be accepted.
        """
        fields = parsing.read_mapping(data, "contract")
        parsing.check_keys(fields, _CONTRACT_FIELDS, "")
        parsing.check_format(fields, FORMAT)
        columns = _load_columns(fields.get("columns"))
        required = parsing.read_names(fields, "required_columns", [c.name for c in columns])
        return cls(
            columns=columns,
            required_columns=required,
            extra_columns=parsing.read_str(fields, "extra_columns", "", "allow"),  # type: ignore[arg-type]
            name=parsing.read_optional_str(fields, "name", ""),
            version=fields.get("version", 1),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Contract:
        """Raises: InvalidInput: the text is not JSON, or not a valid contract."""
        return cls.from_dict(parsing.load_json_mapping(text, "contract"))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str | bytes) -> Contract:
        """Raises: InvalidInput: the text is not YAML, or not a valid contract."""
        return cls.from_dict(parsing.load_yaml_mapping(text, "contract"))

    def _check_frame_fields(self) -> None:
        if self.extra_columns not in EXTRA_COLUMNS:
            raise InvalidInput(
                f"extra_columns {self.extra_columns!r} is not accepted; "
                f"accepted: {', '.join(EXTRA_COLUMNS)}",
                field="extra_columns",
            )
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise InvalidInput(
                f"version must be an integer >= 1, got {self.version!r}", field="version"
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise InvalidInput(
                f"name must be a non-empty string or null, got {self.name!r}", field="name"
            )


_BOUND_KINDS = {
    "integer": "an integer or null",
    "float": "a finite number or null",
    "datetime": "an aware datetime (ISO 8601 in files) or null",
}


def _bound_fits(bound: object, logical_type: str) -> bool:
    if logical_type == "datetime":
        return isinstance(bound, datetime) and bound.tzinfo is not None
    if isinstance(bound, bool) or logical_type not in RANGED_TYPES:
        return False
    if logical_type == "integer":
        return isinstance(bound, int)
    return isinstance(bound, int | float) and math.isfinite(bound)


def _widen_datetimes(low: datetime, high: datetime, tolerance: float) -> tuple[datetime, datetime]:
    widening = (high - low) * tolerance
    earliest, latest = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    low_gap = min(widening, low - earliest)
    high_gap = min(widening, latest - high)
    return low - max(low_gap, timedelta(0)), high + max(high_gap, timedelta(0))


def _load_columns(value: object) -> tuple[ColumnContract, ...]:
    if not isinstance(value, list):
        raise InvalidInput(
            f"columns must be a list of column mappings, got {value!r}", field="columns"
        )
    return tuple(ColumnContract.from_dict(item, f"columns[{i}]") for i, item in enumerate(value))


def _reject_duplicates(names: list[str], field: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInput(
                f"{field} lists {name!r} twice; each name must appear once", field=field
            )
        seen.add(name)
