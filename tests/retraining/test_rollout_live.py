"""Progressive rollout against live components: the real serving app on 127.0.0.1 answering
HTTP clients while the control plane's tick judges the challenger, and a real `steward
server` process killed mid-rollout and started again."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from steward import registry
from steward.audit import list_events
from steward.config import Settings
from steward.predictions import PredictionLog, PredictionRecord
from steward.retraining.rollout import (
    get_rollout,
    list_rollout_events,
    start_rollout,
    tick_rollouts,
)
from steward.serving import EndpointSource, ServingCache, create_serving_app, serve_in_background
from steward.store import Store, open_store
from tests.serving.live import wait_until

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "churn-prod"
RARE_X0 = 1.96  # |x0| beyond this: about 5% of standard-normal rows
BATCH = 20
MAX_BATCHES = 100
SERVER = "from steward.cli.main import main; main()"


class FailsOnRareRows:
    """A challenger that raises on rows with |x0| > RARE_X0, about 5% of real traffic, and
    answers like the logistic regression it wraps otherwise."""

    def __init__(self, model: LogisticRegression) -> None:
        self.model = model

    @property
    def feature_names_in_(self) -> Any:  # Any: scikit-learn's array of names
        return self.model.feature_names_in_

    def predict(self, features: pd.DataFrame) -> Any:  # Any: scikit-learn's array
        self._refuse_rare(features)
        return self.model.predict(features)

    def predict_proba(self, features: pd.DataFrame) -> Any:
        self._refuse_rare(features)
        return self.model.predict_proba(features)

    @staticmethod
    def _refuse_rare(features: pd.DataFrame) -> None:
        x0 = np.abs(np.asarray(features["x0"], dtype=np.float64))
        if (x0 > RARE_X0).any():
            raise ValueError(f"x0 {float(x0.max()):.3f} outside what this version handles")


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x0": rng.normal(size=rows), "x1": rng.normal(size=rows)})


def _register_versions(store: Store, challenger: str) -> None:
    """churn v1 (@champion, a logistic regression) and v2 (`challenger`: the same kind, or
    one failing on rare rows); endpoint churn-prod on @champion, falling back to it."""
    x = _frame(300, 0)
    y = (x["x0"] + 0.5 * x["x1"] > 0).astype(int)
    sample = x[x["x0"].abs() < 1].head(5)
    registry.register_model(
        store, "churn", LogisticRegression().fit(x, y), sample_input=sample, actor="tester"
    )
    model = LogisticRegression(C=0.5).fit(x, y)
    second = FailsOnRareRows(model) if challenger == "failing" else model
    registry.register_model(store, "churn", second, sample_input=sample, actor="tester")
    registry.set_alias(store, "churn", "champion", 1, actor="tester")
    registry.create_endpoint(
        store, ENDPOINT, environment="production", model_name="churn", alias="champion",
        sticky_key="customer_id", fallback=("@champion",), actor="tester",
    )  # fmt: skip


def _traffic(store: Store) -> dict[str, float]:
    return {t.target: t.weight for t in registry.get_endpoint(store, ENDPOINT).traffic}


def _served_versions(http: httpx.Client) -> set[int]:
    response = http.get("/readyz")
    if response.status_code != 200:
        return set()
    return {int(t["version"]) for t in response.json()["traffic"]}


def _requests(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One request row per customer: the sticky key decides who meets the challenger."""
    return [
        {"customer_id": f"customer-{i}", "x0": float(x0), "x1": float(x1)}
        for i, (x0, x1) in enumerate(zip(frame["x0"], frame["x1"], strict=True))
    ]


def test_a_challenger_failing_on_5_percent_is_rolled_back_before_50_percent_and_clients_see_no_error(  # noqa: E501
    store: Store, settings: Settings, database_url: str
) -> None:
    settings = settings.model_copy(
        update={"database_url": database_url, "prediction_flush_interval_s": 0.05}
    )
    _register_versions(store, "failing")
    # With 100 samples needed, a 5% failure rate passing the 2% gate by luck is negligible.
    rollout = start_rollout(
        store, ENDPOINT, 2, stages=(10, 50, 100), min_samples=100, min_duration_s=0,
        gates={"max_error_rate": 0.02}, actor="tester",
    )  # fmt: skip
    prediction_log = PredictionLog.from_settings(settings)
    app = create_serving_app(
        EndpointSource(lambda: open_store(settings), ENDPOINT),
        cache=ServingCache(settings.resolved_serving_cache_dir),
        poll_interval_s=0.1,
        prediction_log=prediction_log,
    )
    rows = _requests(_frame(BATCH * MAX_BATCHES, 1))
    answers: list[httpx.Response] = []
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        wait_until(lambda: _served_versions(http) == {1, 2}, what="the 90/10 split served")
        for start in range(0, len(rows), BATCH):
            answers += [
                http.post("/predict", json={"instances": [r]}) for r in rows[start : start + BATCH]
            ]
            prediction_log.flush(seal=True)  # the rows reach the log before the control plane looks
            tick_rollouts(store, settings)
            if get_rollout(store, rollout.id).status != "running":
                break
        assert [a.status_code for a in answers] == [200] * len(answers)
        rolled = get_rollout(store, rollout.id)
        assert (rolled.status, rolled.stage_percent) == ("rolled_back", 10)
        wait_until(lambda: _served_versions(http) == {1}, what="the champion alone served")
        after = [http.post("/predict", json={"instances": [r]}).json() for r in rows[:BATCH]]

    bodies = [a.json() for a in answers]
    assert all(len(b["predictions"]) == 1 for b in bodies)
    covered = [b for b in bodies if b["route"] == "fallback"]
    assert covered, "the challenger never failed a request"
    assert {b["model_version"] for b in covered} == {1}
    assert _traffic(store) == {"@champion": 100}
    assert registry.get_alias(store, "churn", "champion").version == 1
    events = list_rollout_events(store, rollout.id)
    assert [e.kind for e in events] == ["started", "rolled_back"]
    assert events[-1].details["fallbacks"] >= 1
    assert events[-1].details["error_rate"] > 0.02
    actions = [e.action for e in list_events(store, target_type="rollout")]
    assert "rollout.rollback" in actions
    assert "rollout.advance" not in actions
    assert {(b["model_version"], b["route"]) for b in after} == {(1, "primary")}


