"""Hot swap: the server follows alias moves and traffic changes with no failed request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pandas as pd

from steward import registry
from steward.store import Store
from tests.serving.conftest import AppFactory, row
from tests.serving.live import live_app, wait_until


@dataclass
class Traffic:
    """What a client sending requests back to back saw."""

    versions: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def latest(self) -> int | None:
        return self.versions[-1] if self.versions else None


def answered_by(seen: Traffic, version: int) -> Callable[[], bool]:
    """True once a few more answers came and the newest is from `version`."""
    count = len(seen.versions)
    return lambda: len(seen.versions) > count + 5 and seen.latest() == version


@contextmanager
def continuous_traffic(url: str, body: dict[str, object]) -> Iterator[Traffic]:
    seen = Traffic()
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post("/predict", json=body)
                except httpx.HTTPError as exc:
                    seen.failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    seen.failures.append(f"{response.status_code} {response.text}")
                else:
                    seen.versions.append(response.json()["model_version"])

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def test_moving_the_alias_swaps_versions_without_a_failed_request(
    churn: Store, make_app: AppFactory, frame: pd.DataFrame
) -> None:
    app = make_app(churn, uri="models:/churn@champion")
    with live_app(app) as url, continuous_traffic(url, {"instances": [row(frame)]}) as seen:
        wait_until(lambda: len(seen.versions) > 20, what="traffic on version 1")
        for target in (2, 1, 2, 1, 2):
            registry.set_alias(churn, "churn", "champion", target, actor="tester")
            wait_until(answered_by(seen, target), what=f"version {target} to answer")
    assert seen.failures == []
    assert seen.versions[0] == 1
    assert seen.versions[-1] == 2
    assert app.runtime.table is not None
    assert app.runtime.table.spec.traffic[0].version.version == 2


def test_traffic_changes_on_an_endpoint_are_followed(
    churn: Store, make_app: AppFactory, frame: pd.DataFrame
) -> None:
    registry.create_endpoint(
        churn,
        "churn-prod",
        environment="production",
        model_name="churn",
        alias="champion",
        actor="tester",
    )
    app = make_app(churn, endpoint="churn-prod")
    with live_app(app) as url, continuous_traffic(url, {"instances": [row(frame)]}) as seen:
        wait_until(lambda: len(seen.versions) > 10, what="traffic")
        registry.set_traffic(churn, "churn-prod", {"@challenger": 100}, actor="tester")
        wait_until(lambda: seen.latest() == 2, what="the challenger to take all traffic")
        registry.set_traffic(churn, "churn-prod", {"1": 100}, actor="tester")  # a rollback
        wait_until(lambda: seen.latest() == 1, what="the rollback")
        readiness = httpx.get(f"{url}/readyz").json()
    assert seen.failures == []
    assert readiness["traffic"] == [{"target": "1", "version": 1, "weight": 100.0}]
