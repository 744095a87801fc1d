from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from steward.errors import IntegrityError, InvalidInput, NotFound
from steward.flavors import FLAVORS, SavedModel, load_model, save_model
from tests.flavors.conftest import RoundTrip


class RecordingFlavor:
    """A flavor that notes every payload it is asked to load."""

    name = "recording"

    def __init__(self) -> None:
        self.loaded: list[bytes] = []

    def can_save(self, model: Any) -> bool:
        return False

    def save(self, model: Any) -> SavedModel:
        raise NotImplementedError

    def load(self, payload: bytes, metadata: Mapping[str, Any]) -> Any:
        self.loaded.append(payload)
        return object()


def test_hash_mismatch_is_refused_before_the_flavor_sees_the_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flavor = RecordingFlavor()
    monkeypatch.setitem(FLAVORS, flavor.name, flavor)
    registered = hashlib.sha256(b"the registered bytes").hexdigest()
    tampered = b"tampered bytes"

    with pytest.raises(IntegrityError) as caught:
        load_model("recording", tampered, {}, expected_sha256=registered)

    assert registered in caught.value.message
    assert hashlib.sha256(tampered).hexdigest() in caught.value.message
    assert flavor.loaded == []


def test_matching_hash_is_accepted_in_upper_case(
    features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    saved = save_model(LogisticRegression().fit(features, labels))
    digest = hashlib.sha256(saved.payload).hexdigest().upper()

    loaded = load_model(saved.flavor, saved.payload, saved.metadata, expected_sha256=digest)

    assert loaded.flavor == "sklearn"


def test_unknown_flavor_name_is_not_found() -> None:
    payload = b"x"
    digest = hashlib.sha256(payload).hexdigest()

    with pytest.raises(NotFound, match=r"no flavor 'onnx'; registered flavors: xgboost"):
        load_model("onnx", payload, {}, expected_sha256=digest)


def test_dataframe_columns_are_put_in_training_order(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    model = LogisticRegression(max_iter=500).fit(features, labels)
    _, loaded = roundtrip(model)
    shuffled = features[["tenure", "age", "income"]].assign(extra=1)

    np.testing.assert_array_equal(loaded.predict(shuffled), model.predict(features))
    np.testing.assert_array_equal(loaded.predict(features.to_numpy()), model.predict(features))


def test_missing_column_is_named(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    _, loaded = roundtrip(LogisticRegression().fit(features, labels))

    with pytest.raises(InvalidInput, match=r"lacks column\(s\) 'income'") as caught:
        loaded.predict(features.drop(columns="income"))

    assert caught.value.field == "income"


def test_array_of_the_wrong_width_is_refused(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    _, loaded = roundtrip(LogisticRegression().fit(features, labels))

    with pytest.raises(InvalidInput, match=r"shape \(240, 2\); expected 2-D with 3 columns"):
        loaded.predict(features.to_numpy()[:, :2])


@pytest.mark.parametrize("data", ["age,income", 42, []])
def test_unsupported_input_is_refused(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int], data: Any
) -> None:
    _, loaded = roundtrip(LogisticRegression().fit(features, labels))

    with pytest.raises(InvalidInput, match="model input"):
        loaded.predict(data)


def test_regressor_has_no_probabilities(
    roundtrip: RoundTrip, features: pd.DataFrame, target: pd.Series[float]
) -> None:
    _, loaded = roundtrip(LinearRegression().fit(features, target))

    with pytest.raises(InvalidInput, match=r"LinearRegression .* has no class probabilities"):
        loaded.predict_proba(features)


def test_list_of_dicts_predicts_like_a_dataframe(
    roundtrip: RoundTrip, features: pd.DataFrame, target: pd.Series[float]
) -> None:
    model = LinearRegression().fit(features, target)
    _, loaded = roundtrip(model)

    predictions = loaded.predict(features.head(5).to_dict("records"))

    np.testing.assert_array_equal(predictions, model.predict(features.head(5)))
