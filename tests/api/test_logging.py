"""Structured logs: JSON lines with request ids (incoming or made, echoed, on every record
made while handling the request), and no secrets or personal data, whoever logs them."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from cityos import logs
from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.events.notifier import RetryPolicy
from cityos.store.base import Store
from tests.events.receiver import LOOPBACK
from tests.serve import free_port, wait_until_up

ENTITIES = "/ngsi-ld/v1/entities"
HEX_ID = re.compile(r"[0-9a-f]{32}")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What cityos logs during the test, as `cityos serve` would write it (JSON)."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("json", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def lines(output: io.StringIO) -> Lines:
    return lambda: [orjson.loads(line) for line in output.getvalue().splitlines()]


def access(found: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    [line] = [x for x in found if x["logger"] == "cityos.access" and x["request_id"] == request_id]
    return line


def test_an_access_line_per_request(client: TestClient, lines: Lines) -> None:
    response = client.get(
        f"{ENTITIES}/urn:ngsi-ld:Thing:1",
        headers={"X-Request-Id": "req-42", "NGSILD-Tenant": "chongqing"},
    )
    assert response.headers["x-request-id"] == "req-42"
    line = access(lines(), "req-42")
    assert STAMP.fullmatch(line["time"])
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["route"] == "/ngsi-ld/v1/entities/{entity_id}"
    assert line["status"] == response.status_code == 404
    assert line["tenant"] == "chongqing"
    assert line["duration_ms"] >= 0
    assert line["message"].startswith("GET /ngsi-ld/v1/entities/{entity_id} 404 ")


def test_unsafe_or_missing_request_ids_are_replaced(client: TestClient, lines: Lines) -> None:
    made = []
    for given in ({}, {"X-Request-Id": "a b<script>"}, {"X-Request-Id": "x" * 200}):
        made.append(client.get("/version", headers=given).headers["x-request-id"])
    assert all(HEX_ID.fullmatch(rid) for rid in made)
    assert len(set(made)) == 3
    for rid in made:
        assert access(lines(), rid)["status"] == 200
    assert not any("script" in str(line) for line in lines())


def test_probes_are_not_access_logged_at_info(client: TestClient, lines: Lines) -> None:
    client.get("/health/live", headers={"X-Request-Id": "probe-1"})
    client.get("/metrics", headers={"X-Request-Id": "probe-2"})
    assert not [x for x in lines() if x.get("request_id") in ("probe-1", "probe-2")]


def test_records_made_while_handling_carry_the_id(
    client: TestClient, store: Store, lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(tenant: str, entity_id: str) -> None:
        logging.getLogger("cityos.store").warning("reading %s", entity_id)
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(store, "get", failing)
    response = client.get(f"{ENTITIES}/urn:ngsi-ld:Thing:1", headers={"X-Request-Id": "r-500"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "r-500"
    # the error handler, outside the middleware, logs after the access line: still tagged
    mine = {x["logger"]: x for x in lines() if x.get("request_id") == "r-500"}
    assert set(mine) == {"cityos.store", "cityos.api", "cityos.access"}
    assert mine["cityos.store"]["message"] == "reading urn:ngsi-ld:Thing:1"
    assert mine["cityos.api"]["level"] == "ERROR"
    assert "the disk is on fire" in mine["cityos.api"]["error"]
    assert mine["cityos.access"]["status"] == 500


SECRETS = {
    "bearer": "T0KEN-4f9a",
    "cookie": "C00KIE-77e1",
    "api_key": "OPEN311-K3Y",
    "device key": "DEV-K3Y-19",
    "url password": "PASSW0RD-3c",
    "receiverInfo": "RECEIVER-S3CRET",
    "email": "janina.kowalska@example.pl",
    "phone": "600 700 800",
    "first name": "Janina",
    "last name": "Kowalska",
}


def test_secrets_and_personal_data_never_reach_the_log(
    store: Store, output: io.StringIO, lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(notify_policy=LOOPBACK, notify_retry=RetryPolicy(first_s=60, tick_s=0.02))
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as client:
        credentials = {
            "Authorization": f"Bearer {SECRETS['bearer']}",
            "Cookie": f"session={SECRETS['cookie']}; theme=dark",
        }
        client.get(ENTITIES, params={"type": "Thing"}, headers=credentials)
        filed = client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": SECRETS["api_key"],
                "service_code": "pothole",
                "long": "106.577",
                "lat": "29.557",
                "email": SECRETS["email"],
                "phone": f"+48 {SECRETS['phone']}",
                "first_name": SECRETS["first name"],
                "last_name": SECRETS["last name"],
            },
        )
        assert filed.status_code == 200, filed.text
        client.post(f"/iot/json?k={SECRETS['device key']}&i=sensor-1", json={"t": 1})
        endpoint = f"http://cityos:{SECRETS['url password']}@127.0.0.1:{free_port()}/hook"
        subscription = {
            "type": "Subscription",
            "entities": [{"type": "Thing"}],
            "notification": {
                "endpoint": {
                    "uri": endpoint,
                    "receiverInfo": [
                        {"key": "Authorization", "value": f"Bearer {SECRETS['receiverInfo']}"}
                    ],
                },
            },
        }
        assert client.post("/ngsi-ld/v1/subscriptions", json=subscription).status_code == 201
        thing = {"id": "urn:ngsi-ld:Thing:1", "type": "Thing", "size": {"value": 1}}
        client.post(ENTITIES, json=thing)
        # The notifier logs the failed delivery with its endpoint URI: redacted here.
        deadline = time.monotonic() + 15
        while "Notification of" not in output.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)

        # Some module logging what it should not: the filter redacts it all the same.
        def leaky(tenant: str, entity_id: str) -> None:
            logging.getLogger("cityos.leaky").warning("headers %s", credentials)
            raise RuntimeError(f"reporter {SECRETS['email']} phone={SECRETS['phone']}")

        monkeypatch.setattr(store, "get", leaky)
        client.get(f"{ENTITIES}/urn:ngsi-ld:Thing:1", headers={"X-Request-Id": "leak"})
    text = output.getvalue()
    assert "http://cityos:***@127.0.0.1" in text  # the failed delivery was logged
    assert "'Authorization': '***'" in text
    assert "reporter ***@***" in text
    for what, secret in SECRETS.items():
        assert secret not in text, what
    [failed] = [x for x in lines() if x["message"].startswith("Notification of")]
    assert "request_id" not in failed  # the subscription's worker is no request's
    assert all(isinstance(line, dict) for line in lines())  # redacted lines stay JSON
    assert {x["route"] for x in lines() if x["logger"] == "cityos.access"} >= {
        "/open311/v2/requests.{format}",
        "/iot/json",
    }


def test_text_lines_for_people(client: TestClient) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("text", stream)
    try:
        client.get("/version", headers={"X-Request-Id": "t-1"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    [line] = [x for x in stream.getvalue().splitlines() if "[t-1]" in x]
    assert re.fullmatch(r"\S+Z INFO    cityos\.access \[t-1\] GET /version 200 \d+\.\d ms", line), (
        line
    )


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.resolve_format("auto", Terminal()) == "text"
    assert logs.resolve_format("auto", io.StringIO()) == "json"
    assert logs.resolve_format("text", io.StringIO()) == "text"
    with pytest.raises(ValueError):
        logs.resolve_format("xml", io.StringIO())


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def", "abc.def"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("[(b'authorization', b'Bearer zz9'), (b'accept', b'*/*')]", "zz9"),
        ("{'cookie': 'sid=1; csrf=2'}", "csrf=2"),
        ("Cookie: sid=1; csrf=2", "csrf=2"),
        ("GET /open311/v2/requests.json?api_key=K1&service_code=x", "K1"),
        ("POST /iot/json?k=devkey&i=d1", "devkey"),
        ("mqtt://user:pa55@broker:1883/topic", "pa55"),
        ("postgresql://cityos:pw@db/cityos", "pw@"),
        ('{"email": "a@b.cn", "phone": "+86 138 0000 0000"}', "138 0000"),
        ("first_name=Jan&last_name=Nowak", "Nowak"),
        ('{"firstName": "Jan", "lastName": "Nowak"}', "Nowak"),
        ("contact li.wei@example.cn today", "li.wei@example.cn"),
        ('"receiverInfo": [{"key": "X-Key", "value": "v9"}]', "v9"),
        ("notifier_info={'MQTT-Password': 'm9'}", "m9"),
        ("password='two words'", "two words"),
        ("phone=+48 600 700 800 email=x", "700 800"),
        ("x-api-key: ak-1", "ak-1"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    assert secret not in logs.redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "GET /ngsi-ld/v1/entities/{entity_id} 404 1.2 ms",
        "MQTT broker 127.0.0.1:1883 still unreachable (3 attempts)",
        "mqtt://gateway@broker.example.org:1883",  # a user name is no secret
        '{"@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"}',
    ],
)
def test_redact_leaves_plain_lines_alone(text: str) -> None:
    assert logs.redact(text) == text


def test_serve_writes_json_lines_on_stdout(tmp_path: Path) -> None:
    port = free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    command = [sys.executable, "-m", "cityos.cli", "serve", "--data", str(tmp_path / "d")]
    command += ["--port", str(port), "--log-format", "json", "--auth", "off"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        try:
            wait_until_up(process, port, "/version")
            url = f"http://127.0.0.1:{port}/version"
            asked = urllib.request.Request(url, headers={"X-Request-Id": "cli-1"})
            with urllib.request.urlopen(asked, timeout=5) as answer:
                assert answer.headers["X-Request-Id"] == "cli-1"
        finally:
            process.terminate()
            process.wait(timeout=15)
    found = [orjson.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert access(found, "cli-1")["route"] == "/version"
    assert "cityos serving" in err.read_text()  # the banner goes aside
