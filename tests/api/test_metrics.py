"""/metrics: the counters move by what happened (requests, notifications, rule firings,
cases, MQTT measures, relayed changes), and the output parses as Prometheus text."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.api.iot import enable_mqtt
from cityos.events.notifier import RetryPolicy
from cityos.metrics import Metrics
from cityos.store.base import Store
from tests.api.test_governance import INSPECTOR, OPERATOR, act, crew, report
from tests.events.conftest import nats_url as nats_url
from tests.events.receiver import LOOPBACK, Receiver
from tests.ingest.test_gateway import provision, publish
from tests.services import free_port, private_mosquitto
from tests.stores import StoreFactory

ROOT = Path(__file__).resolve().parents[2]
ENTITIES = "/ngsi-ld/v1/entities"
ENTITY_ROUTE = "/ngsi-ld/v1/entities/{entity_id}"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def eventually(client: TestClient, name: str, expected: float, **labels: str) -> Samples:
    """The scrape in which `name{labels}` reached `expected` (background work counts a
    little after the request that caused it)."""
    deadline = time.monotonic() + 15
    while True:
        samples = scrape(client)
        if value(samples, name, **labels) == expected or time.monotonic() > deadline:
            assert value(samples, name, **labels) == expected, (name, labels)
            return samples
        time.sleep(0.05)


def sensor(entity_id: str, level: float) -> dict[str, Any]:
    return {
        "id": entity_id,
        "type": "FloodSensor",
        "waterLevel": {"type": "Property", "value": level},
    }


def test_requests_are_counted_by_route_template(client: TestClient) -> None:
    before = scrape(client)
    for n in range(3):
        assert client.get(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:{n}").status_code == 404
    assert client.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:9", 1)).status_code == 201
    assert client.get("/no/such/thing").status_code == 404
    assert client.get(ENTITIES, params={"nonsense": "1"}).status_code == 400
    client.request("BREW", "/version")
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "cityos_http_requests_total"
    assert moved(requests, method="GET", route=ENTITY_ROUTE, status="404") == 3
    assert moved(requests, method="POST", route=ENTITIES, status="201") == 1
    assert moved(requests, method="GET", route="(unmatched)", status="404") == 1
    assert moved(requests, method="GET", route=ENTITIES, status="400") == 1  # before routing
    assert moved(requests, method="OTHER", route="/version", status="405") == 1
    latency = "cityos_http_request_duration_seconds_count"
    assert moved(latency, method="GET", route=ENTITY_ROUTE) == 3
    assert moved("cityos_store_commit_seconds_count") == 1
    routes = {dict(labels).get("route", "") for _, labels in after}
    assert not any("urn:" in route for route in routes)  # templates, never raw paths


def test_openmetrics_when_the_scraper_asks(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    names = {family.name for family in openmetrics_families(response.text)}
    assert "cityos_http_requests" in names


@pytest.fixture
def slow_retry_client(store: Store) -> Iterator[TestClient]:
    """Failed deliveries wait a minute before their retry: each fails exactly once here."""
    settings = Settings(notify_policy=LOOPBACK, notify_retry=RetryPolicy(first_s=60, tick_s=0.02))
    with TestClient(create_app(store, settings)) as client:
        yield client


def test_notifications_by_channel_and_the_outbox(
    slow_retry_client: TestClient, receiver: Receiver
) -> None:
    client = slow_retry_client
    for uri in (receiver.url, f"http://127.0.0.1:{free_port()}/nobody", "urn:cityos:stream"):
        body = {
            "type": "Subscription",
            "entities": [{"type": "FloodSensor"}],
            "notification": {"endpoint": {"uri": uri}},
        }
        assert client.post("/ngsi-ld/v1/subscriptions", json=body).status_code == 201
    client.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:1", 2))
    receiver.wait_for(1)
    eventually(client, "cityos_notifications_sent_total", 1, channel="http")
    eventually(client, "cityos_notifications_sent_total", 1, channel="sse")
    eventually(client, "cityos_notifications_failed_total", 1, channel="http")
    samples = eventually(client, "cityos_notifier_outbox_depth", 1)
    assert value(samples, "cityos_notifications_failed_total", channel="sse") == 0
    assert value(samples, "cityos_notifier_queue_depth") == 0


def test_rule_firings_and_cases(client: TestClient) -> None:
    rule = {
        "id": "flooding",
        "type": "FloodSensor",
        "when": {"q": "waterLevel>5"},
        "then": [{"set": {"attribute": "alarm", "value": "flood"}}],
    }
    assert client.post("/rules", json=rule).status_code == 201
    client.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:1", 6))
    client.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:2", 1))  # does not hold
    samples = eventually(client, "cityos_rule_firings_total", 1, tenant="", rule="flooding")
    assert value(samples, "cityos_rule_queue_depth") == 0

    case = report(client)
    samples = eventually(
        client, "cityos_cases_opened_total", 1, category="pothole", source="citizen"
    )
    assert value(samples, "cityos_cases_closed_total", category="pothole") == 0
    department = case["department"]
    steps = [
        ("accept", OPERATOR),
        ("dispatch", OPERATOR),
        ("start", crew(department)),
        ("resolve", crew(department)),
        ("verify", INSPECTOR),
        ("close", OPERATOR),
    ]
    for action, headers in steps:
        assert act(client, case["id"], action, headers).status_code == 200
    samples = scrape(client)
    assert value(samples, "cityos_cases_closed_total", category="pothole") == 1
    assert value(samples, "cityos_cases_opened_total", category="pothole", source="citizen") == 1


def test_mqtt_measures_applied_and_rejected(store: Store, tmp_path: Path) -> None:
    provision(store, "aq-01")
    with private_mosquitto(tmp_path) as mosquitto:
        url = f"mqtt://127.0.0.1:{mosquitto.port}"
        app = create_app(store)
        enable_mqtt(app, url)
        with TestClient(app) as client:
            eventually(client, "cityos_mqtt_connected", 1)
            messages = [
                ("cityos/k3y/aq-01/attrs", {"t": 21.5}),
                ("cityos/k3y/ghost/attrs", {"t": 1}),  # not provisioned
                ("cityos/k3y/aq-01/attrs", b"{not json"),
            ]
            asyncio.run(publish(url, messages))
            samples = eventually(client, "cityos_mqtt_messages_received_total", 3)
            samples = eventually(client, "cityos_mqtt_measures_applied_total", 1)
            rejected = "cityos_mqtt_measures_rejected_total"
            assert value(samples, rejected, reason="malformed") == 1
            assert value(samples, rejected, reason="unknown_device") == 1


def test_changes_relayed_to_nats_are_counted(store: Store, nats_url: str) -> None:
    with TestClient(create_app(store, Settings(events=nats_url))) as client:
        for n in range(2):
            client.post(ENTITIES, json=sensor(f"urn:ngsi-ld:FloodSensor:{n}", n))
        eventually(client, "cityos_events_published_total", 2)


def test_apps_count_apart(store_factory: StoreFactory) -> None:
    with (
        TestClient(create_app(store_factory("one"))) as one,
        TestClient(create_app(store_factory("two"))) as two,
    ):
        one.get("/version")
        one.get("/version")
        two.get("/version")
        labels = {"method": "GET", "route": "/version", "status": "200"}
        assert value(scrape(one), "cityos_http_requests_total", **labels) == 2
        assert value(scrape(two), "cityos_http_requests_total", **labels) == 1


def test_every_metric_is_documented() -> None:
    documented = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    names = [family.name for family in Metrics().registry.collect()]
    assert names
    for name in names:
        shown = f"{name}_total" if f"`{name}_total`" in documented else name
        assert f"`{shown}`" in documented, name
