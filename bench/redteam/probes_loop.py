"""One request must not freeze the server (issue 16, items 4 and 5): pathological regular
expressions, huge @context lists, nested stored contexts and huge geometries are refused
or bounded, and `/version` keeps answering while each one runs. Before the fix one such
request froze every client for minutes; the bound here (1 s) tells a freeze from a busy
machine, and tests/api/test_event_loop.py holds the server to 100 ms on a quiet one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from bench.redteam.target import Probe, Target, Verdict, refused

ENTITIES = "/ngsi-ld/v1/entities"
CONTEXTS = "/ngsi-ld/v1/jsonldContexts"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LD = {"Content-Type": "application/ld+json"}
JSON = {"Content-Type": "application/json"}
CATASTROPHIC = "(.*){8}!"
NESTED = "(a+)+$"
LAG_OK_S = 1.0
LONG = "a" * 40


def while_sampled(target: Target, send: Callable[[httpx.Client], Any]) -> tuple[Any, float]:
    """`send` on a thread of its own, /version sampled every 20 ms meanwhile: what `send`
    returned (or raised) and the slowest /version answer (the timeout when none came)."""
    outcome: list[Any] = []
    headers = {"Authorization": f"Bearer {target.keys['admin']}"}

    def work() -> None:
        with httpx.Client(base_url=target.base, timeout=30, headers=headers) as client:
            try:
                outcome.append(send(client))
            except httpx.HTTPError as error:
                outcome.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    slowest = 0.0
    with httpx.Client(base_url=target.base, timeout=5) as sampler:
        while worker.is_alive():
            started = time.perf_counter()
            try:
                sampler.get("/version")
                slowest = max(slowest, time.perf_counter() - started)
            except httpx.HTTPError:
                slowest = 5.0
            time.sleep(0.02)
    worker.join()
    return outcome[0], slowest


def verdict(answer: Any, lag: float, statuses: tuple[int, ...], what: str) -> Verdict:
    status = answer.status_code if isinstance(answer, httpx.Response) else repr(answer)
    ok = status in statuses and lag < LAG_OK_S
    return refused(ok, f"{what}: {status}, /version at worst {lag * 1000:.0f} ms")


def seed(target: Target) -> None:
    for n in range(3):
        body = {
            "id": f"urn:ngsi-ld:Sensor:redteam-loop-{n}-{LONG}",
            "type": "Sensor",
            "name": {"type": "Property", "value": LONG},
        }
        target.request("POST", ENTITIES, as_="admin", json=body)


def id_pattern(target: Target) -> Verdict:
    seed(target)
    answer, lag = while_sampled(
        target, lambda c: c.get(ENTITIES, params={"type": "Sensor", "idPattern": CATASTROPHIC})
    )
    return verdict(answer, lag, (200, 400), f"idPattern={CATASTROPHIC}")


def q_pattern(target: Target) -> Verdict:
    seed(target)
    query = {"type": "Sensor", "q": f"name~={NESTED[:-1]}!"}
    answer, lag = while_sampled(target, lambda c: c.get(ENTITIES, params=query))
    return verdict(answer, lag, (200, 400), f"q={query['q']}")


def subscription_pattern(target: Target) -> Verdict:
    sub = {
        "type": "Subscription",
        "entities": [{"type": "Sensor", "idPattern": CATASTROPHIC}],
        "q": f"name~={NESTED[:-1]}!",
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/redteam"}},
    }
    made = target.request("POST", "/ngsi-ld/v1/subscriptions", as_="admin", json=sub)
    if made.status_code == 400:
        return refused(True, f"subscription with {CATASTROPHIC}: 400")

    def writes(client: httpx.Client) -> httpx.Response:
        answer = None
        for n in range(3):
            path = f"{ENTITIES}/urn:ngsi-ld:Sensor:redteam-loop-{n}-{LONG}/attrs"
            body = {"name": {"type": "Property", "value": LONG + str(n)}}
            answer = client.patch(path, json=body)
        assert answer is not None
        return answer

    seed(target)
    answer, lag = while_sampled(target, writes)
    return verdict(answer, lag, (204,), f"subscription {made.status_code}, then writes")


def context_list(target: Target) -> Verdict:
    body = orjson.dumps(
        {"id": "urn:ngsi-ld:Sensor:redteam-ctx", "type": "Sensor", "@context": [CORE] * 150_000}
    )
    answer, lag = while_sampled(target, lambda c: c.post(ENTITIES, content=body, headers=LD))
    return verdict(answer, lag, (400, 413), f"@context list of 150000 URLs ({len(body)} bytes)")


def nested_contexts(target: Target) -> Verdict:
    def chain(client: httpx.Client) -> httpx.Response:
        url = CORE
        answer = None
        for _ in range(4):
            answer = client.post(CONTEXTS, json={"@context": [url] * 40})
            if answer.status_code != 201:
                return answer
            url = target.base + answer.headers["Location"]
        link = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"'
        return client.get(ENTITIES, params={"type": "Sensor"}, headers={"Link": link})

    answer, lag = while_sampled(target, chain)
    return verdict(answer, lag, (400,), "stored contexts importing 40 of each other, 4 deep")


def huge_linestring(target: Target) -> Verdict:
    points = [[round(-180 + i * 0.0009, 4), 0.0] for i in range(400_000)]
    body = orjson.dumps(
        {
            "id": "urn:ngsi-ld:Road:redteam-line",
            "type": "Road",
            "location": {
                "type": "GeoProperty",
                "value": {"type": "LineString", "coordinates": points},
            },
        }
    )
    answer, lag = while_sampled(target, lambda c: c.post(ENTITIES, content=body, headers=JSON))
    return verdict(answer, lag, (400, 413), f"LineString of 400000 points ({len(body)} bytes)")


PROBES = [
    Probe(f"idPattern {CATASTROPHIC} in a query", id_pattern),
    Probe("q ~= with nested repetition", q_pattern),
    Probe("subscription with such patterns, then writes", subscription_pattern),
    Probe("a 10 MB @context list", context_list),
    Probe("stored contexts nested and multiplied", nested_contexts),
    Probe("a 400k-point LineString", huge_linestring),
]
