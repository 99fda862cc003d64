"""Throughput with one and with two `cityos serve` instances sharing PostgreSQL and NATS.

    .venv/bin/python -m bench.instances_bench [--store postgresql://postgres@127.0.0.1/test]
        [--events nats://127.0.0.1:4222] [--setups sqlite:1:local,postgresql:2:nats,...]
        [--entities 50000] [--clients 4] [--seconds 10] [--notify-seconds 10] [--quick]

Each setup (store : instances : events) starts its instances on a fresh store (a throw-away
PostgreSQL schema, or a temporary SQLite directory the instances share) and, with NATS, a
JetStream stream of its own; then measures, with the clients spread round-robin over the
instances:

1. batch upsert: N entities in batches of 1,000 from several concurrent clients, entities/s
   over the wall-clock time; with NATS, then how long the shared consumers (notifier,
   rules) take to work off the changes the load put in the stream, before going on;
2. retrieve by id: requests/s with 16 connections in all (one generator per instance, each
   with its share), as in broker_bench (b);
3. notifications: 100 sensors, each watched by a subscription (created on the first
   instance) notifying a local receiver; 16 connections PATCH the sensors as fast as they
   are answered for a few seconds; updates/s accepted, notifications/s delivered (until
   the last one arrives) and receipt - modifiedAt.

During each phase it notes the cores kept busy by the instances, their PostgreSQL backends,
NATS, the benchmark's own clients and everything else (from /proc), hence the CPU time
each operation costs each party; and on PostgreSQL how many of the instances' connections
run or wait for the store's writer lock, and how much of the time one holds it
(pg_stat_activity and pg_locks, every 0.1 s): the figures that say where the limit is,
also on a machine busy with other work. Loopback only; every loop is bounded by a count
and a deadline; processes, schemas and streams are removed on the way out, also on
Ctrl-C. Results: a table on stdout and bench/out/instances.json.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import psycopg

from bench.broker_bench import (
    API,
    BATCH,
    CONNECTIONS,
    LOAD_DEADLINE_S,
    OUT,
    ROOT,
    batches,
    cityos,
    entity_id,
    hammer,
    machine,
    pick_generator,
    server,
    stop_on_sigterm,
)
from bench.notify_bench import prepare, send_updates
from bench.pg import schemas, server_version
from bench.raw_http import exchange
from cityos.events.nats_bus import NatsBus

CATCH_UP_DEADLINE_S = 900.0  # for the event consumers to work off the load's changes
DRAIN_DEADLINE_S = 180.0  # for notifications still on their way after the updates stopped
STALL_S = 30.0  # ... and give up earlier when none has arrived for this long
SENSORS = 100
DEFAULT_SETUPS = "sqlite:1:local,postgresql:1:local,postgresql:1:nats,postgresql:2:nats"


@dataclass(frozen=True)
class Setup:
    store: str  # sqlite | postgresql
    instances: int
    events: str  # local | nats

    @classmethod
    def parse(cls, text: str) -> Setup:
        store, instances, events = text.split(":")
        if store not in ("sqlite", "postgresql") or events not in ("local", "nats"):
            raise ValueError(text)
        if events == "local" and int(instances) != 1:
            raise ValueError(f"{text}: several instances need the nats events")
        return cls(store, int(instances), events)

    @property
    def name(self) -> str:
        return f"{self.store}:{self.instances}:{self.events}"


# --- what the machine does meanwhile ------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")
MINE = str(os.getpid())


Snapshot = tuple[float, dict[int, tuple[str, int, float]]]


def cpu_snapshot() -> Snapshot:
    """CPU seconds used so far by the whole machine, and by each process (name, parent,
    seconds)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    processes: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        after_comm = rest.split()  # state, ppid, …, utime (12th), stime, cutime, cstime
        # this process also with its children that ended (wrk, the python load generator)
        seconds = sum(int(v) for v in after_comm[11 : 15 if entry.name == MINE else 13]) / TICK
        processes[int(entry.name)] = (comm, int(after_comm[1]), seconds)
    return (sum(fields) - fields[3] - fields[4]) / TICK, processes


