"""Aliases: set, move atomically, delete, resolve; each change audited with before and after."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from steward import audit, registry
from steward.errors import InvalidInput, NotFound
from steward.store import Store


@pytest.fixture
def churn(store: Store, version_fields: dict[str, Any]) -> str:
    """Model 'churn' with versions 1 to 3."""
    for _ in range(3):
        registry.create_version(store, "churn", **version_fields, actor="alice")
    return "churn"


def _alias_events(store: Store) -> list[tuple[str, str, Any, Any]]:
    events = audit.list_events(store, target_type="model_alias", limit=1000)
    return [(e.action, e.target_id, e.before, e.after) for e in events]


def test_set_move_and_delete_an_alias(store: Store, churn: str) -> None:
    first = registry.set_alias(store, churn, "champion", 1, actor="alice")
    assert (first.version, first.aliases) == (1, ("champion",))
    moved = registry.set_alias(store, churn, "champion", 2, actor="bob")
    assert (moved.version, moved.aliases) == (2, ("champion",))
    assert registry.get_version(store, churn, 1).aliases == ()
    assert registry.get_alias(store, churn, "champion").version == 2
    assert registry.get_model(store, churn).aliases == {"champion": 2}
    registry.delete_alias(store, churn, "champion", actor="carol")
    assert registry.get_model(store, churn).aliases == {}
    assert _alias_events(store) == [
        ("model_alias.set", "churn@champion", None, {"version": 1}),
        ("model_alias.set", "churn@champion", {"version": 1}, {"version": 2}),
        ("model_alias.delete", "churn@champion", {"version": 2}, None),
    ]
    actors = [e.actor for e in audit.list_events(store, target_type="model_alias")]
    assert actors == ["alice", "bob", "carol"]


def test_setting_an_alias_where_it_is_writes_nothing(store: Store, churn: str, state: Any) -> None:
    registry.set_alias(store, churn, "champion", 3, actor="alice")
    before = state()
    assert registry.set_alias(store, churn, "champion", 3, actor="bob").aliases == ("champion",)
    assert state() == before


def test_several_aliases_on_one_version(store: Store, churn: str) -> None:
    registry.set_alias(store, churn, "champion", 2, actor="a")
    both = registry.set_alias(store, churn, "blue", 2, actor="a")
    assert both.aliases == ("blue", "champion")
    assert [v.aliases for v in registry.list_versions(store, churn)] == [
        (),
        ("blue", "champion"),
        (),
    ]


def test_readers_never_see_an_alias_missing_while_it_moves(store: Store, churn: str) -> None:
    registry.set_alias(store, churn, "champion", 1, actor="a")
    done = threading.Event()
    seen: set[int] = set()
    failures: list[BaseException] = []

    def read() -> None:
        while not done.is_set():
            try:
                seen.add(registry.resolve(store, "models:/churn@champion").version)
            except BaseException as exc:  # reported below
                failures.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    for step in range(30):
        registry.set_alias(store, churn, "champion", 1 + step % 3, actor="mover")
    done.set()
    reader.join(timeout=60)
    assert failures == []
    assert seen <= {1, 2, 3}


def test_concurrent_moves_are_audited_as_one_unbroken_history(store: Store, churn: str) -> None:
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def move(worker: int) -> None:
        start.wait(timeout=30)
        try:
            for step in range(10):
                registry.set_alias(store, churn, "champion", 1 + (worker + step) % 3, actor="x")
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=move, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    events = _alias_events(store)
    # Each move's `before` is exactly the previous move's `after`: no lost or stale reads.
    assert [before for _, _, before, _ in events[1:]] == [after for _, _, _, after in events[:-1]]
    final = registry.get_alias(store, churn, "champion").version
    assert events[-1][3] == {"version": final}
    assert audit.verify(store).is_intact


@pytest.mark.parametrize("alias", ["", "latest", "Latest", "42", "has space", "a/b", "x" * 65, "é"])
def test_bad_alias_names_are_refused(store: Store, churn: str, state: Any, alias: str) -> None:
    before = state()
    with pytest.raises(InvalidInput) as caught:
        registry.set_alias(store, churn, alias, 1, actor="a")
    assert caught.value.field == "alias"
    assert state() == before


def test_unknown_model_or_version_leaves_aliases_untouched(
    store: Store, churn: str, state: Any
) -> None:
    before = state()
    with pytest.raises(NotFound, match="no registered model 'chrun'; did you mean 'churn'"):
        registry.set_alias(store, "chrun", "champion", 1, actor="a")
    with pytest.raises(NotFound, match="has no version 9; its versions are 1 to 3"):
        registry.set_alias(store, churn, "champion", 9, actor="a")
    with pytest.raises(InvalidInput, match="versions are whole numbers from 1"):
        registry.set_alias(store, churn, "champion", 0, actor="a")
    with pytest.raises(InvalidInput, match="actor"):
        registry.set_alias(store, churn, "champion", 1, actor=" ")
    assert state() == before


def test_an_unknown_alias_names_the_ones_that_exist(store: Store, churn: str) -> None:
    registry.set_alias(store, churn, "champion", 1, actor="a")
    with pytest.raises(NotFound) as caught:
        registry.get_alias(store, churn, "champoin")
    assert caught.value.message == (
        "model 'churn' has no alias 'champoin'; did you mean 'champion'?; its aliases: champion "
        "(set one: steward models alias set churn champoin VERSION)"
    )
    with pytest.raises(NotFound, match="has no alias 'gone'"):
        registry.delete_alias(store, churn, "gone", actor="a")
