"""A real server process: the Server-Sent Events stream, and what survives `kill -9`."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.events.receiver import NOTIFY_LOOPBACK, receiving
from tests.serve import free_port, start_server

SUBS = "/ngsi-ld/v1/subscriptions"
ENTITIES = "/ngsi-ld/v1/entities"
STREAM = "urn:cityos:stream"


def _sensor(level: float) -> dict[str, Any]:
    return {
        "id": "urn:ngsi-ld:FloodSensor:river",
        "type": "FloodSensor",
        "waterLevel": {"type": "Property", "value": level, "observedAt": "2026-11-29T01:00:00Z"},
    }


def _level(http: httpx.Client, level: float) -> None:
    response = http.patch(
        f"{ENTITIES}/urn:ngsi-ld:FloodSensor:river/attrs",
        json={"waterLevel": {"type": "Property", "value": level}},
    )
    assert response.status_code == 204, response.text


def _watch_sensors(http: httpx.Client, uri: str, **extra: Any) -> httpx.Response:
    """Create the river sensor and a subscription to FloodSensors notifying `uri`."""
    http.post(ENTITIES, json=_sensor(1.0))
    body = {
        "type": "Subscription",
        "entities": [{"type": "FloodSensor"}],
        "notification": {"endpoint": {"uri": uri}},
        **extra,
    }
    created = http.post(SUBS, json=body)
    assert created.status_code == 201, created.text
    return created


def test_server_sent_events_stream(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(tmp_path / "data", port, *NOTIFY_LOOPBACK)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            created = _watch_sensors(http, STREAM)
            patched = http.patch(
                created.headers["Location"],
                json={"notification": {"format": "keyValues", "endpoint": {"uri": STREAM}}},
            )
            assert patched.status_code == 204, patched.text
            stream_url = created.headers["Location"] + "/stream"
            events: list[dict[str, Any]] = []
            opened = threading.Event()

            def listen() -> None:
                with (
                    httpx.Client(base_url=base, timeout=10) as sse,
                    sse.stream("GET", stream_url) as response,
                ):
                    assert response.headers["content-type"].startswith("text/event-stream")
                    opened.set()
                    kind = ""
                    for line in response.iter_lines():
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: ") and kind == "notification":
                            events.append(json.loads(line[6:]))
                            if len(events) == 3:
                                return

            reader = threading.Thread(target=listen, daemon=True)
            reader.start()
            assert opened.wait(10)
            time.sleep(0.2)  # the listener is registered once the first line has gone out
            for level in (2.0, 3.0, 4.0):
                _level(http, level)
            reader.join(10)
            assert not reader.is_alive()
            assert [e["data"][0]["waterLevel"] for e in events] == [2.0, 3.0, 4.0]
            assert all(e["type"] == "Notification" for e in events)
            missing = http.get(f"{SUBS}/urn:ngsi-ld:Subscription:none/stream")
            assert missing.status_code == 404
    finally:
        server.terminate()
        server.wait(10)


def test_subscriptions_pending_retries_and_history_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    with receiving() as receiver:
        receiver.fail_next = 1_000_000  # the receiver is down until the broker has crashed
        server = start_server(data, port, *NOTIFY_LOOPBACK)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                _watch_sensors(
                    http, receiver.url, id="urn:ngsi-ld:Subscription:flood-alarm", q="waterLevel>5"
                )
                _level(http, 6.5)
                _level(http, 7.5)
                deadline = time.monotonic() + 10
                while receiver.refused < 1 and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert receiver.refused >= 1
                time.sleep(0.3)  # both notifications are in the outbox now
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(10)
        receiver.fail_next = 0
        server = start_server(data, port, *NOTIFY_LOOPBACK)
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                sub = http.get(f"{SUBS}/urn:ngsi-ld:Subscription:flood-alarm")
                assert sub.status_code == 200
                assert sub.json()["q"] == "waterLevel>5"
                got = receiver.wait_for(2, seconds=15)
                levels = [n.body["data"][0]["waterLevel"]["value"] for n in got]
                assert levels == [6.5, 7.5]
                # the subscription still notifies new changes, after the old ones
                _level(http, 8.5)
                got = receiver.wait_for(3)
                assert got[2].body["data"][0]["waterLevel"]["value"] == 8.5
                entity = http.get(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:river").json()
                assert entity["waterLevel"]["value"] == 8.5
                history = http.get(
                    "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:FloodSensor:river",
                    params={"attrs": "waterLevel", "options": "temporalValues"},
                )
                assert history.status_code == 200, history.text
                values = [v[0] for v in history.json()["waterLevel"]["values"]]
                assert sorted(values) == [1.0, 6.5, 7.5, 8.5]  # written before and after kill -9
        finally:
            server.terminate()
            server.wait(10)


def test_a_change_being_notified_when_the_broker_dies_is_notified_after_restart(
    tmp_path: Path,
) -> None:
    """The change log: a change committed but not yet delivered is matched again."""
    data = tmp_path / "data"
    port = free_port()
    with receiving() as receiver:
        receiver.hang_next = 1  # the first notification is in flight when the broker dies
        server = start_server(data, port, *NOTIFY_LOOPBACK)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                _watch_sensors(http, receiver.url)
                time.sleep(1.5)  # the broker has forgotten older changes by now
                _level(http, 6.5)
                deadline = time.monotonic() + 10
                while receiver.hung < 1 and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert receiver.hung == 1
                time.sleep(1.5)  # housekeeping runs meanwhile and must keep the change
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            receiver.release.set()
        server = start_server(data, port, *NOTIFY_LOOPBACK)
        try:
            got = receiver.wait_for(1, seconds=15)
            assert got[0].body["data"][0]["waterLevel"]["value"] == 6.5
            assert len(receiver.quiet_for(1.5)) == 1  # once, not again for older changes
        finally:
            server.terminate()
            server.wait(10)
