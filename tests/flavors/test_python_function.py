from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import pytest

from steward.errors import InvalidInput
from steward.flavors import load_model, save_model
from tests.flavors.conftest import RoundTrip


class Threshold:
    """A hand-written model: importable from this module, so it pickles by reference."""

    def __init__(self, column: str, cut: float) -> None:
        self.column = column
        self.cut = cut

    def predict(self, data: Any) -> Any:
        return (pd.DataFrame(data)[self.column] > self.cut).astype(int).to_numpy()


def test_custom_class_round_trip(roundtrip: RoundTrip, features: pd.DataFrame) -> None:
    model = Threshold("income", 50.0)

    saved, loaded = roundtrip(model)

    assert saved.flavor == "python_function"
    assert saved.metadata["class"].endswith("Threshold")
    assert isinstance(loaded.native, Threshold)
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    np.testing.assert_array_equal(
        loaded.predict(features.to_dict("records")), model.predict(features)
    )


def test_custom_class_without_probabilities_says_so(
    roundtrip: RoundTrip, features: pd.DataFrame
) -> None:
    _, loaded = roundtrip(Threshold("income", 50.0))

    with pytest.raises(InvalidInput, match=r"Threshold .* has no class probabilities"):
        loaded.predict_proba(features)


def test_class_defined_in_a_function_is_refused_clearly() -> None:
    class Local:
        def predict(self, data: Any) -> Any:
            return data

    with pytest.raises(InvalidInput, match=r"cannot be pickled .* importable module"):
        save_model(Local())


def test_class_missing_where_loaded_is_explained() -> None:
    saved = save_model(Threshold("income", 50.0))
    payload = saved.payload.replace(b"Threshold", b"Vanished!")
    digest = hashlib.sha256(payload).hexdigest()

    with pytest.raises(InvalidInput, match=r"cannot be imported here .* same module path"):
        load_model(saved.flavor, payload, saved.metadata, expected_sha256=digest)
