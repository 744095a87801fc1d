"""The public surface of steward.predictions."""

from __future__ import annotations

from pathlib import Path

from steward import predictions

DOCS = Path(__file__).resolve().parents[2] / "docs" / "predictions.md"


def test_exported_names_are_the_public_api() -> None:
    assert sorted(predictions.__all__) == sorted(set(predictions.__all__))
    assert all(hasattr(predictions, name) for name in predictions.__all__)
    for name in ("PredictionLog", "PredictionRecord", "PredictionStore", "compact"):
        assert name in predictions.__all__


def test_every_public_name_is_documented() -> None:
    text = DOCS.read_text()
    assert [name for name in predictions.__all__ if f"`{name}" not in text] == []
