"""Loading a version for serving: the input path chosen, the answers, the local cache."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from steward import flavors, registry
from steward.contracts import infer_contract
from steward.errors import InvalidInput
from steward.serving.cache import ServingCache
from steward.serving.entities import ServedVersion, ServingSpec, WeightedTarget
from steward.serving.inputs import FrameInput, MatrixInput
from steward.serving.models import load_served_model
from steward.serving.sources import spec_from_version
from steward.store import Store
from tests.serving.conftest import row
from tests.serving.models import Constant


def served_version(
    model: Any, sample: pd.DataFrame | None, contract: Any = None
) -> tuple[ServedVersion, bytes]:
    saved = flavors.save_model(model)
    version = ServedVersion(
        model_name="m",
        version=1,
        artifact_digest=hashlib.sha256(saved.payload).hexdigest(),
        flavor=saved.flavor,
        flavor_metadata=saved.metadata,
        input_schema=flavors.infer_schema(sample) if sample is not None else [],
        contract=contract,
    )
    return version, saved.payload


def test_a_numeric_sklearn_model_takes_the_matrix_fast_path(
    classifier: Any, frame: pd.DataFrame, contract: Any
) -> None:
    version, payload = served_version(classifier, frame.head(5), contract)
    served = load_served_model(version, payload)
    assert isinstance(served.builder, MatrixInput)
    rows = [row(frame, i) for i in range(20)]
    answer = served.predict(rows, probabilities=True)
    assert answer.predictions == classifier.predict(frame.head(20)).tolist()
    assert answer.probabilities is not None
    assert np.allclose(answer.probabilities, classifier.predict_proba(frame.head(20)))
    with pytest.raises(InvalidInput, match="row 1 lacks column 'age'"):
        served.predict([rows[0], {k: v for k, v in rows[1].items() if k != "age"}])


def test_a_pipeline_on_categories_keeps_the_flavor_path(frame: pd.DataFrame, labels: Any) -> None:
    data = frame.assign(plan=np.where(frame["visits"] > 15, "gold", "basic"))
    encoder = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder="passthrough"
    )
    model = make_pipeline(encoder, LogisticRegression(max_iter=500)).fit(data, labels)
    version, payload = served_version(model, data.head(5), infer_contract(data).to_dict())
    served = load_served_model(version, payload)
    assert isinstance(served.builder, FrameInput)
    rows = [{**row(frame, i), "plan": str(data["plan"].iloc[i])} for i in range(10)]
    assert served.predict(rows).predictions == model.predict(data.head(10)).tolist()
    assert served.violations([{**rows[0], "plan": "platinum"}])[0].kind == "unseen_category"


def test_a_python_function_model_is_called_through_its_flavor() -> None:
    version, payload = served_version(Constant(3), None)
    served = load_served_model(version, payload)
    assert isinstance(served.builder, FrameInput)
    assert served.validator is None
    assert served.predict([{"a": 1}, {"a": 2}]).predictions == [3, 3]


def test_specs_round_trip_through_the_cache(churn: Store, tmp_path: Path) -> None:
    record = registry.resolve(churn, "models:/churn@champion")
    spec = spec_from_version("models:/churn@champion", record)
    endpoint_like = ServingSpec(
        name="churn-prod",
        model_name="churn",
        traffic=(WeightedTarget("@champion", spec.traffic[0].version, 90.0),),
        shadow=(spec.traffic[0].version,),
        default_response={"label": 0},
        sticky_key="customer_id",
        contract_mode="warn",
        timeout_ms=250,
        fingerprint="abc",
    )
    cache = ServingCache(tmp_path / "cache")
    assert cache.load("endpoint:churn-prod") is None
    cache.save("endpoint:churn-prod", endpoint_like)
    assert cache.load("endpoint:churn-prod") == endpoint_like
    assert spec.versions[0].aliases == ("champion",)
    assert [v.key for v in endpoint_like.versions] == ["churn/1"]


def test_a_spec_of_an_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidInput, match="serving spec format 7 is not supported"):
        ServingSpec.from_dict({"format": 7})
    with pytest.raises(InvalidInput, match="routes traffic to no version"):
        ServingSpec(name="x", model_name="m", traffic=())
