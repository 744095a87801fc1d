from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from steward.errors import InvalidInput
from steward.flavors import save_model
from tests.flavors.conftest import RoundTrip


def test_classifier_round_trip_in_native_format(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    model = lgb.LGBMClassifier(n_estimators=8, verbose=-1).fit(features, labels)

    saved, loaded = roundtrip(model)

    assert saved.flavor == "lightgbm"
    assert saved.payload.startswith(b"tree")
    assert lgb.Booster(model_str=saved.payload.decode()).num_feature() == 3
    assert type(loaded.native) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    np.testing.assert_array_equal(loaded.predict_proba(features), model.predict_proba(features))
    np.testing.assert_array_equal(loaded.native.classes_, model.classes_)


def test_multiclass_classifier_with_string_labels(
    roundtrip: RoundTrip, features: pd.DataFrame
) -> None:
    plan = np.where(
        features["age"] > 55, "gold", np.where(features["income"] > 50, "silver", "basic")
    )
    model = lgb.LGBMClassifier(n_estimators=8, verbose=-1).fit(features, plan)

    _, loaded = roundtrip(model)

    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    assert loaded.predict_proba(features).shape == (len(features), 3)


def test_regressor_round_trip(
    roundtrip: RoundTrip, features: pd.DataFrame, target: pd.Series[float]
) -> None:
    model = lgb.LGBMRegressor(n_estimators=8, verbose=-1).fit(features, target)

    _, loaded = roundtrip(model)

    assert type(loaded.native) is lgb.LGBMRegressor
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def test_booster_round_trip(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    params = {"objective": "binary", "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(features, label=labels), num_boost_round=6)

    saved, loaded = roundtrip(booster)

    assert saved.metadata["wrapper"] == "Booster"
    assert saved.metadata["feature_names"] == ["age", "income", "tenure"]
    assert isinstance(loaded.native, lgb.Booster)
    np.testing.assert_array_equal(loaded.predict(features), booster.predict(features))


def test_booster_trained_on_arrays_has_no_feature_order(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    params = {"objective": "binary", "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(features.to_numpy(), label=labels), num_boost_round=3)

    saved, loaded = roundtrip(booster)

    assert saved.metadata["feature_names"] is None
    np.testing.assert_array_equal(
        loaded.predict(features.to_numpy()), booster.predict(features.to_numpy())
    )


def test_booster_gets_columns_in_training_order(
    roundtrip: RoundTrip, features: pd.DataFrame, labels: pd.Series[int]
) -> None:
    # A bare Booster reads columns by position: without reordering this would silently be wrong.
    params = {"objective": "binary", "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(features, label=labels), num_boost_round=6)
    _, loaded = roundtrip(booster)

    shuffled = features[["tenure", "income", "age"]]

    np.testing.assert_array_equal(loaded.predict(shuffled), booster.predict(features))


def test_unfitted_wrapper_is_refused() -> None:
    with pytest.raises(InvalidInput, match="LGBMRegressor is not fitted"):
        save_model(lgb.LGBMRegressor())
