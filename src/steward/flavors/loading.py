"""Loading a saved model, after checking its bytes, behind one ``predict`` for every flavor."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steward.errors import IntegrityError, InvalidInput
from steward.flavors.base import Predictor
from steward.flavors.inputs import as_features, as_predictions
from steward.flavors.registry import get_flavor

__all__ = ["LoadedModel", "load_model", "verify_payload"]


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A native model plus what Steward knows about it.

    Attributes:
        flavor: name of the flavor that loaded it.
        native: the framework's own object (``Any``: whatever the framework built).
        metadata: the flavor metadata stored with the version.
    """

    flavor: str
    native: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str] | None:
        """Training column order, when the model was fitted on named columns."""
        names = self.metadata.get("feature_names")
        return [str(name) for name in names] if names else None

    def predict(self, data: Any) -> np.ndarray[Any, Any]:
        """Predictions for a DataFrame, a 2-D array or a list of dicts: 1-D, or 2-D if multi-output.

        Raises:
            InvalidInput: the data is of an unsupported type or lacks a training column.
        """
        features = as_features(data, self.feature_names)
        flavor = get_flavor(self.flavor)
        if isinstance(flavor, Predictor):
            return as_predictions(flavor.predict(self.native, features))
        return as_predictions(self.native.predict(features))

    def predict_proba(self, data: Any) -> np.ndarray[Any, Any]:
        """Class probabilities, one row per input row and one column per class.

        Raises:
            InvalidInput: the model gives no probabilities, or the data is unusable.
        """
        method = getattr(self.native, "predict_proba", None)
        if not callable(method):
            raise InvalidInput(
                f"model {type(self.native).__name__} (flavor {self.flavor!r}) has no class "
                "probabilities; use predict (a bare Booster's predict already returns them "
                "for probabilistic objectives)"
            )
        return np.asarray(method(as_features(data, self.feature_names)))


def verify_payload(payload: bytes, expected_sha256: str) -> None:
    """Refuse bytes whose sha256 differs from the registry record.

    Raises:
        IntegrityError: the digests differ; nothing from the payload was loaded.
    """
    actual = hashlib.sha256(payload).hexdigest()
    if not hmac.compare_digest(actual, expected_sha256.strip().lower()):
        raise IntegrityError(
            f"model artifact failed its integrity check: expected sha256 {expected_sha256}, "
            f"got {actual}; refusing to load it (re-register the model from its source run)"
        )


def load_model(
    flavor_name: str, payload: bytes, metadata: Mapping[str, Any], *, expected_sha256: str
) -> LoadedModel:
    """Check the payload's hash, then rebuild the model with the named flavor.

    The hash is checked before any byte reaches the flavor, so a pickle-based flavor never
    unpickles bytes that differ from the ones registered.

    Raises:
        IntegrityError: ``payload`` does not hash to ``expected_sha256``.
        NotFound: no flavor is registered as ``flavor_name``.
        InvalidInput: the flavor cannot read the payload with this metadata.
    """
    verify_payload(payload, expected_sha256)
    native = get_flavor(flavor_name).load(payload, metadata)
    return LoadedModel(flavor=flavor_name, native=native, metadata=dict(metadata))
