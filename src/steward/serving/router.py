"""Choosing the version that answers a request: weighted split, sticky A/B, or a pin.

A sticky key's value is hashed to a point in [0, 1) with a hash that is the same in every
process and on every replica, so one customer always lands on the same version for as long
as the weights stay the same.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Sequence
from itertools import accumulate

from steward.errors import InvalidInput
from steward.serving.models import ServedModel

__all__ = ["PIN_HEADER", "Router", "sticky_point"]

PIN_HEADER = "x-steward-version"
"""Request header pinning a request to one loaded version (`3`) or alias (`@champion`)."""

_SCALE = float(1 << 64)


def sticky_point(value: object) -> float:
    """Where a sticky key's value falls in [0, 1); stable across processes and replicas."""
    digest = hashlib.blake2b(str(value).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


class Router:
    """Picks a primary model by weight, by sticky key, or by pin.

    Args:
        targets: (model, weight in percent) pairs; weights need not sum to 100.
        pinnable: every loaded model a pin may name (traffic, shadow and fallback).

    Raises:
        InvalidInput: no target, a negative weight, or all weights zero.
    """

    __slots__ = ("_bounds", "_models", "_pinnable", "_single")

    def __init__(
        self, targets: Sequence[tuple[ServedModel, float]], pinnable: Sequence[ServedModel]
    ) -> None:
        weights = [float(weight) for _, weight in targets]
        if not targets or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise InvalidInput(
                f"traffic weights {weights} are not usable; give at least one positive weight"
            )
        total = sum(weights)
        self._models = tuple(model for model, _ in targets)
        self._bounds = [bound / total for bound in accumulate(weights)]
        self._single = self._models[0] if len(self._models) == 1 else None
        self._pinnable = tuple(pinnable)

    def choose(self, sticky_value: object | None = None) -> ServedModel:
        """The primary for one request: by the sticky value's hash, else at random."""
        if self._single is not None:
            return self._single
        point = random.random() if sticky_value is None else sticky_point(sticky_value)
        index = bisect.bisect_right(self._bounds, point)
        return self._models[min(index, len(self._models) - 1)]

    def pinned(self, pin: str) -> ServedModel:
        """The loaded model a pin names: a version number (`3`) or an alias (`@champion`).

        Raises:
            InvalidInput: the pin names no loaded version (the message lists them).
        """
        text = pin.strip()
        for model in self._pinnable:
            version = model.version
            if text == str(version.version) or text.lstrip("@") in version.aliases:
                return model
        served = ", ".join(_describe(model) for model in self._pinnable)
        raise InvalidInput(
            f"header {PIN_HEADER}: {pin!r} names no version loaded here; loaded: {served} "
            "(pin a version number such as 3, or an alias such as @champion)",
            field=PIN_HEADER,
        )


def _describe(model: ServedModel) -> str:
    aliases = "".join(f" @{alias}" for alias in model.version.aliases)
    return f"{model.version.version}{aliases}"
