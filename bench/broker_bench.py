"""The broker's benchmarks, as ratios against this machine's own limits.

    .venv/bin/python -m bench.broker_bench [--entities 100000] [--memory-entities 1000000]
                                           [--generator auto|wrk|python] [--quick]
                                           [--store postgresql://postgres@127.0.0.1/test]

In one run: (a) batch upsert over HTTP against raw SQLite inserts of the same rows, (b)
retrieve-by-id under 16 concurrent connections against a bare ASGI JSON endpoint served the
same way, (c) q, near and type query latency over the loaded city, (d) the server's peak
memory with a million entities stored. Absolute figures depend on the machine; the ratios
are what the targets are about. Everything runs on 127.0.0.1, every loop is bounded by a
count and a deadline, and every server started here is stopped on the way out (also on
Ctrl-C and SIGTERM). Results: a table on stdout and bench/out/results.json.

With --store the server keeps its data in PostgreSQL, in throw-away schemas of that
database (bench/pg.py, dropped at the end), analysed after each load as autovacuum would;
the ceiling of (a) is PostgreSQL's own COPY of the same rows, with plain INSERTs beside it;
results go to bench/out/results-postgresql.json.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, cast
from urllib.parse import quote, urlencode

import psycopg

from bench.pg import Schemas, analyze, schemas, server_version

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
API = "/ngsi-ld/v1"
BATCH = 1000
CONNECTIONS = 16
LOAD_DEADLINE_S = 1800.0  # per load phase; a slower machine reports what it loaded by then
QUERY_DEADLINE_S = 60.0  # per query kind
TARGETS = {"upsert_ratio": 0.4, "retrieve_ratio": 0.5, "query_p50_ms": 20.0, "peak_mb": 300.0}

# Chongqing municipality's bounding box, and the central urban area where sensors cluster.
CITY = ((105.3, 110.2), (28.2, 32.2))
CORE = ((106.35, 106.75), (29.35, 29.75))


# --- the city -----------------------------------------------------------------------------


def entity_type(n: int) -> str:
    """Three in four are air-quality stations, the rest water-quality ones (a type query)."""
    return "WaterQualityObserved" if n % 4 == 3 else "AirQualityObserved"


def entity_id(n: int) -> str:
    return f"urn:ngsi-ld:{entity_type(n)}:bench-{n}"


def city_entity(n: int, rng: random.Random) -> dict[str, Any]:
    """A sensor with 6 attributes; half sit in the urban core, half anywhere in the city."""
    (x0, x1), (y0, y1) = CORE if rng.random() < 0.5 else CITY
    return {
        "id": entity_id(n),
        "type": entity_type(n),
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
                "coordinates": [round(rng.uniform(x0, x1), 5), round(rng.uniform(y0, y1), 5)],
            },
        },
    }


def batches(count: int, seed: int = 7) -> Iterator[list[dict[str, Any]]]:
    """The same entities, in the same batches, every time it is called with the same seed."""
    rng = random.Random(seed)
    for start in range(0, count, BATCH):
        yield [city_entity(n, rng) for n in range(start, min(count, start + BATCH))]


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(process: subprocess.Popen[bytes], port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{process.args!r} did not start") from None
            time.sleep(0.1)


@contextmanager
def server(command: list[str], ready_path: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Run `command --port P` on a free port; always stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(process, port, ready_path)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def cityos(data: Path, store: str | None = None, events: str | None = None) -> list[str]:
    """`cityos serve` on the embedded store in `data`, or on PostgreSQL at `store`; without
    authentication, so that figures stay comparable with those before it (docs/security.md),
    and notifying loopback, where the benches' receivers listen."""
    command = [sys.executable, "-m", "cityos.cli", "serve", "--data", str(data), "--auth", "off"]
    command += ["--notify-allow", "loopback"]  # the benches' receivers listen on loopback
    if store is not None:
        command += ["--store", store]
    if events is not None:
        command += ["--events", events]
    return command


