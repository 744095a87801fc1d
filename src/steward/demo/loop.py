"""The demo's closed loop: with the control plane running and traffic flowing, drift
retrains the model, the challenger is compared and rolled out by policy on its own; then a
deliberately bad challenger is rolled back automatically, with no client seeing an error."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from steward import audit, registry
from steward.config import Settings
from steward.demo.data import FEATURES, make_churn_frame
from steward.demo.retrain import FlakyChurnModel, drifted
from steward.monitoring.alerts import list_alerts
from steward.retraining.loop import enable_loop
from steward.retraining.rollout import (
    ROLLBACK_METRIC,
    Rollout,
    get_rollout,
    list_rollouts,
    start_rollout,
)
from steward.sdk import Client
from steward.server.app import create_app
from steward.serving import serve_in_background
from steward.store import Store, open_store

__all__ = ["LOOP_CONFIG", "POLICY", "LoopSummary", "run_closed_loop"]

Echo = Callable[[str], None]
ROWS_PER_REQUEST = 20
WAIT_S = 240.0  # the longest the demo waits for the loop to act on its own
POLICY = """
checks:
  - metric_vs_champion: {metric: roc_auc, min_delta: -0.005}
  - contract_matches_champion: {}
"""
LOOP_CONFIG: dict[str, Any] = {
    "model": "churn",
    "pipeline": "steward.demo.retrain:pipeline",
    "params": {"rows": 4000},
    "drift": {"monitor": "churn-prod", "rule_prefix": "churn-prod-input-drift"},
    "guard_rails": {"max_retrains": 1, "period": "10m", "cooldown": "10m"},
    "evaluation": {"endpoint": "churn-prod", "lookback": "5m", "min_rows": 200},
    "rollout": {
        "endpoint": "churn-prod",
        "stages": [10, 50, 100],
        "min_samples": 100,
        "min_duration": "2s",
        "gates": {"max_error_rate": 0.02},
    },
}
SHOWN = {
    "retrain.loop_enabled",
    "retrain.triggered",
    "retrain.suppressed",
    "retrain.skipped_seasonal",
    "retrain.challenger",
    "retrain.failed",
    "rollout.start",
    "rollout.advance",
    "rollout.promote",
    "rollout.rollback",
    "model.promote",
}


@dataclass
class LoopSummary:
    """What the closed loop did, and what clients saw meanwhile."""

    retrained_version: int | None = None
    retrain_rollout: str | None = None  # the rollout's status, or what stopped the loop
    bad_version: int | None = None
    bad_rollout: str | None = None
    bad_rollout_stage: int | None = None
    requests: int = 0
    failed_requests: int = 0
    refused_requests: int = 0
    rollback_alerts: int = 0
    timeline: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # the timeline's audit actions


def run_closed_loop(
    settings: Settings,
    serving_url: str,
    echo: Echo,
    *,
    serve: bool = False,
    epilogue: Callable[[], None] = lambda: None,
) -> LoopSummary:
    """Set the policy and the loop, start the control plane, send traffic, and narrate the
    audit log as the control plane retrains, rolls out, promotes and rolls back. With
    `serve`, print `epilogue()` and keep both servers up until interrupted."""
    summary = LoopSummary()
    store = open_store(settings)
    try:
        first_seq = _last_seq(store)
        registry.set_policy(store, "churn", "production", POLICY, actor=settings.actor)
        enable_loop(store, LOOP_CONFIG, actor=settings.actor)
        echo(
            "13. Set the production policy of churn (ROC AUC >= champion - 0.005, same "
            "contract) and enabled its closed loop: drift on churn-prod retrains it, the "
            "challenger is scored with the champion on recent labelled traffic, then rolled "
            "out 10% -> 50% -> 100% with an error-rate gate."
        )
        control = settings.model_copy(
            update={"scheduler_enabled": True, "scheduler_interval_s": 0.5}
        )
        with serve_in_background(create_app(control)) as control_url:
            with _traffic(settings, serving_url, summary):
                echo(
                    f"14. The control plane runs on {control_url}; traffic keeps flowing. Timeline:"
                )
                _watch(store, settings, first_seq, summary, echo)
            echo(
                f"17. Clients sent {summary.requests} requests meanwhile: "
                f"{summary.failed_requests} failed, {summary.refused_requests} refused by the "
                "contract (HTTP 422)."
            )
            if serve:
                epilogue()
                _stay_up(control_url, serving_url, echo)
    finally:
        store.close()
    return summary


def _watch(
    store: Store, settings: Settings, first_seq: int, summary: LoopSummary, echo: Echo
) -> None:
    """Narrate the loop's turn, then the bad challenger's rollout, as they happen."""
    timeline = _Timeline(store, first_seq, echo, summary)
    summary.retrain_rollout = timeline.wait(
        lambda: _loop_finished(store, first_seq, summary), WAIT_S
    )
    bad = _start_bad_rollout(store, settings, summary, echo)
    if bad is not None:
        summary.bad_rollout = timeline.wait(lambda: _finished(store, bad.id), WAIT_S)
        summary.bad_rollout_stage = get_rollout(store, bad.id).stage_percent
        summary.rollback_alerts = _rollback_alerts(store, bad.id, echo)


class _Timeline:
    """Prints the loop's audit events as they are written."""

    def __init__(self, store: Store, after_seq: int, echo: Echo, summary: LoopSummary) -> None:
        self.store = store
        self.after_seq = after_seq
        self.echo = echo
        self.summary = summary
        self.started = time.monotonic()

    def wait(self, done: Callable[[], str | None], timeout_s: float) -> str | None:
        """Print events until `done()` gives an outcome, or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.show_new()
            finished = done()
            if finished is not None:
                self.show_new()
                return finished
            time.sleep(0.25)
        self.echo(f"    (nothing more after {timeout_s:.0f} s; see steward retrain history churn)")
        return None

    def show_new(self) -> None:
        for event in audit.list_events(self.store, after_seq=self.after_seq, limit=1000):
            self.after_seq = event.seq
            if event.action not in SHOWN:
                continue
            line = (
                f"    +{time.monotonic() - self.started:5.1f}s  {event.action:<24} "
                f"{_describe(event)}"
            )
            self.summary.timeline.append(line)
            self.summary.actions.append(event.action)
            self.echo(line)


def _describe(event: audit.AuditEvent) -> str:
    after: dict[str, Any] = event.after if isinstance(event.after, dict) else {}
    if event.action == "retrain.challenger":
        comparison = after.get("comparison") or {}
        ours = comparison.get("challenger", {}).get("roc_auc")
        theirs = comparison.get("champion", {}).get("roc_auc")
        verdict = "policy passed" if after.get("accepted") else "policy refused"
        if after.get("awaiting_approval"):
            verdict = "awaiting approvals"
        scores = "" if ours is None else f" ROC AUC {ours:.3f} vs champion {theirs or 0:.3f};"
        rollout = after.get("rollout_id")
        return f"v{after.get('version')} on {comparison.get('rows')} fresh rows:{scores} " + (
            f"{verdict}; rollout {rollout} started" if rollout else verdict
        )
    if event.action.startswith("retrain."):
        return str(after.get("reason") or after.get("error") or event.target_id)
    if event.action == "model.promote":
        model = event.target_id.split("/")[0]
        return f"{model} v{after.get('version', '?')} is the production champion"
    if event.action.startswith("rollout."):
        evaluation = after.get("evaluation") or {}
        numbers = ""
        if evaluation:
            numbers = (
                f" ({evaluation.get('samples')} answers, error rate "
                f"{evaluation.get('error_rate', 0):.3f})"
            )
        breaches = "; ".join(evaluation.get("breaches") or [])
        stage = after.get("stage")
        if stage is None and after.get("stages"):
            stage = after["stages"][0]
        where = f"at {stage}%" if stage is not None else ""
        return f"rollout {event.target_id} {where}{numbers}" + (f": {breaches}" if breaches else "")
    return event.target_id


def _loop_finished(store: Store, after_seq: int, summary: LoopSummary) -> str | None:
    """How the loop's turn ended: its rollout's final status, or the retraining event that
    ended it early (`retrain.suppressed`, `retrain.failed`, a refused challenger)."""
    events = audit.list_events(
        store, target_type="retraining", target_id="churn", after_seq=after_seq, limit=1000
    )
    for event in events:
        after = event.after if isinstance(event.after, dict) else {}
        if event.action in ("retrain.suppressed", "retrain.failed", "retrain.skipped_seasonal"):
            return event.action
        if event.action == "retrain.challenger":
            summary.retrained_version = after.get("version")
            rollout_id = after.get("rollout_id")
            if rollout_id is None:
                return "refused"
            return _finished(store, int(rollout_id))
    return None


def _finished(store: Store, rollout_id: int) -> str | None:
    rollout = get_rollout(store, rollout_id)
    return None if rollout.status == "running" else rollout.status


def _rollback_alerts(store: Store, rollout_id: int, echo: Echo) -> int:
    """Tell the alert the rollback raised (fired just after the rollback is recorded); how
    many there are."""
    deadline = time.monotonic() + 10
    while True:
        raised = [
            alert
            for alert in list_alerts(store, monitor="churn-prod")
            if alert.metric == ROLLBACK_METRIC and alert.key == f"rollout={rollout_id}"
        ]
        if raised or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for alert in raised:
        echo(
            f"16. A {alert.severity} alert fired (rule {alert.rule}, {alert.key}); "
            "see steward alerts list."
        )
    return len(raised)


def _start_bad_rollout(
    store: Store, settings: Settings, summary: LoopSummary, echo: Echo
) -> Rollout | None:
    champion = registry.resolve(store, "models:/churn@champion")
    inner = registry.load_version(store, "churn", champion.version).native
    bad = registry.register_model(
        store,
        "churn",
        FlakyChurnModel(inner),
        sample_input=drifted(make_churn_frame(5, seed=5))[FEATURES],
        contract=champion.contract,
        profile=champion.profile,
        description="fails on about 5% of rows (demo)",
        actor=settings.actor,
    )
    summary.bad_version = bad.version
    running = list_rollouts(store, endpoint="churn-prod", status="running")
    if running:
        echo(f"15. Rollout {running[0].id} still runs; not starting the bad challenger.")
        return None
    rollout = start_rollout(
        store,
        "churn-prod",
        bad.version,
        stages=(10, 50, 100),
        min_samples=100,
        min_duration_s=2.0,
        gates={"max_error_rate": 0.02},
        actor=settings.actor,
    )
    echo(
        f"15. Registered churn v{bad.version}, which fails on ~5% of rows, and started "
        f"rollout {rollout.id} of it by hand (steward rollouts start churn-prod "
        f"{bad.version}). The fallback (@champion) answers whatever it fails:"
    )
    return rollout


@contextmanager
def _traffic(settings: Settings, url: str, summary: LoopSummary) -> Iterator[None]:
    """Today's traffic, in a thread, with labels posted as they would arrive."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_send, args=(settings, url, summary, stop), name="demo-traffic", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _send(settings: Settings, url: str, summary: LoopSummary, stop: threading.Event) -> None:
    client = Client(settings)
    seed = 1000
    try:
        with httpx.Client(base_url=url, timeout=30.0) as http:
            while not stop.is_set():
                seed += 1
                frame = drifted(make_churn_frame(ROWS_PER_REQUEST, seed=seed))
                rows = frame[FEATURES].to_dict(orient="records")
                summary.requests += 1
                try:
                    answer = http.post("/predict", json={"instances": rows})
                except httpx.HTTPError:
                    summary.failed_requests += 1
                    continue
                if answer.status_code == 422:
                    summary.refused_requests += 1
                elif answer.status_code != 200:
                    summary.failed_requests += 1
                else:
                    ids = answer.json()["prediction_ids"]
                    labels = frame["churned"].tolist()
                    client.log_labels(
                        "churn-prod",
                        [
                            {"prediction_id": i, "label": y}
                            for i, y in zip(ids, labels, strict=True)
                        ],
                    )
                stop.wait(0.02)
    finally:
        client.close()


def _stay_up(control_url: str, serving_url: str, echo: Echo) -> None:
    echo(
        f"Left running for inspection: control plane {control_url}/docs, endpoint churn-prod "
        f"at {serving_url}/predict. Ctrl-C stops both."
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        echo("Stopped.")


def _last_seq(store: Store) -> int:
    newest = audit.head(store)
    return 0 if newest is None else newest.seq
