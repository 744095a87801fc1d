"""Python-function models for serving tests: importable by path, so they pickle by reference."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


class Exploding:
    """A model whose every prediction raises, as a broken release would."""

    def predict(self, data: Any) -> Any:
        raise RuntimeError("model exploded")


class Sleepy:
    """A model that answers `value` after `seconds`: a model that blows its timeout."""

    def __init__(self, seconds: float, value: int = 7) -> None:
        self.seconds = seconds
        self.value = value

    def predict(self, data: Any) -> Any:
        time.sleep(self.seconds)
        return np.full(len(data), self.value)


class Constant:
    """A model that always answers `value`."""

    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, data: Any) -> Any:
        return np.full(len(data), self.value)
