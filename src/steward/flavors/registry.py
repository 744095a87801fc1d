"""The flavor registry: built-ins and third-party flavors, by name, in detection order."""

from __future__ import annotations

from typing import Any

from steward.errors import Conflict, InvalidInput, NotFound
from steward.flavors.base import Flavor, SavedModel
from steward.flavors.lightgbm_native import LightGBMFlavor
from steward.flavors.pickled import PythonFunctionFlavor, SklearnFlavor
from steward.flavors.xgboost_native import XGBoostFlavor

__all__ = [
    "FALLBACK_FLAVOR",
    "FLAVORS",
    "detect_flavor",
    "get_flavor",
    "register_flavor",
    "save_model",
]

FALLBACK_FLAVOR = "python_function"

FLAVORS: dict[str, Flavor] = {}
"""Every flavor by name. Detection asks them in this order, the fallback last."""


def register_flavor(flavor: Flavor, *, replace: bool = False) -> Flavor:
    """Make ``flavor`` available by its name for saving, loading and detection.

    Raises:
        InvalidInput: the flavor's name is empty or not a string.
        Conflict: another flavor holds the name and ``replace`` is false.
    """
    name = getattr(flavor, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"flavor name {name!r} is not accepted; expected a non-empty string")
    existing = FLAVORS.get(name)
    if existing is not None and existing is not flavor and not replace:
        raise Conflict(
            f"flavor {name!r} is already registered ({type(existing).__name__}); "
            "pass replace=True to override it"
        )
    FLAVORS[name] = flavor
    return flavor


def get_flavor(name: str) -> Flavor:
    """The registered flavor called ``name``.

    Raises:
        NotFound: no flavor has that name.
    """
    try:
        return FLAVORS[name]
    except KeyError:
        raise NotFound(f"no flavor {name!r}; registered flavors: {', '.join(FLAVORS)}") from None


def detect_flavor(model: Any) -> Flavor:
    """The first flavor that can save ``model``; ``python_function`` is asked last.

    Raises:
        InvalidInput: no flavor knows ``model``'s type.
    """
    ordered = [flavor for name, flavor in FLAVORS.items() if name != FALLBACK_FLAVOR]
    if FALLBACK_FLAVOR in FLAVORS:
        ordered.append(FLAVORS[FALLBACK_FLAVOR])
    for flavor in ordered:
        if flavor.can_save(model):
            return flavor
    cls = type(model)
    raise InvalidInput(
        f"no flavor can save a model of type {cls.__module__}.{cls.__qualname__}; accepted: "
        "xgboost and lightgbm models, scikit-learn estimators, or any object with a "
        f"callable predict (registered flavors: {', '.join(FLAVORS)})"
    )


def save_model(model: Any, flavor: str | None = None) -> SavedModel:
    """Serialise ``model`` with the named flavor, or the first one that knows its type.

    ``model`` is typed ``Any``: it is the user's framework object.

    Raises:
        NotFound: ``flavor`` names no registered flavor.
        InvalidInput: the flavor cannot save ``model``, or no flavor can.
    """
    if flavor is None:
        return detect_flavor(model).save(model)
    chosen = get_flavor(flavor)
    if not chosen.can_save(model):
        raise InvalidInput(
            f"flavor {flavor!r} cannot save a model of type {type(model).__qualname__}; "
            "leave flavor unset to detect one"
        )
    return chosen.save(model)


for _builtin in (XGBoostFlavor(), LightGBMFlavor(), SklearnFlavor(), PythonFunctionFlavor()):
    register_flavor(_builtin)
