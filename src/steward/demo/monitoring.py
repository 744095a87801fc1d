"""The demo's monitoring step: traffic in short windows with drift injected in the last one,
late labels, a monitor over the windows, and an alert delivered to a local webhook."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from steward.config import Settings
from steward.contracts import Contract, validate
from steward.demo.data import FEATURES, make_churn_frame
from steward.demo.retrain import DRIFTED_FEATURE, drifted
from steward.errors import NotFound
from steward.monitoring.alert_rules import update_rule
from steward.monitoring.monitors import create_monitor, get_monitor, parse_config, update_monitor
from steward.monitoring.notifiers import notifiers_from_settings
from steward.monitoring.runs import WindowRun, run_monitor
from steward.monitoring.windows import Window
from steward.sdk import Client
from steward.store import open_store

__all__ = [
    "DRIFTED_FEATURE",
    "Traffic",
    "WebhookReceiver",
    "monitor_and_alert",
    "send_windowed_traffic",
]

Echo = Callable[[str], None]
WINDOW_MS = 2000
WINDOWS = 3  # two like the training data, then one with drift
ROWS_PER_WINDOW = 1200  # above the default drift rules' 1,000-row minimum
ROWS_PER_REQUEST = 50


@dataclass(frozen=True, slots=True)
class Traffic:
    first: Window
    prediction_ids: list[str]
    churned: list[int]


def send_windowed_traffic(http: httpx.Client, contract: Contract | None) -> Traffic:
    """Send `ROWS_PER_WINDOW` rows in each of `WINDOWS` consecutive windows; in the last,
    customers' tenure drops (new sign-ups flood in): the drift the monitor should catch.

    Rows the endpoint's contract would refuse (values beyond the training range) are left
    out here, as a well-behaved client would, so each request is answered whole."""
    ids: list[str] = []
    churned: list[int] = []
    first = None
    for index in range(WINDOWS):
        frame = make_churn_frame(2 * ROWS_PER_WINDOW, seed=100 + index)
        if index == WINDOWS - 1:
            frame = drifted(frame)
        if contract is not None:
            frame = validate(frame, contract, mode="drop").valid
        frame = frame.head(ROWS_PER_WINDOW)
        window = _next_window()
        first = first or window
        for start in range(0, ROWS_PER_WINDOW, ROWS_PER_REQUEST):
            rows = frame[FEATURES].iloc[start : start + ROWS_PER_REQUEST]
            answer = http.post("/predict", json={"instances": rows.to_dict(orient="records")})
            answer.raise_for_status()
            ids += answer.json()["prediction_ids"]
        churned += frame["churned"].tolist()
    if first is None:
        raise ValueError("WINDOWS must be at least 1")
    return Traffic(first, ids, churned)


def monitor_and_alert(
    settings: Settings, endpoint: str, traffic: Traffic, echo: Echo
) -> tuple[list[WindowRun], list[dict[str, Any]]]:
    """Post labels for half the rows, run a monitor over the windows, deliver its alerts to
    a webhook receiver on 127.0.0.1; the window runs and what the receiver got."""
    client = Client(settings)
    try:
        half = [
            {"prediction_id": pid, "label": label}
            for n, (pid, label) in enumerate(
                zip(traffic.prediction_ids, traffic.churned, strict=True)
            )
            if n % 2 == 0
        ]
        client.log_labels(endpoint, half)
    finally:
        client.close()
    echo(f"10. Posted late labels for {len(half)} of those predictions (by prediction id).")
    store = open_store(settings)
    try:
        _ensure_monitor(store, settings, endpoint)
        with WebhookReceiver() as receiver:
            runs = run_monitor(
                store,
                settings,
                endpoint,
                start_ms=traffic.first.start_ms,
                end_ms=traffic.first.start_ms + WINDOWS * WINDOW_MS,
                notifiers=notifiers_from_settings(settings, webhook_url=receiver.url),
            )
            received = receiver.wait_for(1, timeout_s=2.0)  # sent during the run
    finally:
        store.close()
    return runs, received


def _ensure_monitor(store: Any, settings: Settings, name: str) -> None:
    config = parse_config(
        {
            "endpoint": name,
            "task": "classification",
            "window": f"{WINDOW_MS // 1000}s",
            "delay": "1s",
            "segments": ["region"],
        }
    )
    try:
        get_monitor(store, name)
        update_monitor(store, name, config=config, actor=settings.actor)
    except NotFound:
        create_monitor(store, name, config, actor=settings.actor)
    # Windows of seconds: a demo run minutes after the last must alert again.
    update_rule(store, f"{name}-input-drift", {"cooldown_s": 0}, actor=settings.actor)


def _next_window() -> Window:
    """Sleep into the next window (a little after its start) and return it."""
    now = int(time.time() * 1000)
    start = now - now % WINDOW_MS + WINDOW_MS
    time.sleep((start - now) / 1000 + 0.05)
    return Window(start, start + WINDOW_MS)


class WebhookReceiver:
    """A stand-in for Slack or a pager: an HTTP server on 127.0.0.1 keeping every JSON
    body posted to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._arrived:
                    receiver.received.append(json.loads(body))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the demo prints what matters itself

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, *, timeout_s: float) -> list[dict[str, Any]]:
        """The bodies received, once `count` arrived or `timeout_s` passed."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout_s)
            return list(self.received)