def cores_busy(
    before: Snapshot, after: Snapshot, wall: float, ours: set[int], our_pg: set[int]
) -> dict[str, float]:
    """Cores kept busy on average between two snapshots: the machine, the instances
    (`ours`), their PostgreSQL backends (`our_pg`), PostgreSQL's other processes (its
    background writers, and other clients'), NATS, this benchmark with the load generators
    and receiver it started, and the rest (whatever else runs on the machine). Processes
    that ended meanwhile are not counted."""
    used = {"cityos": 0.0, "postgres": 0.0, "postgres_other": 0.0, "nats": 0.0, "bench": 0.0}
    processes = after[1]

    def ours_too(pid: int) -> bool:
        for _ in range(64):  # up the tree to this process (bounded: pid 1 is its own root)
            if pid == os.getpid():
                return True
            if pid not in processes or pid <= 1:
                return False
            pid = processes[pid][1]
        return False

    for pid, (comm, _, seconds) in processes.items():
        delta = seconds - (before[1][pid][2] if pid in before[1] else 0.0)
        if pid in ours:
            used["cityos"] += delta
        elif pid in our_pg:
            used["postgres"] += delta
        elif comm == "postgres":
            used["postgres_other"] += delta
        elif comm == "nats-server":
            used["nats"] += delta
        elif ours_too(pid):
            used["bench"] += delta
    used["machine"] = after[0] - before[0]
    used["rest"] = used["machine"] - sum(v for k, v in used.items() if k != "machine")
    return {k: round(v / wall, 2) for k, v in used.items()}


class WriterLockSampler(threading.Thread):
    """Samples, every 0.1 s, the instances' PostgreSQL connections: how many are running a
    statement, how many of them wait for the store's writer lock (an advisory lock), and
    whether one of them holds it; notes the backends' process ids."""

    QUERY = """
        WITH ours AS (
            SELECT pid, state, wait_event FROM pg_stat_activity WHERE application_name LIKE %s
        )
        SELECT (SELECT count(*) FROM ours WHERE state = 'active'),
               (SELECT count(*) FROM ours WHERE wait_event = 'advisory'),
               (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                  AND pid IN (SELECT pid FROM ours)),
               (SELECT array_agg(pid) FROM ours)
    """

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.url, self.pattern = url, prefix.replace("_", r"\_") + "%"
        self.samples: list[tuple[int, int, int]] = []
        self.pids: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            while not self.done.wait(0.1) and len(self.samples) < 100_000:
                row = conn.execute(self.QUERY, [self.pattern]).fetchone()
                if row:
                    self.samples.append((int(row[0]), int(row[1]), int(row[2])))
                    self.pids.update(row[3] or ())

    def figures(self) -> dict[str, float]:
        count = max(1, len(self.samples))
        return {
            "pg_active": round(sum(a for a, _, _ in self.samples) / count, 2),
            "pg_waiting_writer_lock": round(sum(w for _, w, _ in self.samples) / count, 2),
            "writer_lock_held": round(sum(1 for _, _, h in self.samples if h) / count, 2),
        }


@contextmanager
def observed(pids: Sequence[int], pg: tuple[str, str] | None) -> Iterator[dict[str, Any]]:
    """Fills the yielded dict, when the phase ends, with the cores each party kept busy on
    average (CPU seconds / wall seconds) and, on PostgreSQL, the writer-lock figures."""
    sampler = WriterLockSampler(*pg) if pg else None
    if sampler:
        sampler.start()
    before, started = cpu_snapshot(), time.monotonic()
    figures: dict[str, Any] = {}
    try:
        yield figures
    finally:
        after, wall = cpu_snapshot(), time.monotonic() - started
        if sampler:
            sampler.done.set()
            sampler.join(timeout=10)
            figures.update(sampler.figures())
        figures["cores"] = cores_busy(
            before, after, wall, set(pids), sampler.pids if sampler else set()
        )
        figures["wall_s"] = round(wall, 2)


