"""A model version loaded for serving: the model, its compiled contract, its input fast path.

Everything that does not depend on a request is decided here, once, at load time: the
contract is compiled to a row validator, the feature order is fixed, and the cheapest way to
call the model is chosen and checked against the flavor's own `predict`.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from steward import flavors
from steward.contracts import Contract, RowValidator, Violation, compile_row_validator
from steward.flavors.inputs import as_predictions
from steward.serving.entities import ServedVersion
from steward.serving.inputs import FrameInput, InputBuilder, MatrixInput, Row

__all__ = ["ModelAnswer", "ServedModel", "load_served_model"]

log = logging.getLogger(__name__)

_NUMERIC_TYPES = frozenset({"integer", "float", "boolean"})


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """A model's answer to a batch of rows, JSON-ready.

    Attributes:
        predictions: one value per row (a list per row for multi-output models).
        probabilities: one list of class probabilities per row, when asked for and available.
        latency_ms: time spent in the model.
    """

    predictions: list[Any]  # Any: JSON scalars of the model's output type
    probabilities: list[list[float]] | None
    latency_ms: float


class ServedModel:
    """One loaded version: validates rows against its contract and answers them.

    Args:
        version: what was loaded.
        model: the flavor's loaded model.
        validator: the compiled contract, None when the version has none.
        builder: how rows become the model's input.
    """

    __slots__ = ("_native", "builder", "has_probabilities", "model", "validator", "version")

    def __init__(
        self,
        version: ServedVersion,
        model: flavors.LoadedModel,
        validator: RowValidator | None,
        builder: InputBuilder,
    ) -> None:
        self.version = version
        self.model = model
        self.validator = validator
        self.builder = builder
        self.has_probabilities = callable(getattr(model.native, "predict_proba", None))
        # The matrix fast path calls the native model directly; a frame goes through the flavor.
        self._native = isinstance(builder, MatrixInput)

    def with_version(self, version: ServedVersion) -> ServedModel:
        """The same loaded model under a fresher record (its aliases may have moved)."""
        if version == self.version:
            return self
        return ServedModel(version, self.model, self.validator, self.builder)

    def violations(self, rows: Sequence[Row]) -> list[Violation]:
        """Every contract violation in `rows` (empty without a contract)."""
        validator = self.validator
        if validator is None:
            return []
        if len(rows) == 1:
            return validator.validate(rows[0])
        found: list[Violation] = []
        for index, row in enumerate(rows):
            found.extend(validator.validate(row, index=index))
        return found

    def predict(self, rows: Sequence[Row], *, probabilities: bool = False) -> ModelAnswer:
        """Answer `rows`; probabilities only when asked for and the model has them.

        Raises:
            InvalidInput: a row cannot be turned into the model's input (missing column,
                a value that is no number for a numeric model).
            Exception: whatever the model itself raises (the caller falls back).
        """
        features = self.builder.build(rows)
        started = time.perf_counter()
        if self._native:
            values = as_predictions(self.model.native.predict(features))
        else:
            values = self.model.predict(features)
        proba = None
        if probabilities and self.has_probabilities:
            method = self.model.native.predict_proba if self._native else self.model.predict_proba
            proba = np.asarray(method(features)).tolist()
        latency_ms = (time.perf_counter() - started) * 1000.0
        return ModelAnswer(values.tolist(), proba, latency_ms)


def load_served_model(version: ServedVersion, payload: bytes) -> ServedModel:
    """Load a version from its blob, compile its contract and choose its input path.

    Raises:
        IntegrityError: `payload` does not hash to the version's digest.
        InvalidInput: the flavor cannot read the payload, or the stored contract is invalid.
        NotFound: the version's flavor is not registered here.
    """
    model = flavors.load_model(
        version.flavor, payload, version.flavor_metadata, expected_sha256=version.artifact_digest
    )
    contract = None if version.contract is None else Contract.from_dict(version.contract)
    validator = None if contract is None else compile_row_validator(contract)
    features = _feature_order(model, version, contract)
    builder = _choose_builder(model, version, contract, features)
    log.info(
        "model loaded version=%s flavor=%s input=%s contract=%s",
        version.key,
        version.flavor,
        type(builder).__name__,
        contract is not None,
    )
    return ServedModel(version, model, validator, builder)


def _feature_order(
    model: flavors.LoadedModel, version: ServedVersion, contract: Contract | None
) -> list[str] | None:
    """Training column order: from the model itself, else its input schema, else the contract."""
    if model.feature_names:
        return model.feature_names
    names = [str(entry["name"]) for entry in version.input_schema if "name" in entry]
    if names:
        return names
    return list(contract.column_names) if contract is not None else None


def _choose_builder(
    model: flavors.LoadedModel,
    version: ServedVersion,
    contract: Contract | None,
    features: list[str] | None,
) -> InputBuilder:
    frame = FrameInput(features)
    if model.flavor != "sklearn" or not features or not _all_numeric(features, version, contract):
        return frame
    matrix = MatrixInput(features)
    # sklearn warns on every array call to a model fitted on named columns; the matrix is
    # built in exactly that column order, so the warning says nothing here.
    warnings.filterwarnings(
        "ignore", message="X does not have valid feature names", category=UserWarning
    )
    probe = [_probe_row(features, contract)]
    try:
        fast = as_predictions(model.native.predict(matrix.build(probe)))
        slow = model.predict(frame.build(probe))
    except Exception as exc:  # any failure only means: keep the flavor's own path
        log.info("matrix input not usable version=%s reason=%r", version.key, exc)
        return frame
    return matrix if _same(fast, slow) else frame


def _all_numeric(features: list[str], version: ServedVersion, contract: Contract | None) -> bool:
    types: dict[str, str] = {}
    for entry in version.input_schema:
        types[str(entry.get("name"))] = str(entry.get("type"))
    if contract is not None:
        types.update({column.name: column.logical_type for column in contract.columns})
    return all(types.get(name) in _NUMERIC_TYPES for name in features)


def _probe_row(features: list[str], contract: Contract | None) -> dict[str, float]:
    """A plausible row: the middle of each contract range, else zero."""
    row = dict.fromkeys(features, 0.0)
    for column in contract.columns if contract is not None else ():
        low, high = column.bounds()
        if column.name in row and isinstance(low, int | float) and isinstance(high, int | float):
            middle = (float(low) + float(high)) / 2
            row[column.name] = middle if math.isfinite(middle) else 0.0
    return row


def _same(fast: np.ndarray[Any, Any], slow: np.ndarray[Any, Any]) -> bool:
    if fast.shape != slow.shape:
        return False
    if fast.dtype.kind in "fc" and slow.dtype.kind in "fc":
        return bool(np.allclose(fast, slow, equal_nan=True))
    return bool(np.array_equal(fast, slow))
