"""Append, close, compact, read back: values, columns, partitions and DuckDB queries."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import orjson
import pytest

from steward.errors import InvalidInput
from steward.predictions import PredictionLog, PredictionRecord, PredictionStore, compact
from tests.predictions.records import BASE_MS, DAY_MS, make_record


def write(directory: Path, records: list[PredictionRecord]) -> None:
    log = PredictionLog(directory, compact_on_start=False)
    log.append(records)
    log.close()


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    records = [make_record(i) for i in range(50)]
    write(tmp_path, records)

    result = compact(tmp_path)
    table = PredictionStore(tmp_path).read("churn")

    assert result.records == 50
    assert table.num_rows == 50
    rows = table.to_pylist()
    for record, row in zip(records, rows, strict=True):
        assert row["prediction_id"] == record.prediction_id
        assert row["at_ms"] == record.at_ms
        assert (row["endpoint"], row["model_name"]) == ("churn", "churn")
        assert (row["model_version"], row["route"]) == (3, record.route)
        assert row["latency_ms"] == record.latency_ms
        assert row["entity_key"] == record.entity_key
        assert row["segment"] == (None if record.segment is None else '{"tier":"gold"}')
        assert orjson.loads(row["inputs"]) == record.inputs
        assert orjson.loads(row["outputs"]) == record.outputs
        assert row["in_age"] == record.inputs["age"]
        assert row["in_income"] == record.inputs["income"]
        assert row["in_country"] == record.inputs["country"]
        assert row["prediction"] == record.outputs["prediction"]
        assert str(row["date"]) == "2024-03-10"
    assert list(tmp_path.joinpath("wal").iterdir()) == []


def test_only_scalar_inputs_of_one_kind_are_flattened(tmp_path: Path) -> None:
    base = make_record(0)
    shapes = [
        {"n": 1, "mixed": 1, "vector": [1, 2], "half": 1.5, "none": None},
        {"n": 2.5, "mixed": "a", "vector": [3], "none": None, "late": True},
    ]
    records = [
        replace(base, prediction_id=f"x{i}", inputs=inputs) for i, inputs in enumerate(shapes)
    ]
    write(tmp_path, records)
    compact(tmp_path)

    table = PredictionStore(tmp_path).read("churn")

    flattened = {name for name in table.column_names if name.startswith("in_")}
    assert flattened == {"in_n", "in_half", "in_late"}
    assert table.column("in_n").to_pylist() == [1.0, 2.5]
    assert table.column("in_late").to_pylist() == [None, True]
    assert orjson.loads(table.column("inputs")[1].as_py())["vector"] == [3]


def test_a_scalar_answer_fills_the_prediction_column(tmp_path: Path) -> None:
    write(tmp_path, [replace(make_record(0), outputs=0.75)])
    compact(tmp_path)

    assert PredictionStore(tmp_path).read("churn").column("prediction").to_pylist() == [0.75]


def test_records_partition_by_endpoint_and_utc_day(tmp_path: Path) -> None:
    records = [
        make_record(i, endpoint=endpoint, at_ms=BASE_MS + day * DAY_MS + i)
        for i, (endpoint, day) in enumerate(
            [(e, d) for e in ("churn", "fraud", "a/b c") for d in (0, 0, 1, 2)]
        )
    ]
    write(tmp_path, records)

    result = compact(tmp_path)

    folders = sorted(str(p.parent.relative_to(tmp_path)) for p in result.files)
    assert folders == [
        f"parquet/endpoint={name}/date={date}"
        for name in ("a%2Fb%20c", "churn", "fraud")
        for date in ("2024-03-10", "2024-03-11", "2024-03-12")
    ]
    assert all(p.name.startswith("part-") and p.suffix == ".parquet" for p in result.files)
    store = PredictionStore(tmp_path)
    assert [store.count(e) for e in ("churn", "fraud", "a/b c", "nope")] == [4, 4, 4, 0]
    assert store.read("a/b c").column("endpoint").to_pylist() == ["a/b c"] * 4


def test_read_takes_a_time_window_and_columns(tmp_path: Path) -> None:
    write(tmp_path, [make_record(i, at_ms=BASE_MS + i * DAY_MS // 2) for i in range(8)])
    compact(tmp_path)
    store = PredictionStore(tmp_path)

    window = store.read("churn", BASE_MS + DAY_MS, BASE_MS + 3 * DAY_MS, ["prediction_id"])

    assert window.column_names == ["prediction_id"]
    assert window.column("prediction_id").to_pylist() == [
        "p00000002",
        "p00000003",
        "p00000004",
        "p00000005",
    ]
    assert store.count("churn", start_ms=BASE_MS + 3 * DAY_MS) == 2
    assert store.count("churn", end_ms=BASE_MS + 1) == 1


def test_read_names_an_unknown_column(tmp_path: Path) -> None:
    write(tmp_path, [make_record(0)])
    compact(tmp_path)

    with pytest.raises(InvalidInput, match="in_height") as caught:
        PredictionStore(tmp_path).read("churn", columns=["in_height"])
    assert caught.value.field == "columns"


def test_duckdb_queries_see_every_endpoint_and_date(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            make_record(i, endpoint=["churn", "fraud"][i % 2], at_ms=BASE_MS + i * 3_600_000)
            for i in range(48)
        ],
    )
    compact(tmp_path)

    table = PredictionStore(tmp_path).query(
        "SELECT endpoint, date, count(*) AS n, avg(in_age) AS age, "
        "count(*) FILTER (WHERE segment->>'tier' = 'gold') AS gold "
        "FROM predictions WHERE route = ? GROUP BY ALL ORDER BY ALL",
        ["primary"],
    )

    assert table.column_names == ["endpoint", "date", "n", "age", "gold"]
    assert [(r["endpoint"], str(r["date"]), r["n"]) for r in table.to_pylist()] == [
        ("churn", "2024-03-10", 9),  # even hours 0-22, less shadows 0, 10, 20
        ("churn", "2024-03-11", 10),  # even hours 24-46, less shadows 30, 40
        ("fraud", "2024-03-10", 12),
        ("fraud", "2024-03-11", 12),
    ]
    assert table.column("gold").to_pylist() == [4, 5, 0, 0]


def test_an_empty_log_reads_as_empty(tmp_path: Path) -> None:
    store = PredictionStore(tmp_path)

    assert store.read("churn").num_rows == 0
    assert store.read("churn", columns=["at_ms"]).column_names == ["at_ms"]
    assert store.count("churn") == 0
    assert store.query("SELECT count(*) AS n FROM predictions").to_pylist() == [{"n": 0}]


def test_bad_sql_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="prediction query failed"):
        PredictionStore(tmp_path).query("SELEC nothing")


def test_values_json_cannot_hold_are_kept_as_text(tmp_path: Path) -> None:
    base = make_record(0)
    odd = {"when": object(), "np": np.float32(1.5), "nan": float("nan")}
    huge = {"big": 2**70, "n": 1}
    write(
        tmp_path,
        [
            replace(base, prediction_id="odd", inputs=odd),
            replace(base, prediction_id="huge", inputs=huge),
        ],
    )
    compact(tmp_path)

    table = PredictionStore(tmp_path).read("churn", columns=["prediction_id", "inputs"])
    inputs = {row["prediction_id"]: orjson.loads(row["inputs"]) for row in table.to_pylist()}
    assert inputs["odd"]["when"].startswith("<object object")
    assert (inputs["odd"]["np"], inputs["odd"]["nan"]) == (1.5, None)
    # An integer beyond 64 bits turns the whole row's inputs into text, rather than losing it.
    assert inputs["huge"] == {"big": str(2**70), "n": "1"}