# The control plane as a process ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def bytecode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bytecode cache for every child process, so only the first compiles the imports."""
    return tmp_path_factory.mktemp("pycache")


@contextmanager
def control_plane(
    home: Path, database_url: str, bytecode: Path, output: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`steward server` with its scheduler ticking every 0.2 s; killed on the way out."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {
        "STEWARD_HOME": str(home),
        "STEWARD_DATABASE_URL": database_url,
        "STEWARD_SCHEDULER_ENABLED": "true",
        "STEWARD_SCHEDULER_INTERVAL_S": "0.2",
        "PYTHONPYCACHEPREFIX": str(bytecode),
    }
    command = [sys.executable, "-c", SERVER, "server", "--port", str(port)]
    with output.open("ab") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: _is_up(url) or process.poll() is not None, what="steward server", timeout_s=120
        )
        assert process.poll() is None, f"steward server exited: {output.read_text()}"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=20)


def _is_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _log_challenger_answers(settings: Settings, rows: int) -> None:
    """`rows` answers of version 2 logged now, as a serving replica would."""
    log = PredictionLog(settings.resolved_predictions_dir, compact_on_start=False)
    at_ms = time.time_ns() // 1_000_000
    log.append(
        [
            PredictionRecord(
                prediction_id=f"{at_ms}-{i}",
                at_ms=at_ms,
                endpoint=ENDPOINT,
                model_name="churn",
                model_version=2,
                route="primary",
                inputs={"x0": float(i), "x1": 0.0},
                outputs={"prediction": i % 2},
                latency_ms=2.0,
            )
            for i in range(rows)
        ]
    )
    log.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_killing_the_control_plane_mid_rollout_resumes_where_it_was(
    store: Store,
    settings: Settings,
    database_url: str,
    home: Path,
    bytecode: Path,
    tmp_path: Path,
) -> None:
    _register_versions(store, "healthy")
    rollout = start_rollout(
        store, ENDPOINT, 2, stages=(10, 50, 100), min_samples=20, min_duration_s=0,
        actor="tester",
    )  # fmt: skip
    output = tmp_path / "server.log"

    def stage() -> tuple[str, int]:
        current = get_rollout(store, rollout.id)
        return current.status, current.stage_percent

    with control_plane(home, database_url, bytecode, output) as first:
        wait_until(
            lambda: get_rollout(store, rollout.id).last_evaluation is not None,
            what="the first server's tick",
        )
        assert stage() == ("running", 10)  # no samples yet: it holds
        _log_challenger_answers(settings, 20)
        wait_until(lambda: stage() == ("running", 50), what="stage 50%")
        first.kill()
        first.wait(timeout=20)

    assert stage() == ("running", 50)
    assert [e.kind for e in list_rollout_events(store, rollout.id)] == ["started", "advanced"]
    # The kill may land between recording the stage and routing it; the next tick routes it.
    assert _traffic(store) in ({"@champion": 50, "2": 50}, {"@champion": 90, "2": 10})
    _log_challenger_answers(settings, 20)  # served while no control plane was running
    with control_plane(home, database_url, bytecode, output):
        wait_until(
            lambda: _traffic(store) == {"@champion": 50, "2": 50} or stage()[1] == 100,
            what="the stage's traffic",
        )
        wait_until(lambda: stage() == ("running", 100), what="stage 100%")
        _log_challenger_answers(settings, 20)
        wait_until(lambda: stage()[0] == "promoted", what="the promotion")

    assert registry.get_alias(store, "churn", "champion").version == 2
    assert _traffic(store) == {"@champion": 100}
    events = list_rollout_events(store, rollout.id)
    assert [e.kind for e in events] == ["started", "advanced", "advanced", "promoted"]
    assert [e.details["stage"] for e in events[1:]] == [10, 50, 100]
