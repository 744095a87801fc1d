"""`models:/` URIs and the references `resolve` accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward import registry
from steward.errors import InvalidInput, NotFound
from steward.registry.uris import ModelRef, parse_model_uri
from steward.store import Store

_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
_ALIASES = st.from_regex(r"[A-Za-z_-][A-Za-z0-9_-]{0,20}", fullmatch=True).filter(
    lambda alias: alias.lower() != "latest"
)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/churn/3", ModelRef("churn", version=3)),
        ("models:/churn@champion", ModelRef("churn", alias="champion")),
        ("models:/churn/latest", ModelRef("churn")),
        ("models:/my.model-v2_x/12", ModelRef("my.model-v2_x", version=12)),
    ],
)
def test_the_accepted_forms(uri: str, expected: ModelRef) -> None:
    assert parse_model_uri(uri) == expected
    assert str(expected) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "models:/",
        "models:/churn",
        "models:/churn/",
        "models:/churn/3/4",
        "models:/churn@",
        "models:/@champion",
        "models:churn/3",
        "runs:/abc/model",
        "models:/churn/3@champion",
        "",
    ],
)
def test_malformed_uris_show_the_accepted_forms(uri: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model_uri(uri)
    assert caught.value.message == (
        f"model URI {uri!r} is malformed; use models:/NAME/VERSION, models:/NAME@ALIAS "
        "or models:/NAME/latest"
    )


@given(name=_NAMES, version=st.integers(min_value=1, max_value=10**9))
def test_version_uris_round_trip(name: str, version: int) -> None:
    ref = ModelRef(name, version=version)
    assert parse_model_uri(str(ref)) == ref


@given(name=_NAMES, alias=_ALIASES)
def test_alias_uris_round_trip(name: str, alias: str) -> None:
    ref = ModelRef(name, alias=alias)
    assert parse_model_uri(str(ref)) == ref


def test_resolve_every_form(store: Store, version_fields: dict[str, Any]) -> None:
    for _ in range(3):
        registry.create_version(store, "churn", **version_fields, actor="a")
    registry.set_alias(store, "churn", "champion", 2, actor="a")
    cases: list[tuple[str, Any]] = [
        ("models:/churn/1", None),
        ("models:/churn@champion", None),
        ("models:/churn/latest", None),
        ("churn", 1),
        ("churn", "1"),
        ("churn", "champion"),
        ("churn", "latest"),
    ]
    assert [registry.resolve(store, ref, extra).version for ref, extra in cases] == [
        1,
        2,
        3,
        1,
        1,
        2,
        3,
    ]


def test_resolve_refuses_bad_references(store: Store, version_fields: dict[str, Any]) -> None:
    registry.create_model(store, "empty", actor="a")
    registry.create_version(store, "churn", **version_fields, actor="a")
    with pytest.raises(InvalidInput, match="pass only the URI"):
        registry.resolve(store, "models:/churn/1", 2)
    with pytest.raises(InvalidInput, match="use models:/NAME/VERSION"):
        registry.resolve(store, "churn/1")
    with pytest.raises(InvalidInput, match="'churn' names no version; use models:/NAME/VERSION"):
        registry.resolve(store, "churn")
    with pytest.raises(InvalidInput, match="versions start at 1"):
        registry.resolve(store, "models:/churn/0")
    with pytest.raises(InvalidInput, match="alias 'bad alias!' is invalid"):
        registry.resolve(store, "churn", "bad alias!")
    with pytest.raises(NotFound, match="no registered model 'chrun'; did you mean 'churn'"):
        registry.resolve(store, "models:/chrun/1")
    with pytest.raises(NotFound, match="has no version 5; its versions are 1 to 1"):
        registry.resolve(store, "models:/churn/5")
    with pytest.raises(NotFound, match="has no alias 'champion'; it has no aliases"):
        registry.resolve(store, "models:/churn@champion")
    with pytest.raises(NotFound, match="model 'empty' has no versions yet"):
        registry.resolve(store, "models:/empty/latest")
