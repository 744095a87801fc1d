"""The flavor contract: how one framework's model becomes one blob of bytes and back."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Flavor", "Predictor", "SavedModel", "feature_names_of", "runtime_metadata"]


@dataclass(frozen=True, slots=True)
class SavedModel:
    """A model serialised by a flavor, ready for the content-addressed artifact store.

    Attributes:
        flavor: name of the flavor that wrote ``payload`` and can read it back.
        payload: the whole model as one blob; the registry stores it under its sha256.
        metadata: JSON-able facts the flavor needs to load it (wrapper class, feature
            names) and that a person wants to see (library and Python versions).
    """

    flavor: str
    payload: bytes = field(repr=False)
    metadata: dict[str, Any]


class Flavor(Protocol):
    """Saves and loads the models of one framework; registered by name in ``FLAVORS``.

    ``model`` is typed ``Any`` because it is whatever object the user's framework built.
    """

    name: str

    def can_save(self, model: Any) -> bool:
        """Whether this flavor knows ``model``'s type; must not import optional libraries."""
        ...

    def save(self, model: Any) -> SavedModel:
        """Serialise ``model``; raises ``InvalidInput`` when it cannot be saved."""
        ...

    def load(self, payload: bytes, metadata: Mapping[str, Any]) -> Any:
        """Rebuild the native model object from a payload this flavor wrote."""
        ...


@runtime_checkable
class Predictor(Protocol):
    """Optional extra for a flavor whose native object cannot predict from a frame directly.

    xgboost's ``Booster`` wants a ``DMatrix``; a flavor implementing this is asked to
    predict instead of calling ``native.predict(features)``.
    """

    def predict(self, native: Any, features: Any) -> Any:
        """Predictions of ``native`` for ``features`` (a DataFrame or a 2-D array)."""
        ...


def runtime_metadata(**libraries: str) -> dict[str, Any]:
    """The versions a saved model was written with, e.g. ``runtime_metadata(xgboost="3.2.0")``."""
    return {"python": platform.python_version(), "libraries": dict(libraries)}


def feature_names_of(model: Any) -> list[str] | None:
    """The column names a scikit-learn-style model was fitted on, or None when it had none."""
    try:
        names = model.feature_names_in_
    except (AttributeError, ValueError):
        # lightgbm raises a NotFittedError (a ValueError) rather than AttributeError.
        return None
    return [str(name) for name in names]
