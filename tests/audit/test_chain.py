"""The audit chain: appending, listing, and verifying against tampering on each backend."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from threading import Barrier

import pytest
import sqlalchemy as sa

from steward import audit
from steward.audit import GENESIS_HASH, ChainHead
from steward.errors import InvalidInput
from steward.store import Database, Store
from steward.store.tables import audit_events


def _append(store: Store, count: int, *, actor: str = "alice", start: int = 0) -> None:
    for i in range(start, start + count):
        with store.db.write() as conn:
            audit.record(
                conn,
                at_ms=1_700_000_000_000 + i,
                actor=actor,
                action="model.create" if i % 2 == 0 else "model_alias.set",
                target_type="model",
                target_id=f"m{i % 3}",
                before=None if i == 0 else {"version": i},
                after={"version": i + 1, "tags": {"k": "v"}, "score": 0.1 * i},
            )


def _tamper(store: Store, statement: sa.Executable) -> None:
    with store.db.write() as conn:
        conn.execute(statement)


def test_events_are_dense_and_hash_chained_from_genesis(store: Store) -> None:
    _append(store, 3)
    events = audit.list_events(store)
    assert [event.seq for event in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert [event.prev_hash for event in events[1:]] == [event.hash for event in events[:-1]]
    first = events[0]
    # The documented format, computed independently of the package.
    content = json.dumps(
        {
            "seq": 1,
            "at_ms": first.at_ms,
            "actor": "alice",
            "action": "model.create",
            "target_type": "model",
            "target_id": "m0",
            "before": None,
            "after": {"version": 1, "tags": {"k": "v"}, "score": 0.0},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    assert first.hash == hashlib.sha256(("0" * 64 + content).encode()).hexdigest()
    assert first.at.year == 2023


def test_event_rolls_back_with_the_callers_transaction(store: Store) -> None:
    def change_then_fail() -> None:
        with store.db.write() as conn:
            audit.record(conn, at_ms=1, actor="a", action="x", target_type="t", target_id="1")
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert audit.list_events(store) == []
    _append(store, 1)
    assert audit.list_events(store)[0].seq == 1


def test_list_filters_and_pages(store: Store) -> None:
    _append(store, 6)
    assert [e.seq for e in audit.list_events(store, target_id="m1")] == [2, 5]
    assert [e.seq for e in audit.list_events(store, action="model_alias.set")] == [2, 4, 6]
    assert [e.seq for e in audit.list_events(store, target_type="nope")] == []
    page = audit.list_events(store, limit=4)
    assert [e.seq for e in page] == [1, 2, 3, 4]
    assert [e.seq for e in audit.list_events(store, after_seq=page[-1].seq)] == [5, 6]


@pytest.mark.parametrize(("limit", "after_seq"), [(0, None), (10_001, None), (10, -1)])
def test_list_refuses_bad_paging(store: Store, limit: int, after_seq: int | None) -> None:
    with pytest.raises(InvalidInput, match=r"^(limit|after_seq) "):
        audit.list_events(store, limit=limit, after_seq=after_seq)


@pytest.mark.parametrize(
    ("field", "value"),
    [("actor", ""), ("actor", "x" * 257), ("action", "  "), ("after", {"auc": float("nan")})],
)
def test_bad_events_are_refused_and_nothing_is_written(
    store: Store, field: str, value: object
) -> None:
    fields: dict[str, object] = {"actor": "a", "action": "x", "after": None} | {field: value}
    with pytest.raises(InvalidInput, match=field), store.db.write() as conn:
        audit.record(conn, at_ms=1, target_type="t", target_id="1", **fields)  # type: ignore[arg-type]
    assert audit.list_events(store) == []


def test_verify_an_empty_and_an_intact_log(store: Store) -> None:
    assert audit.verify(store) == audit.VerifyResult(is_intact=True, checked=0)
    _append(store, 5)
    result = audit.verify(store)
    assert (result.is_intact, result.checked, result.first_broken_seq) == (True, 5, None)
    assert result.head == audit.head(store)
    assert result.head is not None
    assert result.head.seq == 5


def test_verify_streams_a_log_longer_than_one_batch(store: Store) -> None:
    with store.db.write() as conn:
        for i in range(1_100):
            audit.record(conn, at_ms=i, actor="bulk", action="x", target_type="t", target_id="1")
    assert audit.verify(store).checked == 1_100


@pytest.mark.parametrize(
    "change",
    [
        {"after": {"version": 999}},
        {"actor": "mallory"},
        {"at_ms": 1},
        {"before": None},
        {"target_id": "m9"},
    ],
)
def test_verify_names_an_altered_event(store: Store, change: dict[str, object]) -> None:
    _append(store, 5)
    _tamper(store, audit_events.update().where(audit_events.c.seq == 3).values(**change))
    result = audit.verify(store)
    assert (result.is_intact, result.first_broken_seq, result.checked) == (False, 3, 2)
    assert result.reason is not None
    assert "event 3 was altered" in result.reason


def test_verify_names_a_deleted_middle_event(store: Store) -> None:
    _append(store, 5)
    _tamper(store, audit_events.delete().where(audit_events.c.seq == 2))
    result = audit.verify(store)
    assert (result.is_intact, result.first_broken_seq) == (False, 2)
    assert result.reason is not None
    assert "event 2 is missing" in result.reason


def test_verify_catches_a_deletion_hidden_by_renumbering(store: Store) -> None:
    _append(store, 5)
    _tamper(store, audit_events.delete().where(audit_events.c.seq == 2))
    for seq in (3, 4, 5):  # close the gap, keeping the stored hashes
        _tamper(store, audit_events.update().where(audit_events.c.seq == seq).values(seq=seq - 1))
    result = audit.verify(store)
    assert (result.is_intact, result.first_broken_seq) == (False, 2)


def test_verify_catches_reordered_events(store: Store) -> None:
    _append(store, 5)
    swap = [(2, 100), (3, 2), (100, 3)]
    for old, new in swap:
        _tamper(store, audit_events.update().where(audit_events.c.seq == old).values(seq=new))
    result = audit.verify(store)
    assert (result.is_intact, result.first_broken_seq) == (False, 2)


def test_verify_catches_a_forged_prev_hash(store: Store) -> None:
    _append(store, 4)
    _tamper(store, audit_events.update().where(audit_events.c.seq == 4).values(prev_hash="f" * 64))
    result = audit.verify(store)
    assert (result.is_intact, result.first_broken_seq) == (False, 4)


def test_deleting_the_newest_event_needs_an_anchor_to_be_seen(store: Store) -> None:
    _append(store, 5)
    anchor = audit.head(store)
    assert anchor is not None
    _tamper(store, audit_events.delete().where(audit_events.c.seq == 5))
    # The documented limitation: a shorter chain is still a valid chain...
    assert audit.verify(store).is_intact
    # ...unless compared with a head kept outside the database.
    result = audit.verify(store, anchor=anchor)
    assert (result.is_intact, result.first_broken_seq) == (False, 5)
    assert result.reason is not None
    assert "events 5 to 5 were deleted" in result.reason


def test_an_anchor_catches_a_rewritten_chain(store: Store) -> None:
    _append(store, 3)
    anchor = audit.head(store)
    assert anchor is not None
    _tamper(store, audit_events.delete())
    _append(store, 4, actor="mallory")  # a whole new, internally consistent chain
    assert audit.verify(store).is_intact
    result = audit.verify(store, anchor=anchor)
    assert (result.is_intact, result.first_broken_seq) == (False, 3)
    assert audit.verify(store, anchor=ChainHead(2, audit.list_events(store)[1].hash)).is_intact


def _append_in_process(url: str, actor: str, count: int, start: Barrier) -> None:
    database = Database(url)
    store = Store(db=database, artifacts=None)  # type: ignore[arg-type]  # audit needs no blobs
    start.wait(timeout=60)  # both processes are up before either appends
    _append(store, count, actor=actor)
    database.dispose()


def test_two_processes_appending_at_once_keep_the_chain_intact(
    store: Store, database_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_append_in_process, args=(database_url, f"worker{w}", 100, start))
        for w in range(2)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    result = audit.verify(store)
    assert (result.is_intact, result.checked) == (True, 200)
    actors = [event.actor for event in audit.list_events(store, limit=1000)]
    assert sorted(set(actors)) == ["worker0", "worker1"]
