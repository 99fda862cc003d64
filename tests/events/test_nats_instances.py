"""Two real `cityos serve` processes on one store and one NATS JetStream act as one city
(writes, subscriptions, live streams, rules) and lose nothing when one of them is killed
with `kill -9` under load. The store is, for each backend, a data directory both open, or
a PostgreSQL schema both connect to (each instance then with a data directory of its own,
so that nothing else is shared)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.publish

from tests.events.receiver import NOTIFY_LOOPBACK, Receiver, receiving
from tests.serve import free_port, start_server
from tests.services import private_mosquitto
from tests.stores import StoreFactory

SUBS = "/ngsi-ld/v1/subscriptions"
ENTITIES = "/ngsi-ld/v1/entities"
STREAM = "urn:cityos:stream"


@contextmanager
def instances(
    stores: StoreFactory, tmp: Path, events: str, *extra: str, count: int = 2
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` servers on one store of the backend under test, sharing the bus `events`."""
    started: list[subprocess.Popen[bytes]] = []
    shared = ["--store", stores.url()] if stores.backend == "postgresql" else []
    try:
        for number in range(count):
            data = tmp / (f"local{number}" if shared else "data")
            started.append(
                start_server(
                    data, free_port(), "--events", events, *NOTIFY_LOOPBACK, *shared, *extra
                )
            )
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def port_of(process: subprocess.Popen[bytes]) -> int:
    args = list(process.args)  # type: ignore[arg-type]
    return int(str(args[args.index("--port") + 1]))


def client(process: subprocess.Popen[bytes]) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port_of(process)}", timeout=10)


def sensor(entity_id: str, level: float) -> dict[str, Any]:
    return {
        "id": entity_id,
        "type": "FloodSensor",
        "waterLevel": {"type": "Property", "value": level},
    }


def subscribe(http: httpx.Client, uri: str, **extra: Any) -> str:
    body = {
        "type": "Subscription",
        "entities": [{"type": "FloodSensor"}],
        "notification": {"endpoint": {"uri": uri}},
        **extra,
    }
    created = http.post(SUBS, json=body)
    assert created.status_code == 201, created.text
    location: str = created.headers["Location"]
    return location


def set_level(http: httpx.Client, entity_id: str, level: float) -> None:
    patch = {"waterLevel": {"type": "Property", "value": level}}
    response = http.patch(f"{ENTITIES}/{entity_id}/attrs", json=patch)
    assert response.status_code == 204, response.text


def notified_ids(receiver: Receiver) -> list[str]:
    with receiver.lock:
        return [item["id"] for got in receiver.received for item in got.body["data"]]


