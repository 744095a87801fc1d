"""Pickle-based flavors: scikit-learn estimators and any Python object with ``predict``.

Unpickling runs code chosen by whoever wrote the bytes, so these flavors are only ever
handed payloads whose sha256 matched the registry record (``load_model`` checks it again).
The standard library's ``pickle`` (protocol 5) is used rather than joblib: the artifact is
one in-memory blob, so joblib's file-based memory mapping would bring nothing.
"""

from __future__ import annotations

import logging
import pickle
import sys
from collections.abc import Mapping
from typing import Any

from steward.errors import InvalidInput
from steward.flavors.base import SavedModel, feature_names_of, runtime_metadata

__all__ = ["PythonFunctionFlavor", "SklearnFlavor"]

log = logging.getLogger(__name__)

_PROTOCOL = 5


def _dump(model: Any, flavor: str) -> bytes:
    try:
        return pickle.dumps(model, protocol=_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise InvalidInput(
            f"model of type {_qualname(model)} cannot be pickled for flavor {flavor!r} ({exc}); "
            "define its class at module level in an importable module"
        ) from exc


def _load(payload: bytes, metadata: Mapping[str, Any]) -> Any:
    try:
        return pickle.loads(payload)  # noqa: S301 - only hash-verified, registered artifacts
    except (ModuleNotFoundError, AttributeError) as exc:
        raise InvalidInput(
            f"model class {metadata.get('class', '?')} cannot be imported here ({exc}); "
            "install the package that defines it, under the same module path"
        ) from exc


def _qualname(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def _base_metadata(model: Any, **libraries: str) -> dict[str, Any]:
    return {
        **runtime_metadata(**libraries),
        "class": _qualname(model),
        "serialization": f"pickle-{_PROTOCOL}",
        "feature_names": feature_names_of(model),
    }


class SklearnFlavor:
    """Any scikit-learn estimator or pipeline, pickled."""

    name = "sklearn"

    def can_save(self, model: Any) -> bool:
        # An estimator exists only if scikit-learn was imported, so this never imports it.
        base = sys.modules.get("sklearn.base")
        return base is not None and isinstance(model, base.BaseEstimator)

    def save(self, model: Any) -> SavedModel:
        """Pickle ``model``.

        Raises:
            InvalidInput: ``model`` (or something it holds) cannot be pickled.
        """
        import sklearn

        metadata = _base_metadata(model, **{"scikit-learn": sklearn.__version__})
        return SavedModel(self.name, _dump(model, self.name), metadata)

    def load(self, payload: bytes, metadata: Mapping[str, Any]) -> Any:
        """Unpickle a verified payload (see the module docstring).

        Raises:
            InvalidInput: a class the model needs cannot be imported.
        """
        import sklearn

        saved_with = dict(metadata.get("libraries") or {}).get("scikit-learn")
        if saved_with and saved_with != sklearn.__version__:
            # scikit-learn does not promise pickles work across versions; say so, do not refuse.
            log.warning(
                "sklearn model version mismatch saved_with=%s loading_with=%s",
                saved_with,
                sklearn.__version__,
            )
        return _load(payload, metadata)


class PythonFunctionFlavor:
    """Any picklable object with a callable ``predict``: the fallback flavor.

    The object is pickled by reference to its class, so the class must be importable, under
    the same module path, wherever the model is loaded.
    """

    name = "python_function"

    def can_save(self, model: Any) -> bool:
        # A class with a predict method is not a model; an instance of it is.
        return not isinstance(model, type) and callable(getattr(model, "predict", None))

    def save(self, model: Any) -> SavedModel:
        """Pickle ``model``.

        Raises:
            InvalidInput: ``model`` cannot be pickled (e.g. a class defined inside a function).
        """
        return SavedModel(self.name, _dump(model, self.name), _base_metadata(model))

    def load(self, payload: bytes, metadata: Mapping[str, Any]) -> Any:
        """Unpickle a verified payload (see the module docstring).

        Raises:
            InvalidInput: the model's class cannot be imported.
        """
        return _load(payload, metadata)