def echo() -> list[str]:
    return [sys.executable, "-m", "bench.asgi_echo"]


def peak_memory_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


# --- (a) batch upsert against raw SQLite --------------------------------------------------


def load(port: int, count: int) -> tuple[int, float]:
    """Upsert `count` entities in batches; (entities loaded, entities/s over request time).

    Bodies are built between requests and not timed, so the rate is the server's alone.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Content-Type": "application/json"}
    loaded, busy = 0, 0.0
    deadline = time.monotonic() + LOAD_DEADLINE_S
    for batch in batches(count):
        body = json.dumps(batch).encode()
        started = time.perf_counter()
        conn.request("POST", f"{API}/entityOperations/upsert", body, headers)
        response = conn.getresponse()
        text = response.read()
        busy += time.perf_counter() - started
        if response.status not in (201, 204):
            raise RuntimeError(f"upsert answered {response.status}: {text[:300]!r}")
        loaded += len(batch)
        if time.monotonic() > deadline:
            print(f"  (load stopped at its {LOAD_DEADLINE_S:.0f} s deadline)", file=sys.stderr)
            break
    conn.close()
    return loaded, loaded / busy


def raw_sqlite(count: int, folder: Path) -> float:
    """The same JSON rows into a bare SQLite table, WAL, same batches: rows/s.

    Synchronous=FULL as the store uses, so both pay the same fsync per commit.
    """
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE entities (id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL)")
    busy = 0.0
    for batch in batches(count):
        rows = [(e["id"], e["type"], json.dumps(e)) for e in batch]
        started = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO entities VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
        busy += time.perf_counter() - started
    db.close()
    return count / busy


def raw_postgres(url: str, count: int) -> dict[str, float]:
    """The same JSON rows into bare PostgreSQL tables (id, type, doc jsonb), same batches,
    a commit each: rows/s by COPY (the ceiling) and by INSERT executemany (for context)."""
    create = "CREATE TABLE {} (id text PRIMARY KEY, type text NOT NULL, doc jsonb NOT NULL)"
    busy = {"copy": 0.0, "insert": 0.0}
    with psycopg.connect(url, connect_timeout=10) as db:
        for table in busy:
            db.execute(create.format(f"raw_{table}"))
        db.commit()
        for batch in batches(count):
            rows = [(e["id"], e["type"], json.dumps(e)) for e in batch]
            started = time.perf_counter()
            with db.cursor() as cursor, cursor.copy("COPY raw_copy FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            db.commit()
            busy["copy"] += time.perf_counter() - started
            started = time.perf_counter()
            with db.cursor() as cursor:
                cursor.executemany("INSERT INTO raw_insert VALUES (%s, %s, %s::jsonb)", rows)
            db.commit()
            busy["insert"] += time.perf_counter() - started
    return {"raw_rows_per_s": count / busy["copy"], "insert_rows_per_s": count / busy["insert"]}


# --- (b) retrieve-by-id under concurrency -------------------------------------------------


def run_wrk(
    port: int, paths: list[str], seconds: float, folder: Path, share: int = 1
) -> dict[str, float]:
    """wrk with 2 threads and 16 connections, or 1/share of them (one of several wrk)."""
    script = folder / f"paths-{port}.lua"
    listing = ",\n".join(json.dumps(p) for p in paths)
    script.write_text(
        f"local paths = {{{listing}}}\n"
        "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n"
    )
    command = [
        "wrk",
        f"-t{max(1, 2 // share)}",
        f"-c{CONNECTIONS // share}",
        f"-d{max(1, round(seconds))}s",
        "-s",
        str(script),
    ]
    result = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{result.stdout}{result.stderr}")
    return {"per_s": float(rate.group(1)), "errors": float(bad.group(1)) if bad else 0.0}


def run_python_client(
    port: int, paths: list[str], seconds: float, folder: Path, share: int = 1
) -> dict[str, float]:
    """The fallback generator, in its own process so it shares no GIL with this one."""
    spec = folder / f"paths-{port}.json"
    connections = CONNECTIONS // share
    spec.write_text(
        json.dumps({"port": port, "paths": paths, "seconds": seconds, "connections": connections})
    )
    result = subprocess.run(
        [sys.executable, "-m", "bench.broker_bench", "--loadgen", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


class _Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending GETs back to back, one in flight."""

    def __init__(self, requests: list[bytes], stats: dict[str, int], done: asyncio.Event) -> None:
        self.requests, self.stats, self.done = requests, stats, done
        self.buffer = bytearray()
        self.rng = random.Random(id(self))
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.send()

    def send(self) -> None:
        if self.transport is not None and not self.done.is_set():
            self.transport.write(self.requests[self.rng.randrange(len(self.requests))])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
            if length is None:
                raise RuntimeError("response without content-length")
            total = end + 4 + int(length.group(1))
            if len(self.buffer) < total:
                return
            ok = head[9:10] == b"2"
            self.stats["ok" if ok else "errors"] += 1
            del self.buffer[:total]
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.is_set():
            self.stats["dropped"] += 1


