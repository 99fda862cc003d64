"""Notifications to an MQTT endpoint, through the real Mosquitto broker."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from starlette.testclient import TestClient

from tests.services import MOSQUITTO, require_service


@pytest.fixture
def topic() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A fresh topic on Mosquitto and the messages published on it."""
    host, port = require_service("Mosquitto", *MOSQUITTO)
    name = f"cityos-test/{uuid.uuid4()}"
    messages: queue.Queue[dict[str, Any]] = queue.Queue()
    subscribed = queue.Queue[int]()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, message: messages.put(json.loads(message.payload))
    client.on_subscribe = lambda *_: subscribed.put(1)
    client.connect(host, port)
    client.subscribe(name, qos=1)
    client.loop_start()
    try:
        subscribed.get(timeout=10)
        yield name, messages
    finally:
        client.loop_stop()
        client.disconnect()


def test_notifications_are_published_per_the_mqtt_binding(
    client: TestClient, topic: tuple[str, queue.Queue[dict[str, Any]]]
) -> None:
    name, messages = topic
    host, port = MOSQUITTO
    client.post(
        "/ngsi-ld/v1/entities",
        json={
            "id": "urn:ngsi-ld:PumpController:jialing-1",
            "type": "PumpController",
            "state": {"type": "Property", "value": "idle"},
        },
    )
    response = client.post(
        "/ngsi-ld/v1/subscriptions",
        json={
            "type": "Subscription",
            "entities": [{"type": "PumpController"}],
            "notification": {
                "endpoint": {
                    "uri": f"mqtt://{host}:{port}/{name}",
                    "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}],
                },
            },
        },
    )
    assert response.status_code == 201, response.text
    for state in ("pumping", "idle"):
        client.patch(
            "/ngsi-ld/v1/entities/urn:ngsi-ld:PumpController:jialing-1/attrs",
            json={"state": {"type": "Property", "value": state}},
        )
    first, second = messages.get(timeout=10), messages.get(timeout=10)
    assert first["metadata"]["Content-Type"] == "application/json"
    assert "Link" in first["metadata"]
    assert first["body"]["type"] == "Notification"
    assert [m["body"]["data"][0]["state"]["value"] for m in (first, second)] == ["pumping", "idle"]
