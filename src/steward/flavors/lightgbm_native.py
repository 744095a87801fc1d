"""LightGBM models in LightGBM's own text format: a Booster or its scikit-learn wrappers.

lightgbm is optional: it is imported only when a payload is saved or loaded. The wrappers
have no loader of their own, so ``_restore`` refits nothing: it hands the loaded Booster to
a fresh wrapper and sets the fitted state lightgbm 4's ``fit`` sets (pinned by the tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from steward.errors import InvalidInput
from steward.flavors.base import SavedModel, feature_names_of, runtime_metadata

__all__ = ["LightGBMFlavor"]

_WRAPPERS = frozenset({"LGBMClassifier", "LGBMRegressor", "LGBMRanker"})
_BOOSTER = "Booster"


def _import_lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise InvalidInput(
            "flavor 'lightgbm' needs the lightgbm package, which is not installed; "
            "install it with: pip install 'stewardml[lightgbm]'"
        ) from exc
    return lightgbm


def _is_jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _booster_feature_names(booster: Any) -> list[str] | None:
    names = [str(name) for name in booster.feature_name()]
    # lightgbm names unnamed columns Column_0, Column_1...: that is no training order.
    if names == [f"Column_{index}" for index in range(len(names))]:
        return None
    return names


class LightGBMFlavor:
    """A ``Booster`` or an ``LGBMClassifier``/``LGBMRegressor``/``LGBMRanker``, as text."""

    name = "lightgbm"

    def can_save(self, model: Any) -> bool:
        cls = type(model)
        is_lightgbm = cls.__module__.partition(".")[0] == "lightgbm"
        return is_lightgbm and (cls.__name__ in _WRAPPERS or cls.__name__ == _BOOSTER)

    def save(self, model: Any) -> SavedModel:
        """Serialise ``model`` as LightGBM's text model.

        Raises:
            InvalidInput: ``model`` is an unfitted wrapper or uses a custom objective function.
        """
        lightgbm = _import_lightgbm()
        wrapper = type(model).__name__
        metadata: dict[str, Any] = {
            **runtime_metadata(lightgbm=lightgbm.__version__),
            "wrapper": wrapper,
            "format": "text",
        }
        if wrapper == _BOOSTER:
            booster = model
            metadata["feature_names"] = _booster_feature_names(model)
        else:
            booster = self._fitted_booster(model)
            metadata.update(self._wrapper_state(model))
        return SavedModel(self.name, booster.model_to_string().encode("utf-8"), metadata)

    def _fitted_booster(self, model: Any) -> Any:
        try:
            return model.booster_
        except Exception as exc:  # lightgbm's LGBMNotFittedError
            raise InvalidInput(
                f"{type(model).__name__} is not fitted; flavor 'lightgbm' saves fitted models only"
            ) from exc

    def _wrapper_state(self, model: Any) -> dict[str, Any]:
        objective = model._objective
        if callable(objective):
            raise InvalidInput(
                f"{type(model).__name__} uses a custom objective function, which LightGBM's "
                "format cannot hold; save it with flavor 'python_function' instead"
            )
        classes = getattr(model, "classes_", None)
        return {
            "feature_names": feature_names_of(model),
            "objective": objective,
            "classes": None if classes is None else classes.tolist(),
            # Hyper-parameters are informative; the booster alone decides predictions.
            "params": {k: v for k, v in model.get_params().items() if _is_jsonable(v)},
        }

    def load(self, payload: bytes, metadata: Mapping[str, Any]) -> Any:
        """Rebuild the Booster or wrapper named by ``metadata["wrapper"]``.

        Raises:
            InvalidInput: the metadata names a class this flavor does not load.
        """
        lightgbm = _import_lightgbm()
        booster = lightgbm.Booster(model_str=payload.decode("utf-8"))
        wrapper = str(metadata.get("wrapper", _BOOSTER))
        if wrapper == _BOOSTER:
            return booster
        if wrapper not in _WRAPPERS:
            accepted = ", ".join(sorted({*_WRAPPERS, _BOOSTER}))
            raise InvalidInput(
                f"lightgbm model metadata names wrapper {wrapper!r}; accepted: {accepted}"
            )
        return _restore(getattr(lightgbm, wrapper), booster, metadata)


def _restore(cls: Any, booster: Any, metadata: Mapping[str, Any]) -> Any:
    """A fitted wrapper around ``booster``, as ``LGBMModel.fit`` would have left it."""
    from sklearn.preprocessing import LabelEncoder

    model = cls(**dict(metadata.get("params") or {}))
    model._Booster = booster
    model._n_features = model._n_features_in = booster.num_feature()
    model._fitted_with_feature_names = bool(metadata.get("feature_names"))
    model._objective = metadata.get("objective")
    model._evals_result, model._best_score = {}, {}
    model._best_iteration = booster.best_iteration
    classes = metadata.get("classes")
    if classes is not None:
        encoder = LabelEncoder().fit(classes)
        model._le, model._classes, model._n_classes = encoder, encoder.classes_, len(classes)
        model._class_map = dict(
            zip(encoder.classes_, encoder.transform(encoder.classes_), strict=True)
        )
    model.fitted_ = True
    return model
