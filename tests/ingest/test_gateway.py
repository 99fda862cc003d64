"""The MQTT gateway against a real Mosquitto: measures in, entities changed, bad input counted.

Tests publishing through the system broker (127.0.0.1:1883) each use a topic prefix of their
own, so they cannot see each other's messages. The reconnection test runs a private
Mosquitto, kills it and starts it again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest

from cityos.context.broker import Broker
from cityos.context.jsonld import DEFAULT_VOCAB, ContextResolver
from cityos.ingest.devices import parse_device
from cityos.ingest.gateway import MqttGateway, MqttUrl
from cityos.store.base import Store
from tests.services import MOSQUITTO, PrivateMosquitto, service_fixture

mosquitto = service_fixture("Mosquitto", *MOSQUITTO)
RESOLVER = ContextResolver()
TEMPERATURE = DEFAULT_VOCAB + "temperature"
NOW = "2026-01-01T00:00:00.000000Z"


def provision(store: Store, device_id: str, apikey: str = "k3y", tenant: str = "") -> str:
    body = {
        "device_id": device_id,
        "apikey": apikey,
        "entity_type": "AirQualityObserved",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}],
    }
    device = parse_device(body, tenant, RESOLVER.resolve, NOW)
    store.devices.add_device(device)
    return device.entity_id


def temperature(store: Store, entity_id: str, tenant: str = "") -> Any:
    entity = store.get(tenant, entity_id)
    return None if entity is None else entity.attrs[TEMPERATURE][0]["value"]


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the condition")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running(gateway: MqttGateway) -> AsyncIterator[MqttGateway]:
    task = asyncio.create_task(gateway.run())
    try:
        await asyncio.wait_for(gateway.subscribed.wait(), 10)
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def gateway_for(store: Store, url: str, prefix: str, **options: Any) -> MqttGateway:
    return MqttGateway(
        Broker(store), store.devices, RESOLVER.resolve, url, prefix=prefix, **options
    )


async def publish(url: str, messages: list[tuple[str, Any]]) -> None:
    where = MqttUrl.parse(url)
    async with aiomqtt.Client(where.host, where.port) as client:
        for topic, payload in messages:
            data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
            await client.publish(topic, data, qos=1)


def test_measures_land_on_entities(store: Store, mosquitto: tuple[str, int]) -> None:
    url = f"mqtt://{mosquitto[0]}:{mosquitto[1]}"
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    first = provision(store, "aq-01")
    second = provision(store, "aq-02", apikey="other", tenant="cq")

    async def scenario() -> None:
        async with running(gateway_for(store, url, prefix)) as gateway:
            await publish(
                url,
                [
                    (f"{prefix}/k3y/aq-01/attrs", {"t": 21.5}),
                    (f"{prefix}/other/aq-02/attrs", [{"t": 1}, {"t": 2}]),
                ],
            )
            await until(lambda: gateway.stats.applied == 3)
        assert gateway.stats.rejected.total() == 0

    asyncio.run(scenario())
    assert temperature(store, first) == 21.5
    assert temperature(store, second, "cq") == 2


def test_bad_messages_among_good_ones_lose_nothing_valid(
    store: Store, mosquitto: tuple[str, int]
) -> None:
    url = f"mqtt://{mosquitto[0]}:{mosquitto[1]}"
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    entity = provision(store, "aq-01")
    topic = f"{prefix}/k3y/aq-01/attrs"
    messages: list[tuple[str, Any]] = [
        (topic, {"t": 1}),
        (topic, b"{not json"),
        (f"{prefix}/k3y/ghost/attrs", {"t": 99}),  # unknown device
        (f"{prefix}/wrong/aq-01/attrs", {"t": 99}),  # wrong API key
        (topic, {"t": None}),  # invalid measure
        (topic, [{"t": 2}, 5, {"t": "urn:ngsi-ld:null"}, {"t": 3}]),
        (topic, "a string"),
        (topic, {"t": 4}),
    ]

    async def scenario() -> None:
        async with running(gateway_for(store, url, prefix)) as gateway:
            await publish(url, messages)
            await until(lambda: gateway.stats.received == len(messages))
            await until(lambda: temperature(store, entity) == 4)
            stats = gateway.stats.snapshot()
        assert stats["applied"] == 4
        assert stats["rejected"] == {
            "unknown_device": 1,
            "bad_apikey": 1,
            "malformed": 3,  # not JSON, 5, "a string"
            "invalid": 2,  # null, and the deletion marker
            "failed": 0,
        }

    asyncio.run(scenario())


def test_batches_apply_in_order_with_one_commit_per_round(store: Store) -> None:
    """Without MQTT: a drained batch of many devices is one store commit; a device's
    repeated measures go to successive commits so each is kept."""
    entities = [provision(store, f"d{n}") for n in range(50)]
    gateway = gateway_for(store, "mqtt://127.0.0.1:1", "cityos")
    commits: list[int] = []
    gateway.broker.listeners.append(lambda tenant, changes: commits.append(len(changes)))
    batch = [(f"cityos/k3y/d{n}/attrs", orjson.dumps({"t": n})) for n in range(50)]
    batch.append(("cityos/k3y/d0/attrs", orjson.dumps({"t": 1000})))
    gateway.handle(batch)
    assert commits == [50, 1]
    assert temperature(store, entities[0]) == 1000
    assert temperature(store, entities[49]) == 49
    gateway.handle([("cityos/k3y/d0", b"{}"), ("elsewhere/k3y/d0/attrs", b"{}")])
    assert gateway.stats.rejected["malformed"] == 2


def test_reconnects_when_the_mqtt_broker_restarts(store: Store, tmp_path: Path) -> None:
    private = PrivateMosquitto(tmp_path)
    private.start()
    url = f"mqtt://127.0.0.1:{private.port}"
    entity = provision(store, "aq-01")
    topic = "cityos/k3y/aq-01/attrs"

    async def scenario() -> None:
        gateway = gateway_for(store, url, "cityos", backoff=(0.05, 0.5))
        async with running(gateway):
            await publish(url, [(topic, {"t": 1})])
            await until(lambda: temperature(store, entity) == 1)
            private.stop()
            await until(lambda: not gateway.stats.connected)
            await asyncio.sleep(1.0)  # a few failed attempts while the broker is down
            private.start()
            await asyncio.wait_for(gateway.subscribed.wait(), 15)
            await publish(url, [(topic, {"t": 2})])
            await until(lambda: temperature(store, entity) == 2)
            assert gateway.stats.connects == 2
            assert gateway.stats.connection_failures >= 2

    try:
        asyncio.run(scenario())
    finally:
        private.stop()


def test_mqtt_urls() -> None:
    assert MqttUrl.parse("mqtt://127.0.0.1:1884") == MqttUrl("127.0.0.1", 1884)
    assert MqttUrl.parse("localhost") == MqttUrl("localhost", 1883)
    assert MqttUrl.parse("mqtt://u:p%40ss@h") == MqttUrl("h", 1883, "u", "p@ss")
    with pytest.raises(ValueError):
        MqttUrl.parse("http://h:1883")


def test_an_unexpected_error_does_not_stop_the_gateway(
    store: Store, mosquitto: tuple[str, int]
) -> None:
    url = f"mqtt://{mosquitto[0]}:{mosquitto[1]}"
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    entity = provision(store, "aq-09")
    gateway = gateway_for(store, url, prefix, backoff=(0.05, 0.1))
    consume = gateway._consume
    calls = []

    async def fails_once(client: aiomqtt.Client) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug the gateway must outlive")
        await consume(client)

    gateway._consume = fails_once  # type: ignore[method-assign]

    async def scenario() -> None:
        async with running(gateway):
            await until(lambda: len(calls) >= 2 and gateway.subscribed.is_set())
            await publish(url, [(f"{prefix}/k3y/aq-09/attrs", {"t": 7.5})])
            await until(lambda: gateway.stats.applied == 1)

    asyncio.run(scenario())
    assert temperature(store, entity) == 7.5
