"""Run search: filters on params, latest metrics, tags and attributes; ordering; pages."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from steward import tracking
from steward.errors import InvalidInput
from steward.store import Store
from steward.tracking import Metric

NAN = math.nan
# name, experiment, params, latest metrics, tags, final status
RUNS = [
    ("r1", "a", {"C": "0.1", "model": "lr"}, {"auc": 0.71, "loss": 0.5}, {"team": "x"}, "FINISHED"),
    ("r2", "a", {"C": "1.0", "model": "lr"}, {"auc": 0.85, "loss": NAN}, {"team": "y"}, "FINISHED"),
    ("r3", "a", {"C": "10", "model": "Tree"}, {"auc": 0.93}, {"team": "x"}, "FAILED"),
    ("r4", "a", {"C": "1.0", "model": "tree"}, {}, {}, "RUNNING"),
    ("r5", "b", {"C": "1.0"}, {"auc": 0.99}, {"team": "x"}, "FINISHED"),
]


class Corpus:
    """The runs above, stored; `names(...)` runs a search and returns the run names."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.experiments = {n: tracking.create_experiment(store, n).id for n in ("a", "b")}
        self.runs: dict[str, tracking.Run] = {}
        for name, experiment, params, metrics, tags, status in RUNS:
            run = tracking.start_run(
                store, self.experiments[experiment], name=name, params=params, tags=tags
            )
            tracking.log_metrics(store, run.id, [Metric(k, v) for k, v in metrics.items()])
            if status != tracking.RUNNING:
                tracking.end_run(store, run.id, status)
            self.runs[name] = tracking.get_run(store, run.id)

    def search(self, filter: str | None = None, **options: Any) -> tracking.RunPage:
        options.setdefault("experiment_ids", [self.experiments["a"]])
        return tracking.search_runs(self.store, filter=filter, **options)

    def names(self, filter: str | None = None, **options: Any) -> list[str]:
        return [run.name for run in self.search(filter, **options).runs]


@pytest.fixture
def corpus(store: Store) -> Corpus:
    return Corpus(store)


def test_default_order_is_newest_first_within_the_experiments(corpus: Corpus) -> None:
    assert corpus.names() == ["r4", "r3", "r2", "r1"]
    both = list(corpus.experiments.values())
    assert corpus.names(experiment_ids=both) == ["r5", "r4", "r3", "r2", "r1"]
    assert corpus.names(experiment_ids=[]) == ["r5", "r4", "r3", "r2", "r1"]


def test_found_runs_are_complete(corpus: Corpus) -> None:
    (found,) = corpus.search("name = 'r2'").runs
    assert found.params == corpus.runs["r2"].params
    assert found.tags == {"team": "y"}
    assert found.metrics["auc"] == 0.85
    assert math.isnan(found.metrics["loss"])
    assert found.status == "FINISHED"


FILTERS = [
    ("params.C = '1.0'", ["r4", "r2"]),
    ("params.C != '1.0'", ["r3", "r1"]),
    ("metrics.auc > 0.8", ["r3", "r2"]),
    ("metrics.auc >= 0.85 and params.model = 'lr'", ["r2"]),
    ("metrics.loss < 1", ["r1"]),
    ("metrics.loss != 0.5", ["r2"]),  # NaN differs from every number
    ("tags.team = 'x'", ["r3", "r1"]),
    ("attributes.status = 'FINISHED'", ["r2", "r1"]),
    ("status != 'RUNNING' AND tags.team = 'x'", ["r3", "r1"]),
    ("params.model LIKE 't%'", ["r4"]),  # LIKE is case-sensitive on every backend
    ("params.model ILIKE 't%'", ["r4", "r3"]),
    ("name IN ('r1', 'r3')", ["r3", "r1"]),
    ("run_name NOT IN ('r1', 'r3')", ["r4", "r2"]),
    ('params.`model` = "lr" and metrics."auc" < 0.8', ["r1"]),
    ("tags.team = 'x' and params.C = '1.0'", []),
]


def test_filters(corpus: Corpus) -> None:
    found = {text: corpus.names(text) for text, _ in FILTERS}
    assert found == dict(FILTERS)


