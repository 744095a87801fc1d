"""XGBoost models in xgboost's own UBJSON format: a Booster or its scikit-learn wrappers.

xgboost is optional: it is imported only when a payload is saved or loaded, never to ask
whether an object is an xgboost model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steward.errors import InvalidInput
from steward.flavors.base import SavedModel, feature_names_of, runtime_metadata

__all__ = ["XGBoostFlavor"]

_WRAPPERS = frozenset(
    {"XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor"}
)
_BOOSTER = "Booster"


def _import_xgboost() -> Any:
    try:
        import xgboost
    except ImportError as exc:
        raise InvalidInput(
            "flavor 'xgboost' needs the xgboost package, which is not installed; "
            "install it with: pip install 'stewardml[xgboost]'"
        ) from exc
    return xgboost


class XGBoostFlavor:
    """A ``Booster`` or an ``XGBClassifier``/``XGBRegressor``/... saved with ``save_raw("ubj")``.

    The metadata names the wrapper class, so a classifier comes back as a classifier.
    """

    name = "xgboost"

    def can_save(self, model: Any) -> bool:
        cls = type(model)
        is_xgboost = cls.__module__.partition(".")[0] == "xgboost"
        return is_xgboost and (cls.__name__ in _WRAPPERS or cls.__name__ == _BOOSTER)

    def save(self, model: Any) -> SavedModel:
        """Serialise the booster of ``model`` as UBJSON.

        Raises:
            InvalidInput: ``model`` is an unfitted wrapper.
        """
        xgboost = _import_xgboost()
        wrapper = type(model).__name__
        if wrapper == _BOOSTER:
            booster, names = model, model.feature_names
        else:
            booster, names = self._fitted_booster(model), feature_names_of(model)
        metadata = {
            **runtime_metadata(xgboost=xgboost.__version__),
            "wrapper": wrapper,
            "format": "ubj",
            "feature_names": list(names) if names else None,
        }
        return SavedModel(self.name, bytes(booster.save_raw(raw_format="ubj")), metadata)

    def _fitted_booster(self, model: Any) -> Any:
        try:
            return model.get_booster()
        except Exception as exc:  # xgboost's NotFittedError lives in sklearn, not xgboost
            raise InvalidInput(
                f"{type(model).__name__} is not fitted; flavor 'xgboost' saves fitted models only"
            ) from exc

    def load(self, payload: bytes, metadata: Mapping[str, Any]) -> Any:
        """Rebuild the Booster or wrapper named by ``metadata["wrapper"]``.

        Raises:
            InvalidInput: the metadata names a class this flavor does not load.
        """
        xgboost = _import_xgboost()
        wrapper = str(metadata.get("wrapper", _BOOSTER))
        if wrapper != _BOOSTER and wrapper not in _WRAPPERS:
            accepted = ", ".join(sorted({*_WRAPPERS, _BOOSTER}))
            raise InvalidInput(
                f"xgboost model metadata names wrapper {wrapper!r}; accepted: {accepted}"
            )
        model = getattr(xgboost, wrapper)()
        model.load_model(bytearray(payload))
        return model

    def predict(self, native: Any, features: Any) -> Any:
        """Predict, wrapping the features in a ``DMatrix`` for a bare Booster."""
        if type(native).__name__ != _BOOSTER:
            return native.predict(features)
        xgboost = _import_xgboost()
        return native.predict(xgboost.DMatrix(features, enable_categorical=True))
