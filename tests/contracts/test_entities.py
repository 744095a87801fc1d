"""Contract entities: rules they enforce, serialisation, editing, and hand-edited files."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from steward.contracts import ColumnContract, Contract
from steward.errors import InvalidInput


def test_dict_json_and_yaml_round_trips_keep_every_field(contract: Contract) -> None:
    assert Contract.from_dict(contract.to_dict()) == contract
    assert Contract.from_json(contract.to_json()) == contract
    assert Contract.from_yaml(contract.to_yaml()) == contract
    assert Contract.from_yaml(contract.to_yaml()).fingerprint == contract.fingerprint


def test_datetime_bounds_are_iso_text_in_files(contract: Contract) -> None:
    signup = contract.to_dict()["columns"][4]
    assert signup["name"] == "signup_at"
    assert signup["minimum"] == "2023-01-01T00:00:00+00:00"


def test_fingerprint_is_sha256_of_sorted_compact_json(contract: Contract) -> None:
    text = json.dumps(contract.to_dict(), sort_keys=True, separators=(",", ":"))
    assert contract.fingerprint == hashlib.sha256(text.encode()).hexdigest()
    assert contract.with_column("age", nullable=True).fingerprint != contract.fingerprint


def test_with_column_edits_one_column_and_bumps_the_version(contract: Contract) -> None:
    edited = contract.with_column("age", minimum=0, maximum=120, range_tolerance=0.0)
    assert edited.version == contract.version + 1
    assert edited.column("age").bounds() == (0, 120)
    assert edited.column("plan") == contract.column("plan")


def test_with_changes_bumps_the_version_unless_one_is_given(contract: Contract) -> None:
    assert contract.with_changes(extra_columns="reject").version == contract.version + 1
    assert contract.with_changes(name="other", version=9).version == 9
    assert contract.bump_version().columns == contract.columns


def test_an_edit_that_breaks_a_rule_is_refused(contract: Contract) -> None:
    with pytest.raises(InvalidInput, match="minimum 200 above maximum 120"):
        contract.with_column("age", minimum=200, maximum=120)


def test_unknown_column_lookup_names_the_contract(contract: Contract) -> None:
    with pytest.raises(InvalidInput, match=r"contract churn v3 has no column 'agee'; columns: age"):
        contract.column("agee")


@pytest.mark.parametrize(
    ("low", "high", "tolerance", "expected"),
    [
        (0, 100, 0.1, (-10.0, 110.0)),
        (5, 5, 0.1, (5.0, 5.0)),
        (0, 100, 0.0, (0, 100)),
        (None, 100, 0.1, (None, 100)),
        (-1e308, 1e308, 0.1, (-math.inf, math.inf)),
    ],
)
def test_bounds_widen_each_side_by_a_fraction_of_the_span(
    low: float | None, high: float | None, tolerance: float, expected: tuple[object, object]
) -> None:
    column = ColumnContract("x", "float", minimum=low, maximum=high, range_tolerance=tolerance)
    assert column.bounds() == expected


def test_datetime_bounds_widen_by_a_fraction_of_the_time_span() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    column = ColumnContract(
        "t", "datetime", minimum=start, maximum=start + timedelta(days=10), range_tolerance=0.1
    )
    assert column.bounds() == (start - timedelta(days=1), start + timedelta(days=11))


def test_max_missing_rate_is_rate_plus_tolerance_capped_at_one() -> None:
    assert ColumnContract("x", "float", nullable=True, missing_rate=0.2).max_missing_rate == 0.25
    column = ColumnContract("x", "float", nullable=True, missing_rate=0.99)
    assert column.max_missing_rate == 1.0


HAND_WRITTEN = """
name: churn
version: 2
columns:
  - name: age
    type: integer
    minimum: 18
    maximum: 90
  - name: plan
    type: categorical
    categories: [basic, pro, "yes"]
  - name: signup_at
    type: datetime
    nullable: true
    missing_rate: 0.1
    minimum: 2023-01-01 00:00:00