def wait_until(check: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


class SseReader:
    """Reads a subscription's Server-Sent Events stream on a thread."""

    def __init__(self, http: httpx.Client, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(http, url), daemon=True)
        self._thread.start()

    def _read(self, http: httpx.Client, url: str) -> None:
        with http.stream("GET", url, timeout=30) as response:
            self.opened.set()
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "notification":
                    self.events.append(json.loads(line[6:]))
                    return


def test_two_instances_act_as_one(
    store_factory: StoreFactory, tmp_path: Path, nats_url: str
) -> None:
    with (
        instances(store_factory, tmp_path, nats_url) as (a, b),
        client(a) as via_a,
        client(b) as via_b,
        receiving() as receiver,
        receiving() as alerts,
    ):
        river = "urn:ngsi-ld:FloodSensor:river"
        # a write through one is read through the other
        assert via_a.post(ENTITIES, json=sensor(river, 1.0)).status_code == 201
        read = via_b.get(f"{ENTITIES}/{river}", params={"options": "keyValues"})
        assert read.status_code == 200 and read.json()["waterLevel"] == 1.0

        # a subscription made on A is notified exactly once for an update through B
        watching = subscribe(via_a, receiver.url)
        set_level(via_b, river, 2.0)
        [got] = receiver.wait_for(1)
        assert got.body["data"][0]["waterLevel"]["value"] == 2.0

        # B's live-stream listeners see a write through A
        stream = subscribe(via_a, STREAM, notification={"endpoint": {"uri": STREAM}})
        reader = SseReader(via_b, stream + "/stream")
        assert reader.opened.wait(10)
        time.sleep(0.3)  # the listener is registered once the first line has gone out
        set_level(via_a, river, 3.0)
        wait_until(lambda: len(reader.events) == 1)
        assert reader.events[0]["data"][0]["waterLevel"]["value"] == 3.0

        # a rule made on B fires once, for a write through A
        rule = {
            "id": "overheat",
            "type": "Machine",
            "when": {"q": "temperature>90"},
            "then": [{"notify": {"uri": alerts.url, "severity": "high"}}],
        }
        assert via_b.post("/rules", json=rule).status_code == 201
        machine = {
            "id": "urn:ngsi-ld:Machine:m1",
            "type": "Machine",
            "temperature": {"type": "Property", "value": 95},
        }
        assert via_a.post(ENTITIES, json=machine).status_code == 201
        alerts.wait_for(1, seconds=20)

        assert len(receiver.quiet_for(1.5)) == 2  # levels 2.0 and 3.0, each once
        assert len(alerts.quiet_for(0.5)) == 1

        # deleted through B, the subscription made on A notifies no more
        assert via_b.delete(watching).status_code == 204
        set_level(via_a, river, 4.0)
        set_level(via_b, river, 5.0)
        wait_until(lambda: via_a.get(f"{ENTITIES}/{river}").json()["waterLevel"]["value"] == 5.0)
        assert len(receiver.quiet_for(1.5)) == 2


def test_kill_9_under_load_loses_nothing(
    store_factory: StoreFactory, tmp_path: Path, nats_url: str
) -> None:
    with (
        instances(store_factory, tmp_path, nats_url) as (a, b),
        client(a) as via_a,
        client(b) as via_b,
        receiving() as receiver,
    ):
        subscribe(via_a, receiver.url)
        acknowledged: list[str] = []
        lock = threading.Lock()
        per_writer = 150

        def write(name: str, http: httpx.Client) -> None:
            """Bounded load: `per_writer` creations, one after the other."""
            for number in range(per_writer):
                entity_id = f"urn:ngsi-ld:FloodSensor:{name}{number}"
                try:
                    response = http.post(ENTITIES, json=sensor(entity_id, float(number)))
                except httpx.TransportError:
                    return  # the instance is gone: what it did not answer is not owed
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(entity_id)

        writers = [
            threading.Thread(target=write, args=(name, http), daemon=True)
            for name, http in (("a", via_a), ("b", via_b))
        ]
        for writer in writers:
            writer.start()
        wait_until(lambda: sum(1 for e in acknowledged if ":a" in e) >= 50)
        os.kill(a.pid, signal.SIGKILL)  # mid-stream: requests and notifications in flight
        for writer in writers:
            writer.join(60)
            assert not writer.is_alive()
        a.wait(10)
        assert 50 + per_writer <= len(acknowledged) < 2 * per_writer

        # every acknowledged write is there
        for entity_id in acknowledged:
            assert via_b.get(f"{ENTITIES}/{entity_id}").status_code == 200, entity_id

        # and notified: at least once, and more than once only for the change that was in
        # flight on A when it died (delivered, not yet acked: B delivers it again)
        wait_until(lambda: set(acknowledged) <= set(notified_ids(receiver)), seconds=60)
        ids = notified_ids(receiver)
        assert len(ids) - len(set(ids)) <= 1, sorted(i for i in set(ids) if ids.count(i) > 1)
        for entity_id in set(ids):  # a change committed but unanswered is notified too
            assert via_b.get(f"{ENTITIES}/{entity_id}").status_code == 200


def mqtt_state(http: httpx.Client) -> dict[str, Any]:
    state: dict[str, Any] = http.get("/iot/stats").json()["mqtt"]
    return state


def publish_measures(port: int, values: range) -> None:
    """Publish one measure per value (QoS 1) as device aq-01 with api key k3y."""
    messages = [
        {"topic": "cityos/k3y/aq-01/attrs", "payload": json.dumps({"t": v}), "qos": 1}
        for v in values
    ]
    paho.mqtt.publish.multiple(messages, hostname="127.0.0.1", port=port)


def test_device_measures_are_applied_once_by_the_leader(
    store_factory: StoreFactory, tmp_path: Path, nats_url: str
) -> None:
    """With `--mqtt` on every instance, only the leader reads the measures (so each is
    applied once, in order); when it is killed, the next leader takes over its MQTT
    session and gets the measures the broker queued meanwhile."""
    entity = "urn:ngsi-ld:AirQualityObserved:aq-01"
    device = {
        "device_id": "aq-01",
        "apikey": "k3y",
        "entity_name": entity,
        "entity_type": "AirQualityObserved",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}],
    }

    def temperatures(http: httpx.Client) -> list[float]:
        response = http.get(
            f"/ngsi-ld/v1/temporal/entities/{entity}",
            params={"attrs": "temperature", "options": "temporalValues", "lastN": 1000},
        )
        assert response.status_code == 200, response.text
        return [pair[0] for pair in response.json().get("temperature", {}).get("values", [])]

    def latest(http: httpx.Client) -> Any:
        got = http.get(f"{ENTITIES}/{entity}", params={"options": "keyValues"})
        return got.json().get("temperature") if got.status_code == 200 else None

    with private_mosquitto(tmp_path) as mqtt:
        url = f"mqtt://127.0.0.1:{mqtt.port}"
        with (
            instances(store_factory, tmp_path, nats_url, "--mqtt", url) as (a, b),
            client(a) as via_a,
            client(b) as via_b,
        ):
            assert via_a.post("/iot/devices", json={"devices": [device]}).status_code == 201
            both = (via_a, via_b)
            wait_until(lambda: sum(mqtt_state(http)["connected"] for http in both) == 1)
            leader, other = (a, via_b) if mqtt_state(via_a)["connected"] else (b, via_a)
            assert mqtt_state(other)["standby"]

            publish_measures(mqtt.port, range(20))
            wait_until(lambda: latest(other) == 19)
            assert temperatures(other) == [float(v) for v in range(20)]  # once each, in order

            os.kill(leader.pid, signal.SIGKILL)
            leader.wait(10)
            publish_measures(mqtt.port, range(100, 120))  # while nobody reads: queued
            wait_until(lambda: latest(other) == 119, seconds=60)
            assert mqtt_state(other)["connected"]
            assert temperatures(other) == [float(v) for v in [*range(20), *range(100, 120)]]
