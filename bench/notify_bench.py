"""Notification latency: from an update sent to the broker to its webhook's receipt.

    .venv/bin/python -m bench.notify_bench [--rate 1000] [--seconds 10] [--subscriptions 100]

A `cityos serve` process holds one sensor entity per subscription, each subscription
watching its own sensor and notifying a bare ASGI receiver (bench/notify_receiver.py, a
separate process). An open-loop generator PATCHes the sensors round-robin at a fixed rate.
Each notification shows the attribute's `modifiedAt`, the moment the broker accepted
(committed) the update; the receiver notes `receipt - modifiedAt`. All three processes share
the machine's cores. Loopback only, bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.broker_bench import cityos, machine, server, stop_on_sigterm
from bench.raw_http import exchange

API = "/ngsi-ld/v1"
CONNECTIONS = 16
TARGET_P99_MS = 100.0


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    payload = orjson.dumps(body) if body is not None else None
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    conn.request(method, path, payload, headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def sensor_id(n: int) -> str:
    return f"urn:ngsi-ld:FloodSensor:bench-{n}"


def prepare(port: int, receiver: int, subscriptions: int) -> None:
    entities = [
        {
            "id": sensor_id(n),
            "type": "FloodSensor",
            "waterLevel": {"type": "Property", "value": 0.0},
        }
        for n in range(subscriptions)
    ]
    status, _ = _request(port, "POST", f"{API}/entityOperations/upsert", entities)
    assert status in (201, 204), status
    for n in range(subscriptions):
        status, data = _request(
            port,
            "POST",
            f"{API}/subscriptions",
            {
                "type": "Subscription",
                "entities": [{"type": "FloodSensor", "id": sensor_id(n)}],
                "watchedAttributes": ["waterLevel"],
                "notification": {
                    "attributes": ["waterLevel"],
                    "sysAttrs": True,
                    "endpoint": {"uri": f"http://127.0.0.1:{receiver}/notify"},
                },
            },
        )
        assert status == 201, data


async def _sender(
    port: int,
    schedule: list[float],
    counter: list[int],
    sensors: int,
    errors: list[int],
    until: float,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while counter[0] < len(schedule) and time.time() < until:
            index = counter[0]
            counter[0] += 1
            delay = schedule[index] - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            body = orjson.dumps({"waterLevel": {"type": "Property", "value": index % 97 / 10}})
            path = f"{API}/entities/{sensor_id(index % sensors)}/attrs"
            status = await exchange(reader, writer, "PATCH", path, "application/json", body)
            if status != 204:
                errors.append(status)
    finally:
        writer.close()


async def send_updates(
    ports: Sequence[int], schedule: list[float], sensors: int, until: float = math.inf
) -> int:
    """PATCH the sensors round-robin, each update at its time in `schedule` (at once when
    that time is past), over 16 connections spread over `ports`, until the schedule ends or
    the clock reaches `until`; how many updates were accepted."""
    counter: list[int] = [0]
    errors: list[int] = []
    await asyncio.gather(
        *(
            _sender(ports[n % len(ports)], schedule, counter, sensors, errors, until)
            for n in range(CONNECTIONS)
        )
    )
    if errors:
        print(f"  {len(errors)} updates failed, e.g. HTTP {errors[0]}", file=sys.stderr)
    return min(counter[0], len(schedule)) - len(errors)


async def _generate(port: int, rate: float, seconds: float, sensors: int) -> tuple[int, float]:
    """Send the updates on schedule; (how many were accepted, seconds from first to last)."""
    start = time.time() + 0.5
    schedule = [start + i / rate for i in range(int(rate * seconds))]
    accepted = await send_updates([port], schedule, sensors)
    return accepted, time.time() - start


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def notification_latency(
    folder: Path, rate: float, seconds: float, subscriptions: int
) -> dict[str, Any]:
    receiver_command = [sys.executable, "-m", "bench.notify_receiver"]
    with (
        server(receiver_command, "/stats") as (receiver, _),
        server(cityos(folder / "notify"), "/version") as (port, _),
    ):
        prepare(port, receiver, subscriptions)
        accepted, offered_s = asyncio.run(_generate(port, rate, seconds, subscriptions))
        deadline = time.time() + 60
        stats: dict[str, Any] = {}
        while time.time() < deadline:
            stats = json.loads(_request(receiver, "GET", "/stats")[1])
            if stats["notifications"] >= accepted:
                break
            time.sleep(0.2)
    latencies_ms = [v * 1000 for v in stats["latencies"]]
    return {
        "rate_target": rate,
        "rate_achieved": round(accepted / offered_s, 1),
        "subscriptions": subscriptions,
        "updates_accepted": accepted,
        "notifications_received": stats["notifications"],
        "p50_ms": round(percentile(latencies_ms, 0.50), 1),
        "p99_ms": round(percentile(latencies_ms, 0.99), 1),
        "max_ms": round(max(latencies_ms), 1),
        "mean_ms": round(statistics.fmean(latencies_ms), 1),
        "target_p99_ms": TARGET_P99_MS,
    }


def report(result: dict[str, Any]) -> None:
    verdict = "met" if result["p99_ms"] < result["target_p99_ms"] else "MISSED"
    print(
        f"notification latency at {result['rate_achieved']:.0f} updates/s "
        f"(asked {result['rate_target']:.0f}), {result['subscriptions']} subscriptions: "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms "
        f"({result['notifications_received']}/{result['updates_accepted']} received; "
        f"target p99 < {result['target_p99_ms']:.0f} ms: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--subscriptions", type=int, default=100)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    folder = Path(tempfile.mkdtemp(prefix="cityos-notify-"))
    try:
        result = notification_latency(folder, args.rate, args.seconds, args.subscriptions)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(machine()))
    report(result)


if __name__ == "__main__":
    main()
