"""Nothing slow runs on the event loop (issue 16, item 5): @context lists and imports and
geometry positions are bounded by options, the loop's lag is a metric, and slow requests
in flight never delay /version by more than 100 ms."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.context.jsonld import CORE_CONTEXT_URL, ContextLimits
from cityos.store.base import Store
from tests.api.helpers import ENTITIES, LD, link, problem_type
from tests.serve import served

CONTEXTS = "/ngsi-ld/v1/jsonldContexts"


@pytest.fixture
def bounded(store: Store) -> Iterator[TestClient]:
    settings = Settings(max_geometry_vertices=10, context_limits=ContextLimits(4, 4))
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as client:
        yield client


def refused_for(response: Any, option: str) -> None:
    assert response.status_code == 400, response.text
    assert problem_type(response) == "BadRequestData"
    assert option in response.json()["detail"]


def sensor(context: Any) -> bytes:
    return orjson.dumps({"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "@context": context})


def test_a_long_context_list_is_refused(bounded: TestClient) -> None:
    ok = bounded.post(
        ENTITIES, content=sensor([CORE_CONTEXT_URL] * 4), headers={"Content-Type": LD}
    )
    assert ok.status_code == 201
    long = sensor([CORE_CONTEXT_URL] * 5)
    refused_for(
        bounded.post(ENTITIES, content=long, headers={"Content-Type": LD}), "--max-context-entries"
    )


def test_stored_contexts_count_their_imports(bounded: TestClient) -> None:
    inner = bounded.post(CONTEXTS, json={"@context": [CORE_CONTEXT_URL] * 3})
    assert inner.status_code == 201
    url = str(bounded.base_url) + inner.headers["Location"]
    refused_for(bounded.post(CONTEXTS, json={"@context": [url, url]}), "--max-context-entries")
    response = bounded.get(ENTITIES, params={"type": "Sensor"}, headers={"Link": link(url)})
    assert response.status_code == 200


def test_deep_contexts_are_refused(bounded: TestClient) -> None:
    url, answers = CORE_CONTEXT_URL, []
    for _ in range(4):  # each stored context imports the one before
        answer = bounded.post(CONTEXTS, json={"@context": [url]})
        answers.append(answer.status_code)
        if answer.status_code != 201:
            break
        url = str(bounded.base_url) + answer.headers["Location"]
    assert answers[0] == 201
    refused_for(answer, "--max-context-depth")


def test_geometry_positions_are_bounded(bounded: TestClient) -> None:
    def road(n: int) -> dict[str, Any]:
        line = {"type": "LineString", "coordinates": [[i * 0.01, 0.0] for i in range(n)]}
        return {
            "id": f"urn:ngsi-ld:Road:{n}",
            "type": "Road",
            "location": {"type": "GeoProperty", "value": line},
        }

    assert bounded.post(ENTITIES, json=road(9)).status_code == 201
    refused_for(bounded.post(ENTITIES, json=road(11)), "--max-geometry-vertices")


def test_the_loop_lag_is_a_metric(client: TestClient) -> None:
    time.sleep(0.25)  # two samples
    text = client.get("/metrics").text
    count = next(
        line for line in text.splitlines() if line.startswith("cityos_event_loop_lag_seconds_count")
    )
    assert float(count.split()[-1]) >= 1


# -- the timing test the issue asks for ---------------------------------------------------

VERSION_BOUND_S = 0.1
SLOW_S = 0.5


SEND = """
import sys, time, httpx
method, url, content_type, body = sys.argv[1:5]
content = open(body, "rb").read() if body else None
headers = {"Content-Type": content_type} if content_type else {}
started = time.perf_counter()
status = httpx.request(method, url, content=content, headers=headers, timeout=60).status_code
print(status, time.perf_counter() - started)
"""
"""One slow request, sent from a process of its own: senders on the test's own threads would
share its interpreter lock with the /version sampler and slow the measurement, not the server."""


def slow_requests(folder: Path) -> dict[str, tuple[str, str, str, Path | None]]:
    """Requests that take the server well over half a second together, and one that a
    backtracking regular-expression engine would take minutes over: name → (method, path,
    content type, body file). Bodies are encoded here, before any is sent."""
    line = [[round(i * 0.0005, 4), 1.0] for i in range(49_000)]  # near the 50,000 bound
    geometry = {"type": "GeoProperty", "value": {"type": "LineString", "coordinates": line}}
    values = {f"p{k}": {"type": "Property", "value": k} for k in range(20)}
    bodies = {
        "batch": [
            {"id": f"urn:ngsi-ld:Sensor:{n}-{'a' * 40}", "type": "Sensor", **values}
            for n in range(2000)
        ],
        "geometry": {"id": "urn:ngsi-ld:Road:long", "type": "Road", "location": geometry},
        "context list": {
            "id": "urn:ngsi-ld:Sensor:ctx",
            "type": "Sensor",
            "@context": [CORE_CONTEXT_URL] * 150_000,
        },
        "patch": {f"p{k}": {"type": "Property", "value": -k} for k in range(20)},
    }
    files = {}
    for name, body in bodies.items():
        files[name] = folder / f"{name.replace(' ', '-')}.json"
        files[name].write_bytes(orjson.dumps(body))
    plain = "application/json"
    one = f"{ENTITIES}/urn:ngsi-ld:Sensor:1-{'a' * 40}/attrs"
    pathological = f"{ENTITIES}?type=Sensor&idPattern=(.*)%7B8%7D!&limit=1000"
    return {
        "batch": ("POST", "/ngsi-ld/v1/entityOperations/upsert", plain, files["batch"]),
        "geometry": ("POST", ENTITIES, plain, files["geometry"]),
        "context list": ("POST", ENTITIES, LD, files["context list"]),
        "regex": ("GET", pathological, "", None),
        "patch": ("PATCH", one, plain, files["patch"]),
    }


@pytest.mark.skipif(
    os.environ.get("CI") != "true" and os.getloadavg()[0] > 2 * (os.cpu_count() or 1),
    reason="a timing test needs a machine that is not overloaded (load average above 2 per "
    "core); under CI=true it always runs",
)
def test_slow_requests_never_delay_version(tmp_path: Path) -> None:
    requests = slow_requests(tmp_path)

    def start(port: int, name: str) -> subprocess.Popen[str]:
        method, path, content_type, body = requests[name]
        url = f"http://127.0.0.1:{port}{path}"
        command = [sys.executable, "-c", SEND, method, url, content_type, str(body or "")]
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

    with (
        served(tmp_path / "data", "--auth", "off") as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        # the batch first, so that the regex and the PATCH have entities
        assert start(port, "batch").wait(120) == 0
        senders = {name: start(port, name) for name in requests}
        samples: list[float] = []
        while any(p.poll() is None for p in senders.values()):
            started = time.perf_counter()
            assert http.get("/version").status_code == 200
            samples.append(time.perf_counter() - started)
            time.sleep(0.01)
        answers = {name: p.communicate(timeout=10)[0].split() for name, p in senders.items()}
    statuses = {name: int(answer[0]) for name, answer in answers.items()}
    took = {name: float(answer[1]) for name, answer in answers.items()}
    assert statuses == {
        "geometry": 201,
        "batch": 204,
        "context list": 400,
        "regex": 200,
        "patch": 204,
    }
    assert max(took.values()) > SLOW_S, took  # else the test proves nothing
    assert len(samples) >= 20
    assert max(samples) < VERSION_BOUND_S, (max(samples), took)
