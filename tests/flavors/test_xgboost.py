from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from steward.errors import InvalidInput
from steward.flavors import save_model
from tests.flavors.conftest import RoundTrip


def test_classifier_round_trip_in_native_format(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    model = xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(features, labels)

    saved, loaded = roundtrip(model)

    assert saved.flavor == "xgboost"
    assert saved.metadata["wrapper"] == "XGBClassifier"
    assert saved.metadata["feature_names"] == ["age", "income", "tenure"]
    assert type(loaded.native) is xgb.XGBClassifier
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    np.testing.assert_array_equal(loaded.predict_proba(features), model.predict_proba(features))


def test_payload_is_ubjson_that_xgboost_loads_directly(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    model = xgb.XGBClassifier(n_estimators=4).fit(features, labels)
    saved, _ = roundtrip(model)

    booster = xgb.Booster()
    booster.load_model(bytearray(saved.payload))

    assert saved.payload.startswith(b"{L")  # UBJSON object, not a pickle
    expected = model.predict_proba(features)[:, 1]
    np.testing.assert_allclose(booster.predict(xgb.DMatrix(features)), expected, rtol=1e-6)


def test_regressor_round_trip(
    roundtrip: RoundTrip, features: pd.DataFrame, target: pd.Series[float]
) -> None:
    model = xgb.XGBRegressor(n_estimators=8).fit(features, target)

    _, loaded = roundtrip(model)

    assert type(loaded.native) is xgb.XGBRegressor
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def test_booster_round_trip_predicts_through_dmatrix(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    train = xgb.DMatrix(features, label=labels)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, train, num_boost_round=6)

    saved, loaded = roundtrip(booster)

    assert saved.metadata["wrapper"] == "Booster"
    assert saved.metadata["feature_names"] == ["age", "income", "tenure"]
    assert isinstance(loaded.native, xgb.Booster)
    expected = booster.predict(xgb.DMatrix(features))
    np.testing.assert_array_equal(loaded.predict(features), expected)
    np.testing.assert_array_equal(loaded.predict(features.to_dict("records")), expected)


def test_booster_gets_columns_in_training_order(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    train = xgb.DMatrix(features, label=labels)
    booster = xgb.train({"objective": "binary:logistic"}, train, num_boost_round=4)
    _, loaded = roundtrip(booster)

    shuffled = features[["income", "tenure", "age"]].assign(unused=0.0)

    np.testing.assert_array_equal(loaded.predict(shuffled), booster.predict(xgb.DMatrix(features)))


def test_unfitted_wrapper_is_refused() -> None:
    with pytest.raises(InvalidInput, match="XGBClassifier is not fitted"):
        save_model(xgb.XGBClassifier())