def cost(phase: dict[str, Any], operations: float) -> None:
    """CPU milliseconds per operation of the phase, of the instances, their PostgreSQL
    backends and NATS: what a machine added to the cluster has to supply; and for how long
    an operation holds the store's writer lock, which no added machine shortens."""
    seconds = {k: phase["cores"][k] * phase["wall_s"] for k in ("cityos", "postgres", "nats")}
    if "writer_lock_held" in phase:
        seconds["writer_lock"] = phase["writer_lock_held"] * phase["wall_s"]
    phase["ms_per_op"] = {k: round(v / max(operations, 1) * 1000, 3) for k, v in seconds.items()}


# --- the phases ---------------------------------------------------------------------------


async def _upsert(ports: Sequence[int], bodies: list[tuple[int, bytes]], clients: int) -> int:
    """Post every batch once, `clients` at a time spread over the ports; entities loaded."""
    pending = iter(bodies)  # shared by the clients of one event loop
    loaded = [0]
    deadline = time.monotonic() + LOAD_DEADLINE_S
    path = f"{API}/entityOperations/upsert"

    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for size, body in pending:
                status = await asyncio.wait_for(
                    exchange(reader, writer, "POST", path, "application/json", body), 300
                )
                if status not in (201, 204):
                    raise RuntimeError(f"upsert on port {port} answered {status}")
                loaded[0] += size
                if time.monotonic() > deadline:
                    print(f"  (load stopped at {LOAD_DEADLINE_S:.0f} s)", file=sys.stderr)
                    break
        finally:
            writer.close()

    await asyncio.gather(*(client(ports[n % len(ports)]) for n in range(clients)))
    return loaded[0]


def upsert(ports: Sequence[int], count: int, clients: int) -> tuple[int, float]:
    """(entities loaded, entities/s over the wall clock); bodies are encoded beforehand."""
    bodies = [(len(batch), json.dumps(batch).encode()) for batch in batches(count)]
    started = time.perf_counter()
    loaded = asyncio.run(_upsert(ports, bodies, clients))
    return loaded, loaded / (time.perf_counter() - started)


def _get(port: int, path: str) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    body: dict[str, Any] = json.loads(conn.getresponse().read())
    conn.close()
    return body


