from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest
import xgboost as xgb
from sklearn.linear_model import LogisticRegression

from steward.errors import Conflict, InvalidInput, NotFound
from steward.flavors import FLAVORS, SavedModel, detect_flavor, register_flavor, save_model


class Scorer:
    def predict(self, data: Any) -> Any:
        return data


class ScorerFlavor:
    name = "scorer"

    def can_save(self, model: Any) -> bool:
        return isinstance(model, Scorer)

    def save(self, model: Any) -> SavedModel:
        return SavedModel(self.name, b"scorer", {})

    def load(self, payload: bytes, metadata: Mapping[str, Any]) -> Any:
        return Scorer()


def test_built_ins_are_registered_in_detection_order() -> None:
    assert list(FLAVORS)[:4] == ["xgboost", "lightgbm", "sklearn", "python_function"]


def test_xgboost_wrapper_is_detected_before_sklearn(
    features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    model = xgb.XGBClassifier(n_estimators=2).fit(features, labels)

    assert detect_flavor(model).name == "xgboost"


def test_unknown_object_is_refused_naming_its_type() -> None:
    with pytest.raises(InvalidInput, match=r"type builtins\.dict; accepted: xgboost"):
        save_model({"weights": [1, 2]})


def test_named_flavor_that_cannot_save_the_model(
    features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    model = LogisticRegression().fit(features, labels)

    with pytest.raises(InvalidInput, match=r"flavor 'xgboost' cannot save .*LogisticRegression"):
        save_model(model, flavor="xgboost")
    with pytest.raises(NotFound, match="no flavor 'pmml'"):
        save_model(model, flavor="pmml")


def test_explicit_python_function_for_an_sklearn_model(
    features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    saved = save_model(LogisticRegression().fit(features, labels), flavor="python_function")

    assert saved.flavor == "python_function"


def test_third_party_flavor_is_detected_before_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("steward.flavors.registry.FLAVORS", dict(FLAVORS))
    register_flavor(ScorerFlavor())

    assert save_model(Scorer()).flavor == "scorer"


def test_a_taken_name_needs_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("steward.flavors.registry.FLAVORS", dict(FLAVORS))
    impostor = ScorerFlavor()
    impostor.name = "sklearn"

    with pytest.raises(Conflict, match="flavor 'sklearn' is already registered"):
        register_flavor(impostor)
    assert register_flavor(impostor, replace=True) is impostor


def test_detection_never_imports_optional_libraries() -> None:
    script = (
        "import sys\n"
        "import steward.flavors as f\n"
        "class Scorer:\n"
        "    def predict(self, data): return data\n"
        "assert f.save_model(Scorer()).flavor == 'python_function'\n"
        "print(sorted(m for m in ('xgboost', 'lightgbm', 'sklearn') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )

    assert result.stdout.strip() == "[]"
