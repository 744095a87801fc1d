"""Labels and outcomes: ingest, relabel with history, unknown ids, bad input, the window join."""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from steward.errors import InvalidInput
from steward.predictions import (
    Label,
    LabelIngestResult,
    LabelStore,
    PredictionLog,
    PredictionRecord,
    compact,
    labels_from_rows,
    labels_from_table,
)
from tests.predictions.records import BASE_MS, DAY_MS, make_record

# make_record(i): id p<i>, at BASE_MS + i, route shadow when i % 10 == 0, segment tier=gold
# when i % 4 == 0, input country FR for even i and DE for odd, probabilities [0.25, 0.75].
WINDOW = (BASE_MS, BASE_MS + 1000)


def pid(i: int) -> str:
    return f"p{i:08d}"


def log_predictions(directory: Path, records: list[PredictionRecord]) -> None:
    log = PredictionLog(directory, compact_on_start=False)
    log.append(records)
    log.close()
    compact(directory)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A prediction log with records 0..19 of endpoint churn, compacted."""
    log_predictions(tmp_path, [make_record(i) for i in range(20)])
    return tmp_path


class Clock:
    """Milliseconds that only move when a test says so."""

    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def label_folder(directory: Path, endpoint: str = "churn") -> Path:
    return directory / "labels" / f"endpoint={endpoint}"


def rows_by_id(table: pa.Table) -> dict[str, dict[str, Any]]:
    return {row["prediction_id"]: row for row in table.to_pylist()}


def test_ingest_then_window_joins_partial_labels(directory: Path) -> None:
    store = LabelStore(directory, clock=Clock())
    result = store.ingest(
        "churn",
        [
            Label(pid(1), 1, {"revenue": 12.5}, at_ms=BASE_MS + 500),
            Label(pid(2), 0),
            Label(pid(3), outcomes={"revenue": 3}),
        ],
    )

    table = store.window("churn", *WINDOW)

    assert result == LabelIngestResult(accepted=3, updated=0, unknown=0, unknown_ids=())
    assert table.column_names == [
        "prediction_id",
        "at_ms",
        "model_version",
        "route",
        "in_age",
        "in_income",
        "in_country",
        "prediction",
        "score",
        "label",
        "labelled_at_ms",
        "outcome_revenue",
    ]
    assert table.schema.field("label").type == pa.float64()
    rows = rows_by_id(table)
    # shadow answers (p0, p10) are left out by default
    assert sorted(rows) == [pid(i) for i in range(20) if i % 10 != 0]
    assert table.column("at_ms").to_pylist() == sorted(table.column("at_ms").to_pylist())
    assert rows[pid(1)] | {} == {
        "prediction_id": pid(1),
        "at_ms": BASE_MS + 1,
        "model_version": 3,
        "route": "primary",
        "in_age": 21,
        "in_income": 1.5,
        "in_country": "DE",
        "prediction": 1,
        "score": 0.75,
        "label": 1.0,
        "labelled_at_ms": BASE_MS + 500,
        "outcome_revenue": 12.5,
    }
    assert (rows[pid(2)]["label"], rows[pid(2)]["labelled_at_ms"]) == (0.0, 1_800_000_000_000)
    assert (rows[pid(3)]["label"], rows[pid(3)]["outcome_revenue"]) == (None, 3.0)
    assert rows[pid(3)]["labelled_at_ms"] == 1_800_000_000_000
    assert all(rows[pid(i)]["label"] is None for i in range(4, 20) if i % 10)
    assert all(rows[pid(i)]["labelled_at_ms"] is None for i in range(4, 20) if i % 10)


def test_the_window_matches_a_join_computed_by_hand(directory: Path) -> None:
    clock = Clock()
    store = LabelStore(directory, clock=clock)
    sent: dict[str, Label] = {}
    for batch in range(4):  # later batches relabel some of the earlier ids
        labels = [
            Label(pid(i), (i + batch) % 2, {"cost": float(batch)}) for i in range(batch, 20, 3)
        ]
        store.ingest("churn", labels)
        sent.update({label.prediction_id: label for label in labels})
        clock.now += 1

    start, end = BASE_MS + 5, BASE_MS + 15
    rows = store.window("churn", start, end).to_pylist()

    expected = [i for i in range(5, 15) if i % 10 != 0]
    assert [row["prediction_id"] for row in rows] == [pid(i) for i in expected]
    for row in rows:
        label = sent.get(row["prediction_id"])
        assert row["label"] == (None if label is None else float(label.label or 0))
        assert row["outcome_cost"] == (None if label is None else label.outcomes["cost"])


def test_a_relabel_wins_and_keeps_the_history(directory: Path) -> None:
    clock = Clock()
    store = LabelStore(directory, clock=clock)
    first = store.ingest("churn", [Label(pid(1), "cat", {"revenue": 5}), Label(pid(2), "dog")])
    clock.now += 60_000
    second = store.ingest("churn", [Label(pid(1), "dog"), Label(pid(4), "cat")])
    clock.now += 60_000
    third = store.ingest("churn", [Label(pid(1), outcomes={"revenue": 7, "cost": 1})])

    history = store.history("churn", pid(1))
    rows = rows_by_id(store.window("churn", *WINDOW))

    assert (first.updated, second.updated, third.updated) == (0, 1, 1)
    assert [(h.label, h.outcomes, h.sequence) for h in history] == [
        ("cat", {"revenue": 5.0}, 1),
        ("dog", {}, 2),
        (None, {"revenue": 7.0, "cost": 1.0}, 3),
    ]
    assert [h.received_at_ms for h in history] == [
        1_800_000_000_000,
        1_800_000_060_000,
        1_800_000_120_000,
    ]
    assert len({h.batch_id for h in history}) == 3
    # Each field takes its latest value sent: the label from the 2nd batch, outcomes the 3rd.
    assert rows[pid(1)]["label"] == "dog"
    assert rows[pid(1)]["labelled_at_ms"] == 1_800_000_060_000
    assert (rows[pid(1)]["outcome_revenue"], rows[pid(1)]["outcome_cost"]) == (7.0, 1.0)
    assert (rows[pid(2)]["label"], rows[pid(4)]["label"]) == ("dog", "cat")
    assert rows[pid(2)]["outcome_revenue"] is None
    assert store.history("churn", "never-labelled") == []
    assert store.history("no-such-endpoint", pid(1)) == []


def test_last_received_ms_follows_the_latest_batch(directory: Path) -> None:
    clock = Clock()
    store = LabelStore(directory, clock=clock)
    assert store.last_received_ms("churn") is None

    store.ingest("churn", [Label(pid(1), 1, at_ms=5)])
    clock.now += 10
    store.ingest("churn", [Label(pid(2), 1, at_ms=5)])

    assert store.last_received_ms("churn") == 1_800_000_000_010


def test_batch_sequence_orders_batches_within_one_millisecond(directory: Path) -> None:
    store = LabelStore(directory, clock=Clock())  # the clock never moves
    for value in (1, 0, 1, 0):
        store.ingest("churn", [Label(pid(5), value)])
    store.ingest("churn", [Label(pid(6), 1), Label(pid(6), 0)])  # later in the batch wins

    rows = rows_by_id(store.window("churn", *WINDOW))

    assert [h.label for h in store.history("churn", pid(5))] == [1.0, 0.0, 1.0, 0.0]
    assert [h.sequence for h in store.history("churn", pid(5))] == [1, 2, 3, 4]
    assert (rows[pid(5)]["label"], rows[pid(6)]["label"]) == (0.0, 0.0)


def test_late_labels_for_predictions_not_compacted_yet(tmp_path: Path) -> None:
    store = LabelStore(tmp_path)
    early = store.ingest("churn", [Label(pid(i), i % 2) for i in range(150)])

    log_predictions(tmp_path, [make_record(i) for i in range(30)])
    after = store.ingest("churn", [Label(pid(1), 1), Label(pid(500), 0), Label(pid(1), 0)])
    rows = rows_by_id(store.window("churn", *WINDOW))

    assert (early.accepted, early.unknown) == (150, 150)
    assert early.unknown_ids == tuple(pid(i) for i in range(100))
    assert after == LabelIngestResult(accepted=3, updated=1, unknown=1, unknown_ids=(pid(500),))
    assert rows[pid(1)]["label"] == 0.0
    assert rows[pid(29)]["label"] == 1.0
    assert len(rows) == 27


def test_unknown_is_per_endpoint(directory: Path) -> None:
    log_predictions(directory, [make_record(i, endpoint="fraud") for i in range(100, 103)])

    result = LabelStore(directory).ingest("fraud", [Label(pid(1), 1), Label(pid(101), 1)])

    assert (result.unknown, result.unknown_ids) == (1, (pid(1),))


@pytest.mark.parametrize(
    ("label", "field", "value"),
    [
        (Label("", 1), "labels[1].prediction_id", ""),
        (Label(pid(1), float("nan")), "labels[1].label", "nan"),
        (Label(pid(1), float("inf")), "labels[1].label", "inf"),
        (Label(pid(1), ""), "labels[1].label", ""),
        (Label(pid(1), [1, 2]), "labels[1].label", "[1, 2]"),  # type: ignore[arg-type]
        (Label(pid(1)), "labels[1].label", None),
        (Label(pid(1), 1, {"Revenue": 1.0}), "labels[1].outcomes", "Revenue"),
        (Label(pid(1), 1, {"a-b": 1.0}), "labels[1].outcomes", "a-b"),
        (Label(pid(1), 1, {"revenue": "12"}), "labels[1].outcomes.revenue", "12"),  # type: ignore[dict-item]
        (Label(pid(1), 1, {"revenue": float("nan")}), "labels[1].outcomes.revenue", "nan"),
        (Label(pid(1), 1, "revenue"), "labels[1].outcomes", "revenue"),  # type: ignore[arg-type]
        (Label(pid(1), 1, at_ms=-1), "labels[1].at_ms", -1),
        (Label(pid(1), 1, at_ms=1.5), "labels[1].at_ms", 1.5),  # type: ignore[arg-type]
        (Label(pid(1), 1, at_ms=True), "labels[1].at_ms", True),
        ({"prediction_id": pid(1)}, "labels[1]", "{'prediction_id': 'p00000001'}"),
    ],
)
def test_bad_input_names_index_field_value_and_writes_nothing(
    directory: Path, label: Any, field: str, value: Any
) -> None:
    store = LabelStore(directory)
    store.ingest("churn", [Label(pid(2), 1)])
    before = sorted(label_folder(directory).iterdir())

    with pytest.raises(InvalidInput) as caught:
        store.ingest("churn", [Label(pid(1), 0), label, Label(pid(3), 1)])

    error = caught.value
    assert error.field == field
    assert f"{field} expects" in error.message
    assert repr(value) in error.message
    assert "nothing was stored" in error.message
    assert error.details[0]["index"] == 1
    assert error.details[0]["value"] == value
    assert error.details[0]["expected"]
    assert sorted(label_folder(directory).iterdir()) == before
    assert [h.label for h in store.history("churn", pid(1))] == []


def test_every_bad_label_is_listed(directory: Path) -> None:
    labels = [Label(pid(i), "" if i % 2 else 1) for i in range(300)]

    with pytest.raises(
        InvalidInput, match=r"labels\[1\]\.label .* \(150 problems in all\)"
    ) as caught:
        LabelStore(directory).ingest("churn", labels)

    assert [d["index"] for d in caught.value.details] == list(range(1, 200, 2))
    assert not label_folder(directory).exists()


def test_an_empty_endpoint_name_is_refused(directory: Path) -> None:
    with pytest.raises(InvalidInput, match="endpoint"):
        LabelStore(directory).ingest("", [Label(pid(1), 1)])


def test_an_empty_batch_writes_nothing(directory: Path) -> None:
    assert LabelStore(directory).ingest("churn", []) == LabelIngestResult(0, 0, 0)
    assert not label_folder(directory).exists()


def test_a_batch_is_one_file_and_no_temporary_file_is_left(directory: Path) -> None:
    store = LabelStore(directory)
    for start in range(0, 9, 3):
        store.ingest("churn", [Label(pid(i), 1) for i in range(start, start + 3)])

    names = sorted(p.name for p in label_folder(directory).iterdir())

    assert [n.split("-")[:2] for n in names if n.endswith(".parquet")] == [
        ["batch", "000000000001"],
        ["batch", "000000000002"],
        ["batch", "000000000003"],
    ]
    assert [n for n in names if not n.endswith(".parquet")] == ["labels.lock"]


class Crash(BaseException):
    """Stands for the process dying at that point."""


def test_a_write_failing_midway_leaves_nothing_visible(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LabelStore(directory)
    store.ingest("churn", [Label(pid(1), 1)])

    def crash(*_: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)
        with pytest.raises(Crash):
            store.ingest("churn", [Label(pid(1), 0), Label(pid(2), 0)])

    assert [h.label for h in store.history("churn", pid(1))] == [1.0]
    assert len(list(label_folder(directory).glob("*.parquet"))) == 1
    assert list(label_folder(directory).glob(".*")) == []


def test_a_file_a_dead_writer_left_half_written_is_ignored_then_removed(directory: Path) -> None:
    store = LabelStore(directory)
    store.ingest("churn", [Label(pid(1), 1)])
    orphan = label_folder(directory) / ".batch-000000000002-00ff.parquet.tmp"
    orphan.write_bytes(b"PAR1 torn")

    assert [h.label for h in store.history("churn", pid(1))] == [1.0]
    assert rows_by_id(store.window("churn", *WINDOW))[pid(1)]["label"] == 1.0
    store.ingest("churn", [Label(pid(1), 0)])

    assert not orphan.exists()
    assert [h.sequence for h in store.history("churn", pid(1))] == [1, 2]


def test_concurrent_ingests_get_distinct_sequences(directory: Path) -> None:
    store = LabelStore(directory)
    errors: list[BaseException] = []

    def ingest(n: int) -> None:
        try:
            store.ingest("churn", [Label(pid(7), n)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    history = store.history("churn", pid(7))
    assert errors == []
    assert [h.sequence for h in history] == list(range(1, 9))
    assert {h.label for h in history} == {float(n) for n in range(8)}


def test_window_labels_text_and_booleans(directory: Path) -> None:
    store = LabelStore(directory)
    store.ingest("churn", [Label(pid(1), True), Label(pid(2), False)])
    assert store.window("churn", *WINDOW).schema.field("label").type == pa.float64()
    assert [r["label"] for r in store.window("churn", BASE_MS + 1, BASE_MS + 3).to_pylist()] == [
        1.0,
        0.0,
    ]

    store.ingest("churn", [Label(pid(3), "churned")])
    rows = store.window("churn", BASE_MS + 1, BASE_MS + 4).to_pylist()

    assert [r["label"] for r in rows] == ["true", "false", "churned"]


def test_window_score_segments_features_outcomes_and_routes(tmp_path: Path) -> None:
    base = make_record(1)
    records = [
        replace(base, prediction_id="a", at_ms=BASE_MS + 1, segment={"tier": "gold"}),
        replace(base, prediction_id="b", at_ms=BASE_MS + 2, segment=None),
        replace(
            base,
            prediction_id="c",
            at_ms=BASE_MS + 3,
            outputs={"prediction": 2, "probabilities": [0.1, 0.2, 0.7]},
        ),
        replace(base, prediction_id="d", at_ms=BASE_MS + 4, outputs=1),
        replace(base, prediction_id="e", at_ms=BASE_MS + 5, route="shadow"),
        replace(base, prediction_id="f", at_ms=BASE_MS + 6, route="batch"),
        replace(base, prediction_id="g", at_ms=BASE_MS + 7, route="fallback"),
    ]
    records = [replace(r, inputs={**r.inputs, "tier": "silver"}) for r in records]
    log_predictions(tmp_path, records)
    store = LabelStore(tmp_path)
    store.ingest("churn", [Label("a", 1, {"revenue": 2.0, "cost": 1.0})])

    table = store.window(
        "churn",
        *WINDOW,
        features=["age", "missing"],
        segments=["tier", "country", "absent"],
        outcomes=["revenue", "never"],
    )
    shadow = store.window("churn", *WINDOW, routes=["shadow"])

    assert table.column_names == [
        "prediction_id",
        "at_ms",
        "model_version",
        "route",
        "in_age",
        "in_missing",
        "prediction",
        "score",
        "label",
        "labelled_at_ms",
        "outcome_revenue",
        "outcome_never",
        "seg_tier",
        "seg_country",
        "seg_absent",
    ]
    rows = rows_by_id(table)
    assert sorted(rows) == ["a", "b", "c", "d", "f", "g"]
    assert [rows[k]["score"] for k in "abcd"] == [0.75, 0.75, None, None]
    # the segment column first, then the input of that name
    assert [rows[k]["seg_tier"] for k in "ab"] == ["gold", "silver"]
    assert rows["a"]["seg_country"] == "DE"
    assert {rows[k]["seg_absent"] for k in rows} == {None}
    assert {rows[k]["in_missing"] for k in rows} == {None}
    assert (rows["a"]["outcome_revenue"], rows["a"]["outcome_never"]) == (2.0, None)
    assert rows["a"]["in_age"] == 21
    assert shadow.column("prediction_id").to_pylist() == ["e"]


def test_window_reads_only_its_days(tmp_path: Path) -> None:
    records = [make_record(i, at_ms=BASE_MS + day * DAY_MS + i) for day in range(3) for i in (1, 2)]
    records = [replace(r, prediction_id=f"d{r.at_ms}") for r in records]
    log_predictions(tmp_path, records)

    table = LabelStore(tmp_path).window("churn", BASE_MS + DAY_MS, BASE_MS + 2 * DAY_MS)

    assert table.column("at_ms").to_pylist() == [BASE_MS + DAY_MS + 1, BASE_MS + DAY_MS + 2]


def test_an_empty_log_gives_an_empty_table_with_columns(tmp_path: Path) -> None:
    table = LabelStore(tmp_path).window(
        "churn", 0, 10, features=["age"], segments=["tier"], outcomes=["revenue"]
    )

    assert table.num_rows == 0
    assert table.column_names == [
        "prediction_id",
        "at_ms",
        "model_version",
        "route",
        "in_age",
        "prediction",
        "score",
        "label",
        "labelled_at_ms",
        "outcome_revenue",
        "seg_tier",
    ]
    assert table.schema.field("at_ms").type == pa.int64()
    assert table.schema.field("label").type == pa.float64()


def test_labels_without_predictions_in_the_window_give_no_rows(tmp_path: Path) -> None:
    store = LabelStore(tmp_path)
    store.ingest("churn", [Label("x", 1, {"revenue": 1})])

    table = store.window("churn", 0, 10)

    assert table.num_rows == 0
    assert "outcome_revenue" in table.column_names


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"start_ms": 10, "end_ms": 5}, "end_ms"),
        ({"start_ms": 1.5, "end_ms": 5}, "start_ms"),
        ({"routes": ["primary", "canary"]}, "routes"),
        ({"features": "age"}, "features"),
        ({"segments": [""]}, "segments"),
        ({"outcomes": [None]}, "outcomes"),
    ],
)
def test_bad_window_arguments(directory: Path, arguments: dict[str, Any], field: str) -> None:
    window = {"start_ms": 0, "end_ms": 10, **arguments}
    with pytest.raises(InvalidInput) as caught:
        LabelStore(directory).window("churn", **window)
    assert caught.value.field == field


def test_compact_labels_merges_files_and_keeps_history(directory: Path) -> None:
    clock = Clock()
    store = LabelStore(directory, clock=clock)
    for n in range(5):
        store.ingest("churn", [Label(pid(1), n), Label(pid(2 + n), n, {f"k{n}": n})])
        clock.now += 1
    before = (store.history("churn", pid(1)), store.window("churn", *WINDOW))
    first_batch = sorted(label_folder(directory).glob("batch-*.parquet"))[0]
    saved = directory / "saved.parquet"
    shutil.copy(first_batch, saved)

    merged = store.compact_labels("churn")
    after = (store.history("churn", pid(1)), store.window("churn", *WINDOW))
    store.ingest("churn", [Label(pid(1), 9)])

    assert merged == 5
    assert after == before
    assert sorted(p.name.split("-")[0] for p in label_folder(directory).glob("*.parquet")) == [
        "batch",
        "merged",
    ]
    assert [h.sequence for h in store.history("churn", pid(1))] == [1, 2, 3, 4, 5, 6]

    # A merge that stopped before deleting the files it replaced: they are skipped, then removed.
    shutil.copy(saved, first_batch)
    assert [h.sequence for h in store.history("churn", pid(1))] == [1, 2, 3, 4, 5, 6]
    assert store.compact_labels("churn") == 2
    assert not first_batch.exists()
    assert store.compact_labels("churn") == 0
    assert [h.label for h in store.history("churn", pid(1))] == [0, 1, 2, 3, 4, 9]


def test_labels_from_a_table_with_outcome_columns() -> None:
    table = pa.table(
        {
            "prediction_id": ["a", "b", "c"],
            "label": [1, None, 0],
            "outcome_revenue": [1.5, 2.0, float("nan")],
            "cost": [None, 3, 4],
            "outcomes": [{"margin": 0.5}, {"margin": None}, None],
            "note": ["x", "y", "z"],
        }
    )

    labels = labels_from_table(table, outcomes=["cost"])

    assert labels == [
        Label("a", 1, {"revenue": 1.5, "margin": 0.5}),
        Label("b", None, {"revenue": 2.0, "cost": 3}),
        Label("c", 0, {"cost": 4}),
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"id": ["a"], "label": [1]}), "prediction_id"),
        (pa.table({"prediction_id": ["a"], "note": [1]}), "label"),
        (pa.table({"prediction_id": ["a"], "label": [1]}), r"\['cost'\] not found"),
    ],
)
def test_labels_from_a_table_without_the_columns_it_needs(table: pa.Table, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        labels_from_table(table, outcomes=["cost"] if "not found" in message else [])


def test_labels_from_rows() -> None:
    rows = [
        {"prediction_id": "a", "label": "cat", "outcomes": {"revenue": 1}, "outcome_cost": 2},
        {"prediction_id": "b", "margin": 0.5, "at_ms": 7, "label": float("nan")},
        {"prediction_id": "c", "label": 1, "outcomes": None},
    ]

    assert labels_from_rows(rows, outcomes=["margin"]) == [
        Label("a", "cat", {"revenue": 1, "cost": 2}),
        Label("b", None, {"margin": 0.5}, at_ms=7),
        Label("c", 1),
    ]
