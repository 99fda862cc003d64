"""What a hostile client could learn or hold through the API (issue 16, items 8 and 9):
notification targets on the local network, credentials in subscriptions, parameters that
broke queries, the Host header, slow clients and idle live streams."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.headtimeout import head_timeout_protocol
from cityos.api.http import Settings
from cityos.events.endpoints import EndpointPolicy, EndpointRefused
from cityos.store.base import Store
from tests.auth.conftest import secured_app
from tests.serve import free_port, served

SUBS = "/ngsi-ld/v1/subscriptions"
ENTITIES = "/ngsi-ld/v1/entities"


def subscription(uri: str, **endpoint: Any) -> dict[str, Any]:
    return {
        "type": "Subscription",
        "entities": [{"type": "FloodSensor"}],
        "notification": {"endpoint": {"uri": uri, **endpoint}},
    }


@pytest.fixture
def plain(store: Store) -> Iterator[TestClient]:
    """The API with the default settings: nothing allowed explicitly."""
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        yield client


# -- 8: notification targets ---------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/x",
        "http://10.0.0.1/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://[fc00::1]/x",
        "http://100.64.0.1/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://localhost:9/x",
        "http://2130706433/x",  # 127.0.0.1 as one decimal number
        "http://0177.0.0.1/x",  # and in octal
        "mqtt://192.168.1.1/topic",
    ],
)
def test_local_network_endpoints_are_refused_by_default(plain: TestClient, uri: str) -> None:
    response = plain.post(SUBS, json=subscription(uri))
    assert response.status_code == 400, response.text
    assert "--notify-allow" in response.json()["detail"]


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_addresses_carrying_a_denied_ipv4_one_are_refused(address: str) -> None:
    with pytest.raises(EndpointRefused):
        EndpointPolicy().check(f"http://[{address}]/x")
    assert EndpointPolicy().check("http://[2002:808:808::1]/x") == "2002:808:808::1"


def test_notify_allow_opens_denied_networks_by_cidr_or_name() -> None:
    policy = EndpointPolicy.from_lists(allow=["loopback", "10.1.0.0/16"])
    assert policy.check("http://127.0.0.1/x") == "127.0.0.1"
    assert policy.check("http://10.1.2.3/x") == "10.1.2.3"
    assert policy.check("http://93.184.215.14/x") == "93.184.215.14"  # public: as before
    with pytest.raises(EndpointRefused):
        policy.check("http://10.2.0.1/x")
    with pytest.raises(EndpointRefused):
        policy.check("http://169.254.169.254/x")
    only = EndpointPolicy.from_lists(allow=["private"], deny=["0.0.0.0/0", "::/0"])
    assert only.check("http://192.168.1.1/x") == "192.168.1.1"
    with pytest.raises(EndpointRefused):
        only.check("http://93.184.215.14/x")


def test_receiver_credentials_are_set_by_admins_only_and_never_read_back(store: Store) -> None:
    city = secured_app(store)
    with city.client as client:
        admin, operator = city.headers("admin"), city.headers("operator")
        token = [{"key": "Authorization", "value": "Bearer receiver-secret"}]
        body = subscription("http://127.0.0.1:9/x", receiverInfo=token)
        for name in ("Authorization", "Cookie", "Proxy-Authorization"):
            info = [{"key": name, "value": "x"}]
            refused = client.post(
                SUBS, json=subscription("http://127.0.0.1:9/x", receiverInfo=info), headers=operator
            )
            assert refused.status_code == 403, (name, refused.text)
        made = client.post(SUBS, json=body, headers=admin)
        assert made.status_code == 201, made.text
        location = made.headers["Location"]
        shown = client.get(location, headers=operator).json()
        assert shown["notification"]["endpoint"]["receiverInfo"][0]["value"] == "***"
        assert "receiver-secret" not in client.get(SUBS, headers=operator).text
        # an operator may change the rest, sending back what it read
        patch = {"notification": shown["notification"] | {"format": "keyValues"}}
        patch["notification"].pop("status", None)
        for key in ("timesSent", "timesFailed", "lastNotification", "lastFailure"):
            patch["notification"].pop(key, None)
        assert client.patch(location, json=patch, headers=operator).status_code == 204
        kept = store.subscriptions.get_subscription("", location.rsplit("/", 1)[1])
        assert kept is not None
        endpoint = kept.doc["notification"]["endpoint"]
        assert endpoint["receiverInfo"] == token
        # but not put its own credentials in
        patch["notification"]["endpoint"]["receiverInfo"] = [{"key": "Cookie", "value": "mine"}]
        assert client.patch(location, json=patch, headers=operator).status_code == 403


def test_mqtt_passwords_are_kept_but_never_shown_or_logged(
    client: TestClient, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    uri = "mqtt://city:hunter2@127.0.0.1:1/alerts"  # port 1: nobody listens
    made = client.post(SUBS, json=subscription(uri))
    assert made.status_code == 201, made.text
    location = made.headers["Location"]
    shown = client.get(location).json()["notification"]["endpoint"]["uri"]
    assert shown == "mqtt://city:***@127.0.0.1:1/alerts"
    assert "hunter2" not in client.get(SUBS).text
    # a PATCH that sends back what GET showed keeps the password
    patch = {"notification": {"endpoint": {"uri": shown}}}
    assert client.patch(location, json=patch).status_code == 204
    kept = store.subscriptions.get_subscription("", location.rsplit("/", 1)[1])
    assert kept is not None and kept.doc["notification"]["endpoint"]["uri"] == uri
    with caplog.at_level(logging.WARNING, logger="cityos.events"):
        level = {"type": "Property", "value": 1}
        sensor = {"id": "urn:ngsi-ld:FloodSensor:1", "type": "FloodSensor", "level": level}
        assert client.post(ENTITIES, json=sensor).status_code == 201
        deadline = time.monotonic() + 10
        while "failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "city:***@" in caplog.text
    assert "hunter2" not in caplog.text
    assert "hunter2" not in client.get(location).text


# -- 9: smaller ones -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "type=T&attrs=" + ",".join(f"a{n}" for n in range(1000)),
        "attrs=" + ",".join(f"a{n}" for n in range(1000)),
        "type=T&attrs=a%00b",
        "attrs=a%00b",
    ],
)
def test_attrs_too_many_or_with_control_characters_are_a_bad_request(
    client: TestClient, query: str
) -> None:
    client.post(ENTITIES, json={"id": "urn:ngsi-ld:T:1", "type": "T"})
    response = client.get(f"{ENTITIES}?{query}")
    assert response.status_code == 400, response.text
    temporal = client.get(f"/ngsi-ld/v1/temporal/entities?{query}")
    assert temporal.status_code == 400, temporal.text


def test_a_hidden_entity_and_a_missing_one_get_the_same_404(store: Store) -> None:
    city = secured_app(store)
    with city.client as client:
        hidden = {"id": "urn:ngsi-ld:Sensor:hidden", "type": "Sensor"}
        assert client.post(ENTITIES, json=hidden, headers=city.headers("admin")).status_code == 201
        for suffix in ("", "?type=Sensor", "?type=Other"):
            seen = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:hidden{suffix}")
            absent = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:absent{suffix}")
            assert seen.status_code == absent.status_code == 404, suffix
            assert seen.json()["detail"].replace("hidden", "X") == absent.json()["detail"].replace(
                "absent", "X"
            ), suffix


def test_the_host_header_is_not_reflected_into_urls(store: Store) -> None:
    evil = {"Host": "evil.example"}
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        made = client.post(
            "/ngsi-ld/v1/jsonldContexts", json={"@context": {"A": "urn:a"}}, headers=evil
        )
        assert made.status_code == 201, made.text
        kept = client.get(made.headers["Location"] + "?details=true").json()
        assert "evil.example" not in kept["URL"]
        assert "evil.example" not in client.get("/open311/v2/discovery.json", headers=evil).text
    configured = Settings(public_url="https://city.example")
    with TestClient(create_app(store, configured), raise_server_exceptions=False) as client:
        found = client.get("/open311/v2/discovery.json", headers=evil).text
        assert "https://city.example/open311/v2" in found and "evil.example" not in found


def test_a_client_sending_its_headers_slowly_is_disconnected() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=head_timeout_protocol(0.5), log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "ok"  # a prompt one is served
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.settimeout(0.05)  # each look for the server's close waits this long
            closed = False
            for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200:
                try:  # a byte every 50 ms or so: 10 s for the whole head
                    slow.sendall(bytes([byte]))
                    closed = slow.recv(100) == b""  # closed, answering nothing
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                if closed:
                    break
            assert closed
    finally:
        server.should_exit = True
        thread.join(10)


def test_live_streams_are_capped(tmp_path: Path) -> None:
    with (
        served(tmp_path / "d", "--max-streams", "1") as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
    ):
        made = http.post(SUBS, json=subscription("urn:cityos:stream"))
        assert made.status_code == 201, made.text
        stream = made.headers["Location"] + "/stream"
        with http.stream("GET", stream) as first:
            assert first.status_code == 200
            lines = first.iter_lines()  # kept: a dropped iterator closes the stream
            next(lines)
            refused = http.get(stream, timeout=3)
            assert refused.status_code == 503
            assert "--max-streams" in refused.json()["detail"]
            assert int(refused.headers["Retry-After"]) > 0
        deadline = time.monotonic() + 10  # the first one's end reaches the server
        while True:
            with http.stream("GET", stream) as again:
                if again.status_code == 200 or time.monotonic() > deadline:
                    assert again.status_code == 200
                    break
            time.sleep(0.1)