"""


def test_a_hand_written_yaml_contract_fills_in_defaults() -> None:
    contract = Contract.from_yaml(HAND_WRITTEN)
    assert contract.required_columns == ("age", "plan", "signup_at")
    assert contract.extra_columns == "allow"
    assert contract.column("age").nullable is False
    assert contract.column("plan").categories == ("basic", "pro", "yes")
    # PyYAML reads an unquoted timestamp as a naive datetime: it is taken as UTC.
    assert contract.column("signup_at").minimum == datetime(2023, 1, 1, tzinfo=UTC)


Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return edit


BAD_EDITS: list[tuple[Edit, str, str]] = [
    (_set("columns.0.type", "interger"), "columns[0].type", "'interger'; accepted: integer"),
    (_set("columns.0.nullable", "yes"), "columns[0].nullable", "must be true or false, got 'yes'"),
    (_set("columns.0.nulable", True), "columns[0].nulable", "unknown field 'nulable'"),
    (_set("columns.0.minimum", "ten"), "columns[0].minimum", "must be a number or null"),
    (_set("columns.0.minimum", 500), "columns[0].minimum", "minimum 500 above maximum"),
    (_set("columns.0.minimum", 1.5), "columns[0].minimum", "accepted: an integer or null"),
    (_set("columns.0.categories", ["a"]), "columns[0].categories", "only a categorical"),
    (_set("columns.0.missing_rate", 1.5), "columns[0].missing_rate", "between 0 and 1, got 1.5"),
    (_set("columns.0.range_tolerance", -1), "columns[0].range_tolerance", "a number >= 0"),
    (_set("columns.2.categories", None), "columns[2].categories", "lists no categories"),
    (_set("columns.2.categories", ["a", True]), "columns[2].categories[1]", "got True (bool)"),
    (_set("columns.2.categories", ["a", "a"]), "columns[2].categories", "category twice"),
    (_set("columns.4.minimum", "yesterday"), "columns[4].minimum", "ISO 8601"),
    (_set("columns.1.name", "age"), "columns", "lists 'age' twice"),
    (_set("required_columns", ["age", "income"]), "required_columns", "'income' has no entry"),
    (_set("extra_columns", "ignore"), "extra_columns", "accepted: allow, drop, reject"),
    (_set("version", 0), "version", "integer >= 1, got 0"),
    (_set("version", "2"), "version", "integer >= 1, got '2'"),
    (_set("format", 2), "format", "accepted: 1"),
    (_set("columns", []), "columns", "at least one column"),
    (_set("columns", {"age": {}}), "columns", "must be a list"),
    (_set("columns.0", ["age"]), "columns[0]", "must be a mapping"),
]


@pytest.mark.parametrize(("edit", "field", "fragment"), BAD_EDITS)
def test_a_bad_hand_edit_names_the_field_and_the_value(
    contract: Contract, edit: Edit, field: str, fragment: str
) -> None:
    document = copy.deepcopy(contract.to_dict())
    edit(document)
    with pytest.raises(InvalidInput) as caught:
        Contract.from_dict(document)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_a_column_missing_its_type_says_which_field_is_needed(contract: Contract) -> None:
    document = contract.to_dict()
    del document["columns"][1]["type"]
    with pytest.raises(InvalidInput, match=r"columns\[1\] needs the field 'type'"):
        Contract.from_dict(document)


@pytest.mark.parametrize(
    ("load", "text", "fragment"),
    [
        (Contract.from_json, "{", "contract JSON is not valid"),
        (Contract.from_json, "[1, 2]", "must be a mapping of field names to values, got [1, 2]"),
        (Contract.from_yaml, "columns: [", "contract YAML is not valid"),
        (Contract.from_yaml, "just text", "got 'just text'"),
    ],
)
def test_unreadable_files_say_what_was_wrong(
    load: Callable[[str], Contract], text: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load(text)


def test_datetime_bounds_must_be_aware() -> None:
    with pytest.raises(InvalidInput, match="aware datetime"):
        ColumnContract("t", "datetime", minimum=datetime(2024, 1, 1))
