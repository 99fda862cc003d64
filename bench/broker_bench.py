"""The broker's benchmarks, as ratios against this machine's own limits.

    .venv/bin/python -m bench.broker_bench [--entities 100000] [--memory-entities 1000000]

In one run: (a) batch upsert over HTTP against raw SQLite inserts of the same rows,
(b) retrieve-by-id under 16 concurrent connections against a bare ASGI JSON endpoint served
the same way, (c) q and near query latency over the loaded city, (d) the server's peak
memory with a million entities stored. Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from tests.serve import free_port, wait_until_up

BATCH = 1000
UPSERT = "/ngsi-ld/v1/entityOperations/upsert"
OUT = Path(__file__).with_name("out")


def city_entity(n: int, rng: random.Random) -> dict[str, Any]:
    """A city sensor with 6 attributes, one of them a GeoProperty within Chongqing."""
    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:bench-{n}",
        "type": "AirQualityObserved",
        "name": {"type": "Property", "value": f"station {n}"},
        "temperature": {"type": "Property", "value": round(rng.uniform(-5, 40), 2)},
        "status": {"type": "Property", "value": rng.choice(["ok", "ok", "ok", "fault"])},
        "refDistrict": {"type": "Relationship", "object": f"urn:ngsi-ld:District:{n % 38}"},
        "pm25": {
            "type": "Property",
            "value": round(rng.uniform(0, 200), 1),
            "unitCode": "GQ",
            "observedAt": "2026-11-28T08:00:00Z",
        },
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "Point",
                "coordinates": [
                    round(rng.uniform(105.3, 110.2), 5),
                    round(rng.uniform(28.2, 32.2), 5),
                ],
            },
        },
    }


def batches(count: int, seed: int = 7) -> Iterator[bytes]:
    rng = random.Random(seed)
    for start in range(0, count, BATCH):
        yield json.dumps(
            [city_entity(n, rng) for n in range(start, min(count, start + BATCH))]
        ).encode()


@contextmanager
def server(command: list[str]) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        wait_until_up(process, port, "/version" if "cityos.cli" in command else "/")
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def cityos(data: Path) -> list[str]:
    return [sys.executable, "-m", "cityos.cli", "serve", "--data", str(data)]


def load(port: int, count: int) -> float:
    """Upsert `count` entities in batches; entities per second."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        bodies = list(batches(count))
        started = time.perf_counter()
        for body in bodies:
            response = client.post(
                UPSERT, content=body, headers={"Content-Type": "application/json"}
            )
            if response.status_code not in (201, 204):
                raise RuntimeError(f"upsert failed: {response.status_code} {response.text[:200]}")
        return count / (time.perf_counter() - started)


def raw_sqlite(count: int, folder: Path) -> float:
    """The same rows into a bare SQLite table (WAL, same batch size): rows per second."""
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE entities (id TEXT PRIMARY KEY, type TEXT, doc TEXT)")
    rows = [
        [(e["id"], e["type"], json.dumps(e)) for e in json.loads(body)] for body in batches(count)
    ]
    started = time.perf_counter()
    for chunk in rows:
        db.execute("BEGIN")
        db.executemany("INSERT INTO entities VALUES (?, ?, ?)", chunk)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def wrk(port: int, paths: list[str], seconds: int, folder: Path) -> float:
    """Requests per second with 16 connections (wrk, 2 threads) over random `paths`."""
    script = folder / "paths.lua"
    listing = ",".join(json.dumps(p) for p in paths)
    script.write_text(
        f"local paths = {{{listing}}}\n"
        "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n"
    )
    result = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if match is None or errors is not None:
        raise RuntimeError(f"wrk run failed:\n{result.stdout}")
    return float(match.group(1))


def latencies(port: int, params: dict[str, str], runs: int) -> tuple[float, float, int]:
    """p50 and p99 in ms, and how many entities the query returns."""
    timings = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get("/ngsi-ld/v1/entities", params=params)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1], len(response.json())


def peak_memory_mb(process: subprocess.Popen[bytes]) -> float:
    status = Path(f"/proc/{process.pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


QUERIES = {
    "q temperature>20;status==ok": {
        "type": "AirQualityObserved",
        "q": 'temperature>20;status=="ok"',
        "limit": "100",
    },
    "near 5 km of Jiefangbei": {
        "type": "AirQualityObserved",
        "georel": "near;maxDistance==5000",
        "geometry": "Point",
        "coordinates": "[106.577,29.5587]",
        "limit": "100",
    },
    "near 30 km, 100 nearest page": {
        "georel": "near;maxDistance==30000",
        "geometry": "Point",
        "coordinates": "[106.577,29.5587]",
        "limit": "100",
    },
    "q pm25 range + attrs": {
        "type": "AirQualityObserved",
        "q": "pm25==50..60",
        "attrs": "pm25,location",
        "limit": "100",
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--memory-entities", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.entities, args.memory_entities, args.seconds, args.runs = 5000, 20000, 2, 20
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for the concurrency figures: apt-get install wrk")
    results: dict[str, Any] = {"entities": args.entities}
    folder = Path(tempfile.mkdtemp(prefix="cityos-bench-"))
    try:
        raw = raw_sqlite(args.entities, folder)
        with server(cityos(folder / "city")) as (port, _):
            upsert = load(port, args.entities)
            rng = random.Random(1)
            ids = [
                f"/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:bench-{rng.randrange(args.entities)}"
                for _ in range(2000)
            ]
            retrieve = wrk(port, ids, args.seconds, folder)
            for name, params in QUERIES.items():
                results[name] = latencies(port, params, args.runs)
        with server([sys.executable, "-m", "bench.asgi_echo"]) as (port, _):
            echo = wrk(port, ["/echo"], args.seconds, folder)
        with server(cityos(folder / "million")) as (port, process):
            million_rate = load(port, args.memory_entities)
            latencies(port, QUERIES["q temperature>20;status==ok"], 20)
            memory = peak_memory_mb(process)
        results.update(
            upsert_per_s=upsert,
            raw_per_s=raw,
            upsert_ratio=upsert / raw,
            retrieve_per_s=retrieve,
            echo_per_s=echo,
            retrieve_ratio=retrieve / echo,
            memory_entities=args.memory_entities,
            memory_load_per_s=million_rate,
            peak_mb=memory,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(results)
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))


def report(r: dict[str, Any]) -> None:
    n = r["entities"]
    print(f"cityos broker benchmark — {os.cpu_count()} cores, {n:,} entities, batches of {BATCH}")
    print(f"  batch upsert over HTTP   {r['upsert_per_s']:>10,.0f} entities/s")
    print(f"  raw SQLite inserts       {r['raw_per_s']:>10,.0f} rows/s")
    print(f"  ratio                    {r['upsert_ratio']:>10.2f}   (target >= 0.4)")
    print(f"  retrieve by id, 16 conn  {r['retrieve_per_s']:>10,.0f} req/s")
    print(f"  bare ASGI JSON endpoint  {r['echo_per_s']:>10,.0f} req/s")
    print(f"  ratio                    {r['retrieve_ratio']:>10.2f}   (target >= 0.5)")
    for name in QUERIES:
        p50, p99, count = r[name]
        print(f"  {name:<30} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({count} entities)")
    print(
        f"  peak server memory, {r['memory_entities']:,} entities: {r['peak_mb']:.0f} MB "
        f"(target < 300 MB; loaded at {r['memory_load_per_s']:,.0f} entities/s)"
    )


if __name__ == "__main__":
    main()