def notifications(
    ports: Sequence[int], receiver: int, seconds: float, max_updates: int
) -> dict[str, Any]:
    """Closed-loop PATCHes for `seconds`, then wait for their notifications to arrive."""
    prepare(ports[0], receiver, SENSORS)
    started = time.time()
    accepted = asyncio.run(
        send_updates(ports, [0.0] * max_updates, SENSORS, until=started + seconds)
    )
    sent_s = time.time() - started
    deadline, count, last_change = time.monotonic() + DRAIN_DEADLINE_S, -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last_change < STALL_S:
        now = _get(receiver, "/count")
        if now["notifications"] != count:
            count, last_change = now["notifications"], time.monotonic()
        if count >= accepted:
            break
        time.sleep(0.25)
    stats = _get(receiver, "/stats")
    received = stats["notifications"]
    ordered = sorted(stats["latencies"]) or [float("nan")]
    last_at = _get(receiver, "/count")["last_at"]
    return {
        "updates_accepted": accepted,
        "updates_per_s": round(accepted / sent_s, 1),
        "notifications_received": received,
        "notifications_per_s": round(received / max(last_at - started, 1e-9), 1),
        "drain_s": round(max(0.0, last_at - started - sent_s), 1),
        "latency_p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "latency_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


# --- one setup ----------------------------------------------------------------------------


@contextmanager
def nats_stream(base: str) -> Iterator[tuple[str, str]]:
    """(an events URL, its stream): a JetStream stream and subject prefix of its own,
    deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    try:
        yield f"{base}?stream=BENCH_{tag}&prefix=bench{tag}", f"BENCH_{tag}"
    finally:
        asyncio.run(NatsBus(base, stream=f"BENCH_{tag}").delete())


async def _caught_up(base: str, stream: str) -> float:
    """Seconds until no consumer of `stream` has a change pending or unacknowledged (seen
    twice, 0.5 s apart); NaN at the deadline."""
    client = await nats.connect(base)
    try:
        started, was_zero = time.monotonic(), False
        while time.monotonic() - started < CATCH_UP_DEADLINE_S:
            infos = await client.jetstream().consumers_info(stream)
            pending = sum((i.num_pending or 0) + (i.num_ack_pending or 0) for i in infos)
            if pending == 0 and was_zero:
                return time.monotonic() - started - 0.5
            was_zero = pending == 0
            await asyncio.sleep(0.5)
        return math.nan
    finally:
        await client.close()


def run_setup(
    setup: Setup, args: argparse.Namespace, generator: str, folder: Path
) -> dict[str, Any]:
    r: dict[str, Any] = {"setup": setup.name, "load_before": round(os.getloadavg()[0], 2)}
    with ExitStack() as stack:
        store, probe = None, None
        if setup.store == "postgresql":
            pg = stack.enter_context(schemas(args.store))
            store, probe = pg("city"), (args.store, pg.prefix)
        events, stream = None, None
        if setup.events == "nats":
            events, stream = stack.enter_context(nats_stream(args.events))
        data = folder / setup.name.replace(":", "-")
        receiver, _ = stack.enter_context(
            server([sys.executable, "-m", "bench.notify_receiver"], "/count")
        )
        instances = [
            stack.enter_context(server(cityos(data, store, events), "/version"))
            for _ in range(setup.instances)
        ]
        ports, pids = [port for port, _ in instances], [p.pid for _, p in instances]

        print(f"[{setup.name}] batch upsert, {args.clients} clients ...", file=sys.stderr)
        with observed(pids, probe) as phase:
            r["entities"], phase["per_s"] = upsert(ports, args.entities, args.clients)
        cost(phase, r["entities"])
        r["upsert"] = phase
        if stream is not None:
            print(f"[{setup.name}] events catching up ...", file=sys.stderr)
            with observed(pids, probe) as phase:
                phase["seconds"] = round(asyncio.run(_caught_up(args.events, stream)), 1)
            r["catch_up"] = phase

        rng = random.Random(1)
        ids = [f"{API}/entities/{entity_id(rng.randrange(r['entities']))}" for _ in range(2000)]
        print(f"[{setup.name}] retrieve by id, {generator} ...", file=sys.stderr)
        with observed(pids, probe) as phase:
            phase["per_s"] = hammer(generator, ports, ids, args.seconds, folder)
        cost(phase, phase["per_s"] * phase["wall_s"])  # the warm-up runs at about that rate
        r["retrieve"] = phase

        print(f"[{setup.name}] PATCH with {SENSORS} subscriptions ...", file=sys.stderr)
        with observed(pids, probe) as phase:
            phase.update(notifications(ports, receiver, args.notify_seconds, args.max_updates))
        cost(phase, phase["updates_accepted"])
        r["notify"] = phase
    return r


# --- the run ------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> None:
    m, runs = results["machine"], results["runs"]
    print(f"\ncityos instances benchmark: {m['cpu']}, {m['cores']} cores, Python {m['python']},")
    print(f"PostgreSQL {m.get('postgresql', '-')}, {results['generator']} for retrieve;")
    print(f"{runs[0]['entities']:,} entities by {results['clients']} clients\n")

    def cores(phase: dict[str, Any]) -> str:
        c = phase["cores"]
        other = c["postgres_other"] + c["rest"]
        return "/".join(
            f"{v:.1f}" for v in (c["cityos"], c["postgres"], c["nats"], c["bench"], other)
        )

    def lock(phase: dict[str, Any]) -> str:
        if "pg_active" not in phase:
            return "-"
        held = f"{phase['writer_lock_held']:.0%}, {phase['ms_per_op']['writer_lock']:.2f} ms"
        return f"{phase['pg_active']:.1f} / {phase['pg_waiting_writer_lock']:.1f} / {held}"

    def per_op(phase: dict[str, Any]) -> str:
        ms = phase["ms_per_op"]
        return f"{ms['cityos']:.2f}/{ms['postgres']:.2f}/{ms['nats']:.2f}"

    rows: list[tuple[str, Any]] = [
        ("batch upsert, entities/s", lambda r: f"{r['upsert']['per_s']:,.0f}"),
        ("  cores: cityos/pg/nats/bench/other", lambda r: cores(r["upsert"])),
        ("  CPU ms/entity: cityos/pg/nats", lambda r: per_op(r["upsert"])),
        ("  pg active/waiting, lock held/op", lambda r: lock(r["upsert"])),
        (
            "events caught up after, s",
            lambda r: f"{r['catch_up']['seconds']}" if "catch_up" in r else "-",
        ),
        (f"retrieve by id, {CONNECTIONS} conn, req/s", lambda r: f"{r['retrieve']['per_s']:,.0f}"),
        ("  cores: cityos/pg/nats/bench/other", lambda r: cores(r["retrieve"])),
        ("  CPU ms/request: cityos/pg/nats", lambda r: per_op(r["retrieve"])),
        ("PATCH accepted, updates/s", lambda r: f"{r['notify']['updates_per_s']:,.0f}"),
        ("notifications delivered /s", lambda r: f"{r['notify']['notifications_per_s']:,.0f}"),
        (
            "  received / accepted",
            lambda r: f"{r['notify']['notifications_received']}/{r['notify']['updates_accepted']}",
        ),
        (
            "  latency p50 / p99 ms",
            lambda r: f"{r['notify']['latency_p50_ms']:,.0f} / {r['notify']['latency_p99_ms']:,}",
        ),
        ("  cores: cityos/pg/nats/bench/other", lambda r: cores(r["notify"])),
        ("  CPU ms/update: cityos/pg/nats", lambda r: per_op(r["notify"])),
        ("  pg active/waiting, lock held/op", lambda r: lock(r["notify"])),
        ("load average before", lambda r: f"{r['load_before']:.2f}"),
    ]
    width = max(len(name) for name, _ in rows)
    columns = [max(20, len(r["setup"])) for r in runs]
    print(" " * width + "".join(f"  {r['setup']:>{w}}" for r, w in zip(runs, columns, strict=True)))
    for name, cell in rows:
        print(
            f"{name:<{width}}"
            + "".join(f"  {cell(r):>{w}}" for r, w in zip(runs, columns, strict=True))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", default="nats://127.0.0.1:4222")
    parser.add_argument("--setups", default=DEFAULT_SETUPS, help="store:instances:events,…")
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent upsert clients")
    parser.add_argument("--seconds", type=float, default=10, help="of retrieve by id")
    parser.add_argument("--notify-seconds", type=float, default=10, help="of PATCHes")
    parser.add_argument("--max-updates", type=int, default=100_000, help="PATCHes at most")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.entities, args.seconds, args.notify_seconds = 5000, 2, 2
    try:
        setups = [Setup.parse(text) for text in args.setups.split(",")]
    except ValueError as error:
        parser.error(f"--setups: {error} (store:instances:events, e.g. postgresql:2:nats)")
    generator = pick_generator(args.generator)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    results: dict[str, Any] = {"machine": machine(), "generator": generator}
    results |= {"clients": args.clients, "batch": BATCH, "runs": []}
    folder = Path(tempfile.mkdtemp(prefix="cityos-instances-"))
    try:
        for setup in setups:
            results["runs"].append(run_setup(setup, args, generator, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if any(s.store == "postgresql" for s in setups):
        results["machine"].update(server_version(args.store))
    report(results)
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "instances.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
