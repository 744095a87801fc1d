"""Model flavors: how each framework's model is saved as one blob and loaded back to predict.

Built-ins: ``xgboost`` and ``lightgbm`` in their native formats, ``sklearn`` and
``python_function`` as pickles. Third parties add a ``Flavor`` with ``register_flavor``.

Security: unpickling executes code chosen by whoever wrote the bytes. Steward therefore
unpickles only registered artifacts whose sha256 matches the registry record: the registry
checks the hash when it reads the blob, and ``load_model`` requires ``expected_sha256`` and
checks it again before any flavor sees the payload.
"""

from steward.flavors.base import Flavor, Predictor, SavedModel
from steward.flavors.lightgbm_native import LightGBMFlavor
from steward.flavors.loading import LoadedModel, load_model, verify_payload
from steward.flavors.pickled import PythonFunctionFlavor, SklearnFlavor
from steward.flavors.registry import (
    FALLBACK_FLAVOR,
    FLAVORS,
    detect_flavor,
    get_flavor,
    register_flavor,
    save_model,
)
from steward.flavors.schema import infer_output_schema, infer_schema
from steward.flavors.xgboost_native import XGBoostFlavor

__all__ = [
    "FALLBACK_FLAVOR",
    "FLAVORS",
    "Flavor",
    "LightGBMFlavor",
    "LoadedModel",
    "Predictor",
    "PythonFunctionFlavor",
    "SavedModel",
    "SklearnFlavor",
    "XGBoostFlavor",
    "detect_flavor",
    "get_flavor",
    "infer_output_schema",
    "infer_schema",
    "load_model",
    "register_flavor",
    "save_model",
    "verify_payload",
]
