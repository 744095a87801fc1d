from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.linear_model import LogisticRegression

from steward.flavors import infer_output_schema, infer_schema


def test_dataframe_schema_names_columns_and_portable_types() -> None:
    frame = pd.DataFrame(
        {
            "age": [30, 40],
            "income": [1.5, 2.5],
            "plan": ["gold", "basic"],
            "active": [True, False],
            "segment": pd.Categorical(["a", "b"]),
            "joined": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True),
        }
    )

    schema = infer_schema(frame)

    assert [(c["name"], c["type"]) for c in schema] == [
        ("age", "integer"),
        ("income", "float"),
        ("plan", "string"),
        ("active", "boolean"),
        ("segment", "category"),
        ("joined", "datetime"),
    ]
    assert schema[0]["dtype"] == "int64"


def test_array_schema_names_columns_by_position() -> None:
    schema = infer_schema(np.zeros((4, 2), dtype=np.float32))

    assert schema == [
        {"name": "0", "type": "float", "dtype": "float32"},
        {"name": "1", "type": "float", "dtype": "float32"},
    ]


def test_output_schema_of_a_classifier(features: pd.DataFrame, labels: pd.Series[int]) -> None:
    model = LogisticRegression().fit(features, labels)

    assert infer_output_schema(model, features.head()) == [
        {"name": "prediction", "type": "integer", "dtype": "int64"}
    ]


def test_output_schema_of_a_multiclass_booster(features: pd.DataFrame) -> None:
    classes = (features["age"] // 30).astype(int)
    params = {"objective": "multi:softprob", "num_class": 3}
    booster = xgb.train(params, xgb.DMatrix(features, label=classes), num_boost_round=2)

    schema = infer_output_schema(booster, features.head())

    assert [c["name"] for c in schema] == ["prediction_0", "prediction_1", "prediction_2"]
    assert {c["type"] for c in schema} == {"float"}
