"""The demo's serving step: an endpoint on the champion, a real server, some traffic."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pandas as pd

from steward import registry
from steward.config import Settings
from steward.contracts import Contract
from steward.demo.data import FEATURES
from steward.demo.loop import LoopSummary, run_closed_loop
from steward.demo.monitoring import (
    DRIFTED_FEATURE,
    WINDOW_MS,
    WINDOWS,
    monitor_and_alert,
    send_windowed_traffic,
)
from steward.errors import NotFound
from steward.monitoring.runs import WindowRun
from steward.predictions import PredictionLog, PredictionStore, compact
from steward.registry.endpoints import update_endpoint
from steward.retraining.rollout import abort_rollout, list_rollouts
from steward.serving import (
    EndpointSource,
    ServingCache,
    create_serving_app,
    serve_in_background,
)
from steward.store import open_store

__all__ = ["ENDPOINT", "ServingSummary", "serve_and_send_traffic"]

ENDPOINT = "churn-prod"
POLL_INTERVAL_S = 0.25  # the demo's serving process follows rollout stages within this
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ServingSummary:
    requests: int
    answered: int
    p50_ms: float
    p99_ms: float
    rejected_message: str
    logged: int
    monitor_runs: list[WindowRun]
    webhook_received: list[dict[str, Any]]
    loop: LoopSummary


def serve_and_send_traffic(
    settings: Settings,
    model: str,
    rows: pd.DataFrame,
    echo: Echo,
    *,
    requests: int = 200,
    serve: bool = False,
    epilogue: Callable[[], None] = lambda: None,
) -> ServingSummary:
    """Point `ENDPOINT` at `model@champion`, serve it on 127.0.0.1 and send it `requests`
    single-row requests in the three protocols, plus one bad row; then windows of traffic
    with drift, the monitor, and the closed loop (left running when `serve`)."""
    _ensure_endpoint(settings, model)
    echo(
        f"6. Endpoint {ENDPOINT} (production) -> {model}@champion; serving it on 127.0.0.1 "
        "with the prediction log on."
    )
    # Segments sealed within a second: monitors and rollout gates see answers at once.
    live = settings.model_copy(
        update={"prediction_segment_max_age_s": 0.5, "prediction_flush_interval_s": 0.2}
    )
    prediction_log = PredictionLog.from_settings(live)
    app = create_serving_app(
        EndpointSource(lambda: open_store(settings), ENDPOINT),
        cache=ServingCache(settings.resolved_serving_cache_dir),
        poll_interval_s=POLL_INTERVAL_S,
        prediction_log=prediction_log,
    )
    sample = rows[FEATURES].head(requests).to_dict(orient="records")
    records = [{str(name): value for name, value in row.items()} for row in sample]
    # Client and server share this process: a short GIL switch interval keeps each request
    # from waiting out CPython's default 5 ms at every hand-over between the two threads.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    with (
        serve_in_background(app) as url,
        httpx.Client(base_url=url, timeout=10.0) as http,
    ):
        timed = [_timed_post(http, "/predict", {"instances": [row]}) for row in records]
        valid = [row for row, (_, ok) in zip(records, timed, strict=True) if ok]
        _check(http.post("/invocations", json={"dataframe_records": valid[:5]}))
        _check(http.post(f"/v2/models/{ENDPOINT}/infer", content=_v2_body(valid[:3])))
        bad = dict(records[0], tenure_months="forty")
        refused = http.post("/predict", json={"instances": [bad]})
        sys.setswitchinterval(switch_interval)
        message = refused.json()["error"]["message"] if refused.status_code == 422 else refused.text
        prediction_log.flush(seal=True)
        logged = _narrate_serving(settings, timed, refused.status_code, message, echo)
        traffic = send_windowed_traffic(http, _champion_contract(settings, model))
        echo(
            f"9. Sent {len(traffic.prediction_ids)} more rows in {WINDOWS} windows of "
            f"{WINDOW_MS // 1000} s; in the last, {DRIFTED_FEATURE} drifted (new customers)."
        )
        prediction_log.flush(seal=True)
        runs, received = monitor_and_alert(settings, ENDPOINT, traffic, echo)
        _narrate_monitoring(runs, received, echo)
        loop = run_closed_loop(settings, url, echo, serve=serve, epilogue=epilogue)
    latencies = [ms for ms, _ in timed]
    answered = sum(ok for _, ok in timed)
    p50, p99 = (float(v) for v in np.percentile(latencies, [50, 99]))
    return ServingSummary(len(timed), answered, p50, p99, message, logged, runs, received, loop)


def _narrate_serving(
    settings: Settings, timed: list[tuple[float, bool]], status: int, message: str, echo: Echo
) -> int:
    """Tell how the requests went; the number of predictions logged so far."""
    latencies = [ms for ms, _ in timed]
    answered = sum(ok for _, ok in timed)
    p50, p99 = (float(v) for v in np.percentile(latencies, [50, 99]))
    echo(
        f"7. Sent {len(timed)} requests to POST /predict (p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        "round trip), plus MLflow /invocations and Open Inference v2 requests."
    )
    if answered < len(timed):
        echo(
            f"   The contract refused {len(timed) - answered} real rows with values outside "
            "the training data's range (HTTP 422, nothing scored)."
        )
    echo(f"   A malformed row got HTTP {status}: {message}")
    directory = settings.resolved_predictions_dir
    compact(directory)
    logged = PredictionStore(directory).count(ENDPOINT)
    echo(f"8. The prediction log holds {logged} predictions of {ENDPOINT} under {directory}/.")
    return logged


def _narrate_monitoring(runs: list[WindowRun], received: list[dict[str, Any]], echo: Echo) -> None:
    echo(f"11. Monitor {ENDPOINT} computed {len(runs)} windows from the Parquet log:")
    for number, run in enumerate(runs, start=1):
        fired = [t for t in run.transitions if t.kind == "fired"]
        what = "; ".join(f"{t.rule.name} fired on {t.key}" for t in fired) or "no alert"
        echo(
            f"    window {number}: {run.rows} rows, {run.labelled_rows} labelled, "
            f"{run.metrics} metrics -> {what}"
        )
    for body in received:
        echo(f"12. The webhook on 127.0.0.1 received: {body.get('text')}")
    if not received:
        echo("12. No alert reached the webhook.")


def _ensure_endpoint(settings: Settings, model: str) -> None:
    store = open_store(settings)
    try:
        try:
            registry.get_endpoint(store, ENDPOINT)
            registry.set_traffic(store, ENDPOINT, {"@champion": 100}, actor=settings.actor)
            for rollout in list_rollouts(store, endpoint=ENDPOINT, status="running"):
                abort_rollout(store, rollout.id, actor=settings.actor, reason="demo restarted")
        except NotFound:
            registry.create_endpoint(
                store,
                ENDPOINT,
                environment="production",
                model_name=model,
                alias="champion",
                actor=settings.actor,
                environments=settings.environments,
            )
        # Whatever a challenger fails to answer, the champion answers. Servers, traffic and
        # retraining share one process here: a generous timeout keeps a busy moment from
        # counting as a model failure.
        update_endpoint(
            store, ENDPOINT, actor=settings.actor, fallback=["@champion"], timeout_ms=10_000
        )
    finally:
        store.close()


def _champion_contract(settings: Settings, model: str) -> Contract | None:
    store = open_store(settings)
    try:
        document = registry.resolve(store, f"models:/{model}@champion").contract
    finally:
        store.close()
    return None if document is None else Contract.from_dict(document)


def _timed_post(http: httpx.Client, path: str, body: dict[str, Any]) -> tuple[float, bool]:
    """Milliseconds for the round trip, and whether the row was scored (422: refused by the
    contract, which real traffic can be)."""
    started = time.perf_counter()
    response = http.post(path, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 422:
        _check(response)
    return elapsed, response.status_code == 200


def _check(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.url.path} answered {response.status_code}: {response.text}"
        )


def _v2_body(records: list[dict[str, Any]]) -> bytes:
    """An Open Inference v2 request as real clients send it: JSON, one tensor per column."""
    import orjson

    inputs = []
    for name in FEATURES:
        values = [row[name] for row in records]
        datatype = "BYTES" if isinstance(values[0], str) else "FP64"
        inputs.append({"name": name, "shape": [len(values)], "datatype": datatype, "data": values})
    return orjson.dumps({"inputs": inputs}, option=orjson.OPT_SERIALIZE_NUMPY)
