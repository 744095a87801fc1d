"""What the alert tests share: monitors and results in a real store, a recording channel,
and a real HTTP receiver on 127.0.0.1 for webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa

from steward.monitoring.alert_entities import AlertTransition
from steward.monitoring.series import MetricResult, record_results
from steward.store import Store
from steward.store.tables import alert_events, alerts, monitors

HOUR_MS = 3_600_000
T0 = 1_700_000_000_000 // HOUR_MS * HOUR_MS  # an hour boundary in November 2023


def add_monitor(store: Store, name: str = "churn") -> None:
    """A monitor row as the monitors service stores it (the alert code needs only its name)."""
    with store.db.write() as conn:
        conn.execute(
            monitors.insert().values(
                name=name,
                endpoint="churn-prod",
                version=1,
                spec={"endpoint": "churn-prod", "task": "classification"},
                enabled=True,
                created_at_ms=T0,
                updated_at_ms=T0,
                created_by="tester",
            )
        )


def start(window: int) -> int:
    return T0 + window * HOUR_MS


def put(
    store: Store,
    window: int,
    value: float | None,
    *,
    n: int = 1000,
    metric: str = "drift.psi",
    feature: str = "",
    segment: str = "",
    monitor: str = "churn",
) -> None:
    """One result of hourly window number `window`."""
    result = MetricResult(metric, value, n, feature=feature, segment=segment)
    record_results(store, monitor, start(window), start(window + 1), [result])


def counts(store: Store) -> tuple[int, int]:
    """(alerts, alert events) stored."""
    with store.db.read() as conn:
        count = sa.select(sa.func.count())
        return (
            conn.execute(count.select_from(alerts)).scalar_one(),
            conn.execute(count.select_from(alert_events)).scalar_one(),
        )


@dataclass
class Recorder:
    """A channel that keeps what it is sent (a fake only at the notification boundary)."""

    name: str = "recorder"
    sent: list[AlertTransition] = field(default_factory=list)

    def send(self, transition: AlertTransition) -> None:
        self.sent.append(transition)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server's record of requests; answers with `statuses` in turn, then 200."""

    url: str
    statuses: list[int]
    requests: list[Received] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def receiver(statuses: list[int] | None = None, **headers: str) -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (a free port), serving in a thread."""
    record = Receiver(url="", statuses=list(statuses or []), headers=headers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            record.requests.append(received)
            status = record.statuses.pop(0) if record.statuses else 200
            self.send_response(status)
            for key, value in record.headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0/B0/secret-token"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just freed)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/hook"
