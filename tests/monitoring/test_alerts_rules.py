"""Alert rules: checked fields with messages that say how to fix them, audited changes,
defaults that can be stored as they are."""

from __future__ import annotations

from typing import Any

import pytest

from steward import audit
from steward.errors import Conflict, InvalidInput, NotFound
from steward.monitoring.alert_entities import AlertRule, parse_rule
from steward.monitoring.alerts import (
    DEFAULT_RULES,
    create_rule,
    default_rules,
    delete_rule,
    evaluate_rules,
    get_rule,
    list_alerts,
    list_rules,
    update_rule,
)
from steward.store import Store
from tests.monitoring.alert_support import add_monitor, counts, put, start

BASE = {"name": "drift", "monitor": "churn", "metric": "drift.psi", "threshold": 0.2}


@pytest.fixture
def churn(store: Store) -> Store:
    add_monitor(store)
    return store


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"comparator": "bigger"}, "comparator", ["'bigger'", "gt, ge, lt, le"]),
        ({"severity": "page"}, "severity", ["'page'", "info, warning, critical"]),
        ({"consecutive": 0}, "consecutive", ["0", "1 to 1000"]),
        ({"min_samples": -1}, "min_samples", ["-1", "from 0 to"]),
        ({"min_samples": 10**20}, "min_samples", ["10000", "from 0 to"]),
        ({"threshold": "high"}, "threshold", ["'high'", "finite number"]),
        ({"threshold": float("nan")}, "threshold", ["nan", "finite number"]),
        ({"cooldown_s": -5}, "cooldown_s", ["-5", "at least 0"]),
        ({"webhook_url": "ftp://x"}, "webhook_url", ["ftp://x", "http://"]),
        ({"name": "bad name!"}, "name", ["'bad name!'", "letters, digits"]),
        ({"feature": ""}, "feature", ["''", "null for every feature"]),
        ({"colour": "red"}, "colour", ["no field 'colour'", "comparator"]),
    ],
)
def test_a_bad_field_is_named_with_the_value_and_what_is_accepted(
    change: dict[str, Any], field: str, words: list[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(BASE | change)
    assert caught.value.field == field
    for word in words:
        assert word in caught.value.message


def test_a_missing_field_and_a_non_mapping_are_refused() -> None:
    with pytest.raises(InvalidInput, match="'threshold' is missing; give a finite number"):
        parse_rule({k: v for k, v in BASE.items() if k != "threshold"})
    with pytest.raises(InvalidInput, match="must be a mapping"):
        parse_rule(["drift"])  # type: ignore[arg-type]


def test_rules_round_trip_through_json() -> None:
    rule = parse_rule(BASE | {"segment": "*", "comparator": "ge", "webhook_url": "https://h/x"})
    assert AlertRule.model_validate_json(rule.model_dump_json()) == rule
    assert rule.breaches(0.2)
    assert not rule.breaches(0.19)


def test_create_list_get_update_delete_each_audited(churn: Store) -> None:
    created = create_rule(churn, BASE, actor="alice")
    assert created.id is not None
    assert created.created_by == "alice"
    assert created.created_at is not None
    assert [r.name for r in list_rules(churn)] == ["drift"]
    assert list_rules(churn, monitor="other") == []
    changed = update_rule(churn, "drift", {"threshold": 0.3, "consecutive": 2}, actor="bob")
    assert (changed.threshold, changed.consecutive, changed.metric) == (0.3, 2, "drift.psi")
    assert get_rule(churn, "drift") == changed
    update_rule(churn, "drift", {"threshold": 0.3}, actor="bob")  # no change: no event
    delete_rule(churn, "drift", actor="carol")
    events = audit.list_events(churn, target_type="alert_rule")
    assert [(e.action, e.actor) for e in events] == [
        ("alert_rule.create", "alice"),
        ("alert_rule.update", "bob"),
        ("alert_rule.delete", "carol"),
    ]
    assert events[1].before == {"threshold": 0.2, "consecutive": 1}
    assert events[1].after == {"threshold": 0.3, "consecutive": 2}
    assert events[2].before is not None
    assert events[2].before["threshold"] == 0.3
    assert list_rules(churn) == []


def test_store_fields_in_a_document_are_ignored(churn: Store) -> None:
    exported = create_rule(churn, BASE, actor="alice").model_dump(mode="json")
    delete_rule(churn, "drift", actor="alice")
    again = create_rule(churn, exported | {"created_by": "mallory"}, actor="bob")
    assert again.created_by == "bob"


def test_conflicts_and_missing_things_name_what_to_do(churn: Store) -> None:
    create_rule(churn, BASE, actor="alice")
    with pytest.raises(Conflict, match="'drift' already exists"):
        create_rule(churn, BASE, actor="alice")
    with pytest.raises(NotFound, match=r"no monitor 'fraud'.*churn"):
        create_rule(churn, BASE | {"name": "x", "monitor": "fraud"}, actor="alice")
    with pytest.raises(NotFound, match="did you mean 'drift'"):
        get_rule(churn, "drfit")
    with pytest.raises(NotFound):
        update_rule(churn, "nope", {"threshold": 1}, actor="alice")
    with pytest.raises(NotFound):
        delete_rule(churn, "nope", actor="alice")
    with pytest.raises(InvalidInput, match="cannot be renamed"):
        update_rule(churn, "drift", {"name": "drift2"}, actor="alice")
    with pytest.raises(InvalidInput) as caught:
        update_rule(churn, "drift", {"comparator": "eq"}, actor="alice")
    assert caught.value.field == "comparator"
    assert get_rule(churn, "drift").comparator == "gt"


def test_deleting_a_rule_removes_its_alerts(churn: Store) -> None:
    create_rule(churn, BASE | {"min_samples": 0}, actor="alice")
    put(churn, 0, 0.5)
    evaluate_rules(churn, "churn", start(0))
    assert len(list_alerts(churn)) == 1
    delete_rule(churn, "drift", actor="alice")
    assert list_alerts(churn) == []
    assert counts(churn) == (0, 0)


def test_default_rules_depend_on_the_task_and_can_be_stored(churn: Store) -> None:
    classification = default_rules("churn", {"task": "classification"})
    regression = default_rules("churn", {"task": "regression"})
    metrics = {rule.metric for rule in classification}
    expected = {"drift.wasserstein", "drift.jensen_shannon", "missing_rate", "perf.roc_auc"}
    assert expected | {"prediction_drift.psi"} <= metrics
    assert "perf.roc_auc" not in {rule.metric for rule in regression}
    assert len(classification) == len(DEFAULT_RULES)
    drift = [rule for rule in classification if rule.metric == "drift.wasserstein"]
    assert [(r.feature, r.segment, r.comparator, r.threshold, r.min_samples) for r in drift] == [
        (None, None, "gt", 0.2, 1000),
        (None, "*", "gt", 0.2, 1000),
    ]
    for rule in classification:
        create_rule(churn, rule, actor="alice")
    assert len(list_rules(churn, monitor="churn")) == len(classification)
