"""Prometheus metrics of a serving replica.

Labelled children are cached in plain dicts, so recording a request costs a dict probe
and an increment, not `labels()` lookups under a lock on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "FALLBACKS",
    "IN_FLIGHT",
    "LATENCY",
    "LOG_FAILURES",
    "MODEL_LATENCY",
    "READY",
    "REFRESH_FAILURES",
    "REQUESTS",
    "SHADOW",
    "STORE_REACHABLE",
    "SWAPS",
    "TRAFFIC_WEIGHT",
    "VIOLATIONS",
    "child",
    "render_metrics",
    "show_weights",
]

_BUCKETS = (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

REQUESTS = Counter(
    "steward_serving_requests_total",
    "Requests answered, by path template, answering version, route and HTTP status",
    ["path", "version", "route", "status"],
)
LATENCY = Histogram(
    "steward_serving_request_duration_seconds",
    "Time from the request's arrival to its last response byte",
    ["path"],
    buckets=_BUCKETS,
)
MODEL_LATENCY = Histogram(
    "steward_serving_model_duration_seconds",
    "Time spent inside the model per request",
    ["version"],
    buckets=_BUCKETS,
)
IN_FLIGHT = Gauge("steward_serving_requests_in_flight", "Requests being answered")
FALLBACKS = Counter(
    "steward_serving_fallbacks_total",
    "Requests answered by a fallback: the failed version, who answered, and why",
    ["failed", "answered_by", "reason"],
)
VIOLATIONS = Counter(
    "steward_serving_contract_violations_total",
    "Contract violations in requests, by version, column and kind",
    ["version", "column", "kind"],
)
SHADOW = Counter(
    "steward_serving_shadow_predictions_total",
    "Mirrored requests by shadow version and outcome (ok, error, dropped)",
    ["version", "outcome"],
)
LOG_FAILURES = Counter(
    "steward_serving_prediction_log_failures_total",
    "Answers that could not be appended to the prediction log, by route",
    ["route"],
)
SWAPS = Counter("steward_serving_swaps_total", "Routing tables installed, by origin", ["origin"])
REFRESH_FAILURES = Counter(
    "steward_serving_refresh_failures_total",
    "Registry polls that failed, by reason (store_unreachable, load_failed, other)",
    ["reason"],
)
STORE_REACHABLE = Gauge(
    "steward_serving_store_reachable", "1 when the last registry poll reached the store"
)
READY = Gauge("steward_serving_ready", "1 once a routing table is loaded")
TRAFFIC_WEIGHT = Gauge(
    "steward_serving_traffic_weight",
    "Share of traffic (percent) per version in the routing table being served",
    ["version", "role"],
)

_children: dict[tuple[int, tuple[str, ...]], Any] = {}  # Any: a prometheus child metric


def child(metric: Any, *labels: str) -> Any:  # Any: prometheus_client is untyped
    """`metric.labels(*labels)`, cached; the cache is bounded by the label values used."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def show_weights(
    current: Mapping[tuple[str, str], float], previous: Iterable[tuple[str, str]]
) -> None:
    """Publish each (version, role) weight of the new table; drop the label sets that left."""
    for labels in previous:
        if labels not in current:
            with suppress(KeyError):  # never published
                TRAFFIC_WEIGHT.remove(*labels)
    for labels, weight in current.items():
        TRAFFIC_WEIGHT.labels(*labels).set(weight)


def render_metrics() -> tuple[bytes, str]:
    """The process's metrics in Prometheus text format, with its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
