"""/health, /health/live and /health/ready: what a load balancer or Kubernetes sees when
the store, the events bus, the MQTT gateway or a background service fails or hangs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.testclient import TestClient

from cityos.api import health
from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.api.iot import enable_mqtt
from cityos.events.nats_bus import NatsBus
from cityos.store.base import Store
from tests.events.conftest import nats_url as nats_url
from tests.services import private_mosquitto

HEALTH_JSON = "application/health+json"
CHECKS = {"store:responseTime", "events:connected", "notifier:running", "rules:running"}


def checks(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/health")
    assert response.headers["content-type"] == HEALTH_JSON
    body: dict[str, Any] = response.json()
    return response.status_code, body


def until(ready: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_everything_passes(client: TestClient) -> None:
    live = client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "pass"})
    assert live.headers["content-type"] == HEALTH_JSON
    ready = client.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "pass"})
    status, body = checks(client)
    assert status == 200 and body["status"] == "pass"
    assert set(body["checks"]) == CHECKS  # no MQTT gateway: no MQTT check
    for entries in body["checks"].values():
        assert [entry["status"] for entry in entries] == ["pass"]
    [store] = body["checks"]["store:responseTime"]
    assert store["componentType"] == "datastore"
    assert store["observedUnit"] == "ms" and store["observedValue"] >= 0
    assert body["checks"]["events:connected"][0]["componentId"] == "local"


def test_probes_ignore_query_parameters(client: TestClient) -> None:
    assert client.get("/health/ready", params={"verbose": "1"}).status_code == 200
    assert client.get("/health/live/", params={"x": "y"}).status_code == 200


def test_a_failing_store_fails_readiness_not_liveness(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(tenant: str) -> bool:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(store, "has_tenant", broken)
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "fail"
    assert "store:responseTime" in ready.json()["output"]
    status, body = checks(client)
    assert status == 503 and body["status"] == "fail"
    [entry] = body["checks"]["store:responseTime"]
    assert entry["status"] == "fail"
    assert entry["output"] == "ConnectionError: the database went away"
    assert body["checks"]["notifier:running"][0]["status"] == "pass"


def test_a_hung_store_times_out_and_is_probed_once_while_it_hangs(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    calls: list[str] = []

    def hanging(tenant: str) -> bool:
        calls.append(tenant)
        release.wait(30)
        return False

    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.2)
    monkeypatch.setattr(store, "has_tenant", hanging)
    try:
        for _ in range(3):
            status, body = checks(client)
            assert status == 503
            [entry] = body["checks"]["store:responseTime"]
            assert entry["status"] == "fail"
            assert entry["output"] == "no answer within 0.2 s"
        assert len(calls) == 1  # later probes wait on the hung one instead of piling up
    finally:
        release.set()
    until(lambda: checks(client)[0] == 200)
    before = len(calls)
    assert checks(client)[0] == 200
    assert len(calls) == before + 1  # once it answered, each probe asks again


def test_background_services_not_running_fail(store: Store) -> None:
    client = TestClient(create_app(store))  # no lifespan: nothing started
    status, body = checks(client)
    assert status == 503
    assert body["checks"]["notifier:running"][0]["status"] == "fail"
    assert body["checks"]["rules:running"][0]["status"] == "fail"
    assert body["checks"]["store:responseTime"][0]["status"] == "pass"


def test_the_nats_bus_passes_then_fails_without_its_stream(store: Store, nats_url: str) -> None:
    with TestClient(create_app(store, Settings(events=nats_url))) as client:
        status, body = checks(client)
        assert status == 200, body
        [events] = body["checks"]["events:connected"]
        assert events["status"] == "pass" and events["observedUnit"] == "ms"
        assert events["componentId"].startswith("nats://127.0.0.1:4222 stream T_")
        base, _, query = nats_url.partition("?")
        stream = parse_qs(query)["stream"][0]
        asyncio.run(NatsBus(base, stream=stream).delete())  # the stream is gone
        status, body = checks(client)
        assert status == 503
        [events] = body["checks"]["events:connected"]
        assert events["status"] == "fail"
        assert events["output"].startswith(f"stream {stream}: ")


def test_the_nats_bus_names_no_credentials() -> None:
    bus = NatsBus("nats://cityos:s3cret@127.0.0.1:4222", stream="S")
    check = asyncio.run(bus.health())  # not running: fails, and says where without secrets
    assert check.status == "fail"
    assert check.component_id == "nats://127.0.0.1:4222 stream S"


@pytest.fixture
def mqtt_client(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    with private_mosquitto(tmp_path) as mosquitto:
        app = create_app(store)
        enable_mqtt(app, f"mqtt://127.0.0.1:{mosquitto.port}")
        with TestClient(app) as client:
            yield client, mosquitto


def test_a_lost_mqtt_broker_warns_but_stays_ready(mqtt_client: tuple[TestClient, Any]) -> None:
    client, mosquitto = mqtt_client

    def mqtt_status() -> str:
        status: str = checks(client)[1]["checks"]["mqtt:connected"][0]["status"]
        return status

    until(lambda: mqtt_status() == "pass")
    [entry] = checks(client)[1]["checks"]["mqtt:connected"]
    assert entry["componentId"] == f"mqtt://127.0.0.1:{mosquitto.port}"
    mosquitto.stop()
    until(lambda: mqtt_status() == "warn")
    status, body = checks(client)
    assert status == 200 and body["status"] == "warn"
    assert "not connected" in body["checks"]["mqtt:connected"][0]["output"]
    assert client.get("/health/ready").status_code == 200
