"""Monitor results and firing alerts as Prometheus gauges, read from the store at scrape
time (so every control-plane replica exports the same values)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from steward.monitoring.alerts import list_alerts
from steward.monitoring.timeseries import latest_values
from steward.store import Store

__all__ = ["MonitorCollector"]

log = logging.getLogger(__name__)


class MonitorCollector(Collector):
    """`steward_monitor_value{monitor,endpoint,metric,feature,segment}`: each monitor's
    newest window; `steward_alerts_firing{rule,monitor,severity}`: alerts firing now."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        values = GaugeMetricFamily(
            "steward_monitor_value",
            "Latest value of each monitor metric (newest computed window)",
            labels=["monitor", "endpoint", "metric", "feature", "segment"],
        )
        firing = GaugeMetricFamily(
            "steward_alerts_firing",
            "Alerts firing now",
            labels=["rule", "monitor", "severity"],
        )
        try:
            for latest in latest_values(self._store):
                labels = [latest.monitor, latest.endpoint, latest.metric]
                values.add_metric([*labels, latest.feature, latest.segment], latest.value)
            counts: dict[tuple[str, str, str], int] = {}
            for alert in list_alerts(self._store, state="firing"):
                key = (alert.rule, alert.monitor, alert.severity)
                counts[key] = counts.get(key, 0) + 1
            for key, count in counts.items():
                firing.add_metric(list(key), count)
        except Exception:  # a scrape must answer even when the store does not
            log.exception("monitor metrics could not be read for /metrics")
        yield values
        yield firing
