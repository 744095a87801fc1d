"""Profiles: a frame's compact, mergeable statistics, the baseline drift is measured against.

`profile(frame)` makes a reference; `profile(window, reference=ref)` counts a window
against the reference's bin edges and categories, which is what makes merges exact
(`steward.stats.merge`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from steward.errors import InvalidInput
from steward.stats.categorical import CategoricalSummary, summarise_categorical
from steward.stats.frames import (
    Column,
    Frame,
    ValueCounts,
    column_names,
    frame_columns,
    frame_rows,
)
from steward.stats.numeric import NumericSummary, summarise_numeric
from steward.stats.pca_fit import encoded_sample, fit_pca, pca_rows
from steward.stats.reconstruction import Encoding, Reconstruction

__all__ = ["ColumnSummary", "Profile", "profile", "profile_window"]

ColumnSummary = NumericSummary | CategoricalSummary
FORMAT = "steward.profile/1"


@dataclass(frozen=True, slots=True)
class Profile:
    """Statistics of a frame, per column, plus the fitted multivariate baseline.

    `skipped` names the columns whose type is not profiled (datetimes, lists...) with
    that type. Profiles are values: equal when every field is equal.
    """

    rows: int
    columns: Mapping[str, ColumnSummary]
    bins: int
    categorical_top_k: int
    sketch_size: int
    reconstruction: Reconstruction | None = None
    skipped: Mapping[str, str] = field(default_factory=dict)

    def column(self, name: str) -> ColumnSummary:
        """The named column's summary.

        Raises:
            InvalidInput: the profile has no such column.
        """
        try:
            return self.columns[name]
        except KeyError:
            raise InvalidInput(
                f"column {name!r} is not in the profile; it has: {', '.join(self.columns)}",
                field="column",
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; `from_dict` rebuilds an equal profile."""
        return {
            "format": FORMAT,
            "rows": self.rows,
            "bins": self.bins,
            "categorical_top_k": self.categorical_top_k,
            "sketch_size": self.sketch_size,
            "columns": {name: s.to_dict() for name, s in self.columns.items()},
            "reconstruction": None
            if self.reconstruction is None
            else self.reconstruction.to_dict(),
            "skipped": dict(self.skipped),
        }

    def to_json(self) -> str:
        """JSON text; floats are written so that they read back bit for bit."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Rebuild a profile from `to_dict` output.

        Raises:
            InvalidInput: the data is not a Steward profile or a field is malformed.
        """
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise InvalidInput(f"profile format {got!r} is not supported; expected {FORMAT!r}")
        try:
            return _profile_from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidInput(
                f"profile data is malformed: {type(error).__name__}: {error}"
            ) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Profile:
        """Inverse of `to_json`.

        Raises:
            InvalidInput: the text is not JSON or not a Steward profile.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"profile JSON does not parse: {error}") from None
        return cls.from_dict(data)


def profile(
    frame: Frame,
    *,
    bins: int = 10,
    categorical_top_k: int = 20,
    sketch_size: int = 1000,
    columns: Sequence[str] | None = None,
    reference: Profile | None = None,
    multivariate: bool = True,
) -> Profile:
    """Profile a pandas/polars DataFrame or PyArrow Table in one pass over its columns.

    Args:
        frame: the data; numeric columns (ints, floats, decimals) and categorical ones
            (strings, booleans, categories/dictionaries) are profiled, others are skipped.
        bins: PSI bins per numeric column, at the reference's quantiles k/bins.
        categorical_top_k: categories kept by name per column; the rest count as other.
        sketch_size: quantile-sketch bins per numeric column (KS/Wasserstein resolution).
        columns: the columns to profile (default: all, or the reference's).
        reference: count against this profile's edges and categories instead of
            choosing new ones (`bins`, `categorical_top_k` and `sketch_size` then come
            from it); this is how windows are profiled for drift and for exact merges.
        multivariate: fit the PCA baseline for multivariate drift (reference only).

    Raises:
        InvalidInput: the frame type is unsupported, a setting is out of range, a column
            is missing, or a column's kind differs from the reference's.
    """
    if reference is not None:
        return profile_window(frame, reference, columns)[0]
    _check_settings(bins, categorical_top_k, sketch_size)
    rows = frame_rows(frame)
    sample = pca_rows(rows) if multivariate else None

    def read(column: Column) -> _Read:
        if column.data is None:
            return _Read(column.name, column.type_name, None)
        summary = _summarise(column, bins, categorical_top_k, sketch_size, None)
        if sample is None:
            return _Read(column.name, column.type_name, summary)
        return _Read(
            column.name, column.type_name, summary, *encoded_sample(column, summary, sample)
        )

    summaries: dict[str, ColumnSummary] = {}
    skipped: dict[str, str] = {}
    samples: dict[str, npt.NDArray[np.float64]] = {}
    encodings: dict[str, Encoding] = {}
    for item in map(read, frame_columns(frame, columns)):
        if item.summary is None:
            skipped[item.name] = item.type_name
            continue
        summaries[item.name] = item.summary
        if item.sample is not None:
            samples[item.name] = item.sample
        if item.encoding is not None:
            encodings[item.name] = item.encoding
    fitted = fit_pca(samples, encodings) if sample is not None else None
    return Profile(rows, summaries, bins, categorical_top_k, sketch_size, fitted, skipped)


@dataclass(frozen=True, slots=True)
class _Read:
    """What profiling one column produced."""

    name: str
    type_name: str
    summary: ColumnSummary | None  # None: a type Steward does not profile
    sample: npt.NDArray[np.float64] | None = None
    encoding: Encoding | None = None


def profile_window(
    frame: Frame, reference: Profile, columns: Sequence[str] | None = None
) -> tuple[Profile, dict[str, Column]]:
    """Profile a window against `reference`, also returning the columns it read.

    The columns let the caller score the same data again (multivariate drift) without
    converting it twice.

    Raises:
        InvalidInput: a column is missing from the reference or the frame, or its kind
            differs from the reference's.
    """
    wanted = list(reference.columns) if columns is None else list(columns)
    missing = [n for n in wanted if n not in reference.columns]
    if missing:
        raise InvalidInput(
            f"columns {missing} are not in the reference profile; it has: "
            f"{', '.join(reference.columns)}",
            field="columns",
        )
    present = set(column_names(frame))
    absent = [n for n in wanted if n not in present]
    if absent:
        raise InvalidInput(f"the frame lacks the reference's columns {absent}", field="frame")

    def read(column: Column) -> tuple[Column, ColumnSummary]:
        return column, _summarise(column, 0, 0, 0, reference.columns[column.name])

    done = [read(column) for column in frame_columns(frame, wanted)]
    summaries = {column.name: summary for column, summary in done}
    read_columns = {column.name: column for column, _ in done}
    window = Profile(
        frame_rows(frame),
        summaries,
        reference.bins,
        reference.categorical_top_k,
        reference.sketch_size,
        reference.reconstruction,
        dict(reference.skipped),
    )
    return window, read_columns


def _summarise(
    column: Column, bins: int, top_k: int, sketch_size: int, reference: ColumnSummary | None
) -> ColumnSummary:
    data = column.data
    if isinstance(data, np.ndarray) and not isinstance(reference, CategoricalSummary):
        return summarise_numeric(data, bins=bins, sketch_size=sketch_size, reference=reference)
    if isinstance(data, ValueCounts) and not isinstance(reference, NumericSummary):
        return summarise_categorical(data, top_k=top_k, reference=reference)
    expected = "unsupported" if reference is None else reference.kind.value
    raise InvalidInput(
        f"column {column.name!r} has type {column.type_name}, read as {column.kind.value}, "
        f"but the reference profiled it as {expected}",
        field=column.name,
    )


def _check_settings(bins: int, top_k: int, sketch_size: int) -> None:
    for name, value, least in (
        ("bins", bins, 2),
        ("categorical_top_k", top_k, 1),
        ("sketch_size", sketch_size, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidInput(
                f"{name} must be an integer of at least {least}, got {value!r}", field=name
            )


def _profile_from_dict(data: Mapping[str, Any]) -> Profile:
    columns: dict[str, ColumnSummary] = {}
    for name, body in data["columns"].items():
        kind = body["kind"]
        if kind == "numeric":
            columns[str(name)] = NumericSummary.from_dict(body)
        elif kind == "categorical":
            columns[str(name)] = CategoricalSummary.from_dict(body)
        else:
            raise ValueError(f"column {name!r} has kind {kind!r}; expected numeric or categorical")
    raw = data["reconstruction"]
    return Profile(
        int(data["rows"]),
        columns,
        int(data["bins"]),
        int(data["categorical_top_k"]),
        int(data["sketch_size"]),
        None if raw is None else Reconstruction.from_dict(raw),
        {str(k): str(v) for k, v in data.get("skipped", {}).items()},
    )
