"""The router on its own: weights, sticky keys, pins."""

from __future__ import annotations

from collections import Counter

import pytest

from steward.errors import InvalidInput
from steward.flavors import LoadedModel
from steward.serving.entities import ServedVersion
from steward.serving.inputs import FrameInput
from steward.serving.models import ServedModel
from steward.serving.router import Router, sticky_point
from tests.serving.models import Constant


def served(version: int, *aliases: str) -> ServedModel:
    record = ServedVersion("churn", version, "0" * 64, "python_function", {}, [], None, aliases)
    return ServedModel(
        record, LoadedModel("python_function", Constant(version)), None, FrameInput(None)
    )


def test_weights_are_honoured() -> None:
    one, two, three = served(1), served(2), served(3)
    router = Router([(one, 70), (two, 20), (three, 10)], [one, two, three])
    counts = Counter(router.choose().version.version for _ in range(20_000))
    assert abs(counts[1] / 20_000 - 0.70) < 0.02
    assert abs(counts[2] / 20_000 - 0.20) < 0.02
    assert abs(counts[3] / 20_000 - 0.10) < 0.02


def test_a_zero_weight_gets_no_traffic_but_can_be_pinned() -> None:
    one, two = served(1, "champion"), served(2, "challenger")
    router = Router([(one, 100), (two, 0)], [one, two])
    assert {router.choose().version.version for _ in range(1000)} == {1}
    assert router.pinned("2") is two
    assert router.pinned("@challenger") is two
    with pytest.raises(
        InvalidInput, match=r"'7' names no version loaded here; loaded: 1 @champion, 2 @challenger"
    ):
        router.pinned("7")


def test_sticky_keys_always_reach_the_same_version_and_split_by_weight() -> None:
    one, two = served(1), served(2)
    router = Router([(one, 50), (two, 50)], [one, two])
    chosen = {f"customer-{i}": router.choose(f"customer-{i}").version.version for i in range(2000)}
    for key, version in list(chosen.items())[:200]:
        assert {router.choose(key).version.version for _ in range(5)} == {version}
    share = sum(1 for version in chosen.values() if version == 1) / len(chosen)
    assert 0.45 < share < 0.55


def test_sticky_points_are_stable_across_processes() -> None:
    # Pinned values: the hash must not depend on PYTHONHASHSEED or the process.
    assert sticky_point("customer-42") == pytest.approx(0.20265168573428766)
    assert sticky_point(42) == sticky_point("42")


@pytest.mark.parametrize("weights", [[], [0, 0], [50, -1]])
def test_unusable_weights_are_refused(weights: list[float]) -> None:
    models = [served(i + 1) for i in range(len(weights))]
    with pytest.raises(InvalidInput, match="traffic weights"):
        Router(list(zip(models, weights, strict=True)), models)
