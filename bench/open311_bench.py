"""Open311 intake: service requests POSTed per second, against plain NGSI-LD entity creates.

    .venv/bin/python -m bench.open311_bench [--seconds 20] [--connections 4]

One `cityos serve` process on 127.0.0.1 (default settings: SQLite, synchronous=full).
A few keep-alive clients, each sending its next request as soon as the last is answered,
first create entities (`POST /ngsi-ld/v1/entities`, 201) for --seconds, then file Open311
service requests (`POST /open311/v2/requests.json`, form-encoded, 200) for --seconds on
the same server. Each request is a new case: validated, located in its district, routed,
given its deadline, checked for a nearby duplicate and committed as a `Case` entity with
its private record and trail. The ratio of the two rates is what governance costs over a
bare entity write. Clients and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import orjson

from bench.broker_bench import cityos, machine, server, stop_on_sigterm
from bench.raw_http import exchange

ENTITIES = "/ngsi-ld/v1/entities"
REQUESTS = "/open311/v2/requests.json"
FORM = "application/x-www-form-urlencoded"
SERVICES = ("pothole", "streetlight-out", "illegal-dumping", "noise", "damaged-facility")
CORE = ((106.50, 106.60), (29.50, 29.60))
"""Chongqing's urban core (Yuzhong and its neighbours), where reports cluster."""

Request = Callable[[int], tuple[str, str, bytes]]
"""Request number → (path, content type, body)."""


def entity_create(n: int) -> tuple[str, str, bytes]:
    body = {
        "id": f"urn:ngsi-ld:Streetlight:bench-{n}",
        "type": "Streetlight",
        "status": {"type": "Property", "value": "ok"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": _point(n)}},
    }
    return ENTITIES, "application/json", orjson.dumps(body)


def service_request(n: int) -> tuple[str, str, bytes]:
    lon, lat = _point(n)
    form = {
        "api_key": "bench",
        "service_code": SERVICES[n % len(SERVICES)],
        "long": f"{lon}",
        "lat": f"{lat}",
        "description": f"Report {n} from the benchmark",
        "email": f"citizen{n % 500}@example.cn",
    }
    return REQUESTS, FORM, urlencode(form).encode()


def _point(n: int) -> list[float]:
    rng = random.Random(n)
    (x0, x1), (y0, y1) = CORE
    return [round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)]


async def _client(
    port: int, make: Request, expect: int, counter: list[int], until: float, errors: list[int]
) -> int:
    """Send requests back to back on one keep-alive connection until `until`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.monotonic() < until:
            n = counter[0]
            counter[0] += 1
            path, media, body = make(n)
            status = await exchange(reader, writer, "POST", path, media, body)
            if status == expect:
                done += 1
            else:
                errors.append(status)
    finally:
        writer.close()
    return done


async def _rate(port: int, make: Request, expect: int, seconds: float, connections: int) -> float:
    """Requests answered with `expect` per second, over `connections` clients."""
    counter: list[int] = [0]
    errors: list[int] = []
    start = time.monotonic()
    done = await asyncio.gather(
        *(_client(port, make, expect, counter, start + seconds, errors) for _ in range(connections))
    )
    elapsed = time.monotonic() - start
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. HTTP {errors[0]}")
    return sum(done) / elapsed


def measure(folder: Path, seconds: float, connections: int) -> dict[str, float]:
    with server(cityos(folder / "data"), "/version") as (port, _):
        entities = asyncio.run(_rate(port, entity_create, 201, seconds, connections))
        requests = asyncio.run(_rate(port, service_request, 200, seconds, connections))
    return {
        "seconds": seconds,
        "connections": connections,
        "entity_creates_per_s": round(entities, 1),
        "open311_posts_per_s": round(requests, 1),
        "ratio": round(requests / entities, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    folder = Path(tempfile.mkdtemp(prefix="cityos-open311-"))
    try:
        result = measure(folder, args.seconds, args.connections)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(machine()))
    print(
        f"Open311 POST /requests: {result['open311_posts_per_s']:.0f}/s against "
        f"POST /entities: {result['entity_creates_per_s']:.0f}/s "
        f"({result['connections']} keep-alive clients, {result['seconds']:.0f} s each): "
        f"ratio {result['ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
