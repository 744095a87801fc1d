"""`steward serve` as a real process: quick start, and SIGKILL mid-load vs the prediction log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest

from steward.predictions import PredictionStore, compact
from steward.store import Store
from tests.serving.conftest import row
from tests.serving.live import wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVE = "import typer; from steward.cli.serve import serve; typer.run(serve)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def bytecode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bytecode cache for every child process, so only the first compiles the imports."""
    return tmp_path_factory.mktemp("pycache")


def child_env(home: Path, bytecode: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "STEWARD_HOME": str(home), "PYTHONPYCACHEPREFIX": str(bytecode)}


@contextmanager
def serving_process(
    home: Path, bytecode: Path, *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = child_env(home, bytecode)
    command = [sys.executable, "-c", SERVE, *args, "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: _is_ready(url) or process.poll() is not None,
            what="steward serve",
            timeout_s=180,  # a cold start compiles every import when no bytecode is cached
        )
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"steward serve exited {process.returncode}: {output}")
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=20)


def _is_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_quick_start_serves_a_model_uri_and_stops_cleanly(
    churn: Store, home: Path, frame: pd.DataFrame, bytecode: Path
) -> None:
    with serving_process(home, bytecode, "models:/churn@champion") as (process, url):
        body = httpx.post(f"{url}/predict", json={"instances": [row(frame)]}).json()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) in (
            0,
            -signal.SIGTERM,
        )  # uvicorn re-raises it after a clean shutdown
    assert body["model_version"] == 1
    compact(home / "predictions")
    logged = PredictionStore(home / "predictions").query("SELECT prediction_id FROM predictions")
    assert logged.column("prediction_id").to_pylist() == body["prediction_ids"]  # SIGTERM kept it


def test_a_bad_reference_fails_fast_with_one_readable_line(
    churn: Store, home: Path, bytecode: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE, "models:/chrun@champion"],
        cwd=ROOT,
        env=child_env(home, bytecode),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode != 0
    assert "no registered model 'chrun'; did you mean 'churn'?" in done.stderr + done.stdout


def send_until_killed(
    url: str, frame: pd.DataFrame
) -> tuple[list[tuple[float, str]], threading.Event]:
    acknowledged: list[tuple[float, str]] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=url, timeout=5) as client:
            index = 0
            while not stop.is_set():
                index += 1
                try:
                    response = client.post(
                        "/predict", json={"instances": [row(frame, index % 100)]}
                    )
                except httpx.HTTPError:
                    continue  # the kill: a request in flight gets no answer
                if response.status_code == 200:
                    acknowledged.append((time.monotonic(), response.json()["prediction_ids"][0]))

    for _ in range(2):
        threading.Thread(target=send, daemon=True).start()
    return acknowledged, stop


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "flush_interval_s"), [("durable", 5.0), ("default", 0.2)])
def test_sigkill_mid_load_loses_at_most_the_last_flush_interval(
    churn: Store,
    home: Path,
    frame: pd.DataFrame,
    bytecode: Path,
    mode: str,
    flush_interval_s: float,
) -> None:
    args = ["models:/churn@champion", "--flush-interval", str(flush_interval_s)]
    if mode == "durable":
        args.append("--durable")
    with serving_process(home, bytecode, *args) as (process, url):
        acknowledged, stop = send_until_killed(url, frame)
        wait_until(lambda: len(acknowledged) > 300, what="load on the server")
        os.kill(process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        process.wait(timeout=20)
        stop.set()
    compact(home / "predictions")
    kept = set(
        PredictionStore(home / "predictions")
        .query("SELECT prediction_id FROM predictions")
        .column("prediction_id")
        .to_pylist()
    )
    acked = [(at, pid) for at, pid in acknowledged if at <= killed_at]
    lost = [(at, pid) for at, pid in acked if pid not in kept]
    if mode == "durable":
        assert lost == []  # every acknowledged prediction was on disk before its answer
    else:
        # Only the unsynced tail may go: answers younger than one flush interval (plus slack
        # for the writer's last sync in flight).
        assert all(killed_at - at < flush_interval_s + 0.5 for at, _ in lost)
    assert len(kept) >= len(acked) - len(lost)
    print(f"{mode}: acknowledged {len(acked)}, kept {len(kept)}, lost {len(lost)}")