async def _loadgen(
    port: int, paths: list[str], seconds: float, connections: int
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    host = f"127.0.0.1:{port}"
    requests = [
        f"GET {quote(p, safe='/:?=&;')} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for p in paths
    ]
    stats = {"ok": 0, "errors": 0, "dropped": 0}
    done = asyncio.Event()
    transports = []
    for _ in range(connections):
        transport, _ = await loop.create_connection(
            lambda: _Client(requests, stats, done), "127.0.0.1", port
        )
        transports.append(transport)
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    done.set()
    elapsed = time.perf_counter() - started
    for transport in transports:
        transport.close()
    return {"per_s": stats["ok"] / elapsed, "errors": float(stats["errors"] + stats["dropped"])}


def loadgen_main(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    connections = spec.get("connections", CONNECTIONS)
    figures = asyncio.run(_loadgen(spec["port"], spec["paths"], spec["seconds"], connections))
    print(json.dumps(figures))


def hammer(
    generator: str, ports: Sequence[int], paths: list[str], seconds: float, folder: Path
) -> float:
    """Requests/s after a one-second warm-up; any non-2xx answer fails the run.

    With several ports (instances of one service) a generator per port runs at the same
    time with its share of the connections, and their rates add up.
    """
    run = run_wrk if generator == "wrk" else run_python_client

    def together(duration: float) -> list[dict[str, float]]:
        with ThreadPoolExecutor(len(ports)) as pool:
            return list(
                pool.map(lambda port: run(port, paths, duration, folder, len(ports)), ports)
            )

    together(1)
    figures = together(seconds)
    errors = sum(f["errors"] for f in figures)
    per_s = sum(f["per_s"] for f in figures)
    if errors or not all(f["per_s"] for f in figures):
        raise RuntimeError(f"{generator}: {errors:.0f} failed requests on {paths[0]}")
    return per_s


def response_size(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    size = len(conn.getresponse().read())
    conn.close()
    return size


# --- (c) query latency --------------------------------------------------------------------

QUERIES: dict[str, dict[str, str]] = {
    'q temperature>20;status=="ok"': {"q": 'temperature>20;status=="ok"', "limit": "100"},
    "near 2 km of [106.55,29.56]": {
        "georel": "near;maxDistance==2000",
        "geometry": "Point",
        "coordinates": "[106.55,29.56]",
        "limit": "100",
    },
    "near 20 km, type, page of 100": {
        "type": "WaterQualityObserved",
        "georel": "near;maxDistance==20000",
        "geometry": "Point",
        "coordinates": "[106.55,29.56]",
        "limit": "100",
    },
    "type=WaterQualityObserved": {"type": "WaterQualityObserved", "limit": "100"},
}


def latencies(port: int, params: dict[str, str], runs: int) -> dict[str, float]:
    """Sequential requests over one keep-alive connection: p50/p99 ms and the result size."""
    path = f"{API}/entities?{urlencode(params)}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    timings: list[float] = []
    body = b"[]"
    deadline = time.monotonic() + QUERY_DEADLINE_S
    while len(timings) < runs and time.monotonic() < deadline:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        timings.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {body[:300]!r}")
    conn.close()
    timings.sort()
    return {
        "p50_ms": timings[len(timings) // 2],
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "returned": len(json.loads(body)),
        "runs": len(timings),
    }


# --- the run ------------------------------------------------------------------------------


def pick_generator(choice: str) -> str:
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and shutil.which("wrk") is None:
        sys.exit("wrk is not on PATH (Debian: apt-get install wrk), or use --generator python")
    return choice


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else platform.machine()
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def run(
    args: argparse.Namespace, generator: str, folder: Path, pg: Schemas | None = None
) -> dict[str, Any]:
    """All four phases; on PostgreSQL when `pg` gives schemas, else on the embedded store."""
    r: dict[str, Any] = {"machine": machine(), "generator": generator, "targets": TARGETS}
    r["store"] = "postgresql" if pg else "sqlite"

    urls: dict[str, str] = {}

    def city(name: str) -> list[str]:
        """The server command for a fresh store called `name`."""
        if pg is not None:
            urls[name] = pg(name)
        return cityos(folder / name, urls.get(name))

    def loaded(name: str) -> None:
        """After a load: PostgreSQL's statistics, as autovacuum would gather them."""
        if name in urls:
            analyze(urls[name])

    n = args.entities
    if pg is None:
        print(f"(a) raw SQLite inserts of {n:,} rows ...", file=sys.stderr)
        r["raw_rows_per_s"] = raw_sqlite(n, folder)
    else:
        print(f"(a) PostgreSQL COPY and INSERT of {n:,} rows ...", file=sys.stderr)
        r.update(raw_postgres(pg("raw"), n))
    with server(city("city"), "/version") as (port, _):
        print(f"(a) batch upsert of {n:,} entities over HTTP ...", file=sys.stderr)
        r["entities"], r["upsert_per_s"] = load(port, n)
        r["upsert_ratio"] = r["upsert_per_s"] / r["raw_rows_per_s"]
        if pg is not None:
            r["insert_ratio"] = r["upsert_per_s"] / r["insert_rows_per_s"]
        loaded("city")
        rng = random.Random(1)
        ids = [f"{API}/entities/{entity_id(rng.randrange(r['entities']))}" for _ in range(2000)]
        print(f"(b) retrieve by id, {CONNECTIONS} connections, {generator} ...", file=sys.stderr)
        r["retrieve_per_s"] = hammer(generator, [port], ids, args.seconds, folder)
        r["entity_bytes"] = response_size(port, ids[0])
        print(f"(c) queries, {args.runs} runs each ...", file=sys.stderr)
        r["queries"] = {name: latencies(port, q, args.runs) for name, q in QUERIES.items()}
    with server(echo(), "/") as (port, _):
        print("(b) bare ASGI endpoint ...", file=sys.stderr)
        r["echo_per_s"] = hammer(generator, [port], ["/echo"], args.seconds, folder)
        r["echo_bytes"] = response_size(port, "/echo")
    r["retrieve_ratio"] = r["retrieve_per_s"] / r["echo_per_s"]
    with server(city("memory"), "/version") as (port, process):
        print(f"(d) peak memory with {args.memory_entities:,} entities ...", file=sys.stderr)
        r["memory_entities"], r["memory_load_per_s"] = load(port, args.memory_entities)
        r["peak_mb_after_load"] = peak_memory_mb(process.pid)
        loaded("memory")
        for params in QUERIES.values():
            latencies(port, params, 5)
        r["peak_mb"] = peak_memory_mb(process.pid)
    if pg is not None:
        r["machine"].update(server_version(pg.url))  # PostGIS: once a server has created it
    return r


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value < target
    return "ok" if ok else "MISSED"


def report(r: dict[str, Any]) -> None:
    m, t = r["machine"], r["targets"]
    print(f"\ncityos broker benchmark: {m['cpu']}, {m['cores']} cores, Python {m['python']},")
    on_pg = r.get("store") == "postgresql"
    if on_pg:
        store = f"server on PostgreSQL {m['postgresql']}, PostGIS {m['postgis']}"
    else:
        store = f"SQLite {m['sqlite']}"
    print(f"{store}; {r['entities']:,} entities, batches of {BATCH}\n")
    ceiling = "PostgreSQL COPY, same rows" if on_pg else "raw SQLite inserts"
    rows = [
        ("(a) batch upsert over HTTP", f"{r['upsert_per_s']:,.0f} entities/s", ""),
        (f"    {ceiling}", f"{r['raw_rows_per_s']:,.0f} rows/s", ""),
        (
            "    ratio",
            f"{r['upsert_ratio']:.2f}",
            f">= {t['upsert_ratio']}  {verdict(r['upsert_ratio'], t['upsert_ratio'])}",
        ),
    ]
    if on_pg:
        rows += [
            ("    PostgreSQL INSERT executemany", f"{r['insert_rows_per_s']:,.0f} rows/s", ""),
            ("    ratio to INSERT", f"{r['insert_ratio']:.2f}", "for context"),
        ]
    rows += [
        (
            f"(b) retrieve by id, {CONNECTIONS} conn",
            f"{r['retrieve_per_s']:,.0f} req/s",
            f"{r['generator']}, {r['entity_bytes']} B",
        ),
        ("    bare ASGI JSON endpoint", f"{r['echo_per_s']:,.0f} req/s", f"{r['echo_bytes']} B"),
        (
            "    ratio",
            f"{r['retrieve_ratio']:.2f}",
            f">= {t['retrieve_ratio']}  {verdict(r['retrieve_ratio'], t['retrieve_ratio'])}",
        ),
    ]
    for name, q in r["queries"].items():
        mark = verdict(q["p50_ms"], t["query_p50_ms"], higher_is_better=False)
        rows.append(
            (
                f"(c) {name}",
                f"p50 {q['p50_ms']:.1f} ms, p99 {q['p99_ms']:.1f} ms",
                f"{q['returned']} entities; p50 < {t['query_p50_ms']:.0f} ms  {mark}",
            )
        )
    rows += [
        (
            f"(d) peak memory, {r['memory_entities']:,} entities",
            f"{r['peak_mb']:.0f} MB",
            f"< {t['peak_mb']:.0f} MB  {verdict(r['peak_mb'], t['peak_mb'], False)}"
            + ("  (cityos only, not PostgreSQL)" if on_pg else ""),
        ),
        ("    of it after the load, before queries", f"{r['peak_mb_after_load']:.0f} MB", ""),
        ("    load rate", f"{r['memory_load_per_s']:,.0f} entities/s", ""),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>30}  {note}")


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--memory-entities", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10, help="per concurrency run")
    parser.add_argument("--runs", type=int, default=200, help="per query")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    parser.add_argument(
        "--store", help="a postgresql:// database: serve from PostgreSQL, in throw-away schemas"
    )
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.store and not args.store.startswith(("postgresql://", "postgres://")):
        parser.error("--store takes a postgresql:// URL")
    if args.loadgen:
        loadgen_main(args.loadgen)
        return
    if args.quick:
        args.entities, args.memory_entities, args.seconds, args.runs = 5000, 20_000, 2, 20
    generator = pick_generator(args.generator)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    folder = Path(tempfile.mkdtemp(prefix="cityos-bench-"))
    try:
        if args.store:
            with schemas(args.store) as pg:
                results = run(args, generator, folder, pg)
        else:
            results = run(args, generator, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(results)
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / ("results-postgresql.json" if args.store else "results.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
