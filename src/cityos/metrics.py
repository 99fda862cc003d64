"""The metrics of one cityos app, in Prometheus' terms (`api/metrics.py` serves them).

Every app has a `Metrics` of its own, on a registry of its own (not prometheus_client's
global one), so that several apps in one process (tests, benchmarks) count apart. The
components take it at construction and count where things happen: the notifier its
deliveries, the rule engine its firings, the governance service its cases, the MQTT
gateway its measures, the broker its commits, the NATS bus what it relays. A component
built without one gets a private `Metrics` that nobody reads.

Counting costs a lock and an addition; depths (queues, the outbox) cost nothing until
scraped: a component hands the gauge a function (`Gauge.set_function`) that is called at
scrape time only. Labels take bounded values only: route templates (never raw paths),
channels, configured rule ids and case categories.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

# `_created` series double the exposition and say little: a restart shows in the counters.
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: most requests answer in a few milliseconds; a slow query takes seconds."""
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds the event loop woke a sleeping task late: a healthy loop stays under 5 ms."""

HTTP_CHANNEL = "http"
MQTT_CHANNEL = "mqtt"
SSE_CHANNEL = "sse"


class Metrics:
    """The metric objects of one app, registered on its own registry."""

    def __init__(self, *, process: bool = False) -> None:
        """With `process`, the process's CPU, memory and open files too (an app's)."""
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        if process:
            ProcessCollector(registry=registry)
        self.http_requests = Counter(
            "cityos_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "cityos_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template "
            "(a live stream counts until it closes).",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.notifications_sent = Counter(
            "cityos_notifications_sent",
            "Notifications delivered to their endpoints, by channel (http, mqtt, sse).",
            ["channel"],
            registry=registry,
        )
        self.notifications_failed = Counter(
            "cityos_notifications_failed",
            "Delivery attempts that failed (each retry counts), by channel.",
            ["channel"],
            registry=registry,
        )
        self.notifier_queue = Gauge(
            "cityos_notifier_queue_depth",
            "Notifications waiting in memory for their subscription's worker.",
            registry=registry,
        )
        self.notifier_outbox = Gauge(
            "cityos_notifier_outbox_depth",
            "Deliveries parked in the store's outbox (failed, retried with backoff, or "
            "spilled by a slow endpoint); shared by every instance on one store.",
            registry=registry,
        )
        self.rule_firings = Counter(
            "cityos_rule_firings",
            "Rule episodes that fired, by tenant and rule id.",
            ["tenant", "rule"],
            registry=registry,
        )
        self.rule_queue = Gauge(
            "cityos_rule_queue_depth",
            "Rule decisions waiting to be saved and acted on.",
            registry=registry,
        )
        self.cases_opened = Counter(
            "cityos_cases_opened",
            "Governance cases opened, by category and source (citizen, inspector, sensor, rule).",
            ["category", "source"],
            registry=registry,
        )
        self.cases_closed = Counter(
            "cityos_cases_closed",
            "Governance cases closed, by category.",
            ["category"],
            registry=registry,
        )
        self.mqtt_messages = Counter(
            "cityos_mqtt_messages_received",
            "MQTT messages the device gateway received.",
            registry=registry,
        )
        self.mqtt_applied = Counter(
            "cityos_mqtt_measures_applied",
            "Device measures from MQTT written to their entities.",
            registry=registry,
        )
        self.mqtt_rejected = Counter(
            "cityos_mqtt_measures_rejected",
            "Device measures from MQTT refused, by reason.",
            ["reason"],
            registry=registry,
        )
        self.mqtt_connected = Gauge(
            "cityos_mqtt_connected",
            "1 while the device gateway is connected to its MQTT broker.",
            registry=registry,
        )
        self.store_commit = Histogram(
            "cityos_store_commit_seconds",
            "Time the store takes to commit one write (entities, history, change log).",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Histogram(
            "cityos_event_loop_lag_seconds",
            "How much later than asked the event loop woke a task sleeping a tenth of a "
            "second: time that work on the loop held every request up.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.events_published = Counter(
            "cityos_events_published",
            "Changes the NATS relay published to the shared stream.",
            registry=registry,
        )

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry in the format `accept` asks for (Prometheus text by default, or
        OpenMetrics), with its media type. Calls the scrape-time gauges: may block."""
        encode, media_type = choose_encoder(accept or "")
        return encode(self.registry), media_type


def guarded(read: Callable[[], float]) -> Callable[[], float]:
    """A scrape-time reading that answers NaN rather than failing the whole scrape (the
    store may be down: that is for /health to say)."""

    def reading() -> float:
        try:
            return float(read())
        except Exception:
            return math.nan

    return reading