def test_time_filters_take_epoch_ms_or_iso_dates(corpus: Corpus) -> None:
    r2 = corpus.runs["r2"]
    start_ms = int(r2.start_time.timestamp() * 1000)
    assert corpus.names(f"start_time > {start_ms}") == ["r4", "r3"]
    assert corpus.names(f"attributes.start_time <= '{r2.start_time.isoformat()}'") == ["r2", "r1"]
    assert corpus.names("end_time > 0") == ["r3", "r2", "r1"]


def test_ordering(corpus: Corpus) -> None:
    # Runs without the value come last, whichever the direction.
    assert corpus.names(order_by=["metrics.auc DESC"]) == ["r3", "r2", "r1", "r4"]
    assert corpus.names(order_by=["metrics.auc"]) == ["r1", "r2", "r3", "r4"]
    assert corpus.names(order_by=["params.C ASC", "name DESC"]) == ["r1", "r4", "r2", "r3"]
    assert corpus.names(order_by=["start_time ASC"]) == ["r1", "r2", "r3", "r4"]
    assert corpus.names(order_by=["metrics.loss desc"])[0] == "r1"  # NaN sorts with missing
    assert corpus.names("tags.team = 'x'", order_by=["tags.team", "name"]) == ["r1", "r3"]


def test_pages_cover_every_run_once(corpus: Corpus) -> None:
    first = corpus.search(order_by=["name"], max_results=3)
    assert [run.name for run in first.runs] == ["r1", "r2", "r3"]
    assert first.next_page_token is not None
    second = corpus.search(order_by=["name"], max_results=3, page_token=first.next_page_token)
    assert [run.name for run in second.runs] == ["r4"]
    assert second.next_page_token is None
    exact = corpus.search(max_results=4)
    assert len(exact.runs) == 4
    assert exact.next_page_token is None


MALFORMED = [
    ("metrics.auc >", "expected `<entity>.<key> <op> <value>`"),
    ("params.C = 1.0", "params.C holds strings: quote the value"),
    ("metrics.auc > 'high'", "compares numbers"),
    ("metrics.auc LIKE 0.1", "accepts the operators"),
    ("metrics.auc > 0.9 params.C = '1'", "expected AND between clauses"),
    ("metrics.auc > 0.9 and", "the filter ends with AND"),
    ("models.x = 'y'", "unknown entity 'models'"),
    ("colour = 'red'", "unknown run attribute 'colour'"),
    ("name IN 'r1'", "IN takes a list"),
]


def test_malformed_filters_name_the_clause_and_the_grammar(corpus: Corpus) -> None:
    for text, problem in MALFORMED:
        with pytest.raises(InvalidInput) as caught:
            corpus.search(text)
        assert problem in caught.value.message, text
        assert "Accepted: a filter is one or more clauses" in caught.value.message
        assert caught.value.field == "filter"
    with pytest.raises(InvalidInput, match=r"filter clause 'params\.C = 1\.0' is not valid"):
        corpus.search("metrics.auc > 0.5 and params.C = 1.0")


def test_bad_order_page_token_and_size_are_refused(corpus: Corpus) -> None:
    with pytest.raises(InvalidInput, match=r"order_by item 'metrics\.auc sideways'") as caught:
        corpus.search(order_by=["metrics.auc sideways"])
    assert caught.value.field == "order_by[0]"
    with pytest.raises(InvalidInput, match="page token 'garbage' is not valid"):
        corpus.search(page_token="garbage")
    for size in (0, 10_001):
        with pytest.raises(InvalidInput, match="max_results"):
            corpus.search(max_results=size)


def _count_selects(store: Store, action: Callable[[], object]) -> int:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(store.db.engine, "before_cursor_execute", record)
    return sum(1 for sql in statements if sql.lstrip().upper().startswith("SELECT"))


def test_a_page_is_filled_in_with_one_query_per_related_table(store: Store) -> None:
    experiment = tracking.create_experiment(store, "many")
    for i in range(60):
        run = tracking.start_run(store, experiment.id, params={"i": i}, tags={"t": "x"})
        tracking.log_metrics(store, run.id, [Metric("m", float(i))])

    def search() -> tracking.RunPage:
        return tracking.search_runs(store, experiment_ids=[experiment.id], max_results=60)

    # The search itself, then params, tags, latest metrics, inputs, artifacts: never per run.
    assert _count_selects(store, search) == 6
    page = search()
    assert len(page.runs) == 60
    assert all(run.params and run.tags and run.metrics for run in page.runs)
