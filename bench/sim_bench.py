"""How big a simulated city the embedded store keeps up with in real time.

    .venv/bin/python -m bench.sim_bench [--seconds 30] [--scenario chongqing]

Starts `cityos serve` as the demo runs it (SQLite, synchronous=full), loads the scenario's
packs through the API, then steps the simulation as fast as the server accepts the
readings (HTTP device path, 8 requests in flight) for `--seconds`. Every reading updates
one entity, so the accepted rate is the entities updated per second sustained with every
pack running. Divided by the scenario's own rate (readings per simulated second at its
default size) it gives the largest speed, i.e. the largest multiple of the demo city the
store keeps up with in real time. The machine's own limit, for the ratio: single-row
commits per second into a bare SQLite table with the same journal and sync settings (each
reading is one commit). Memory: the server's peak resident size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.broker_bench import cityos, machine, peak_memory_mb, server
from cityos.sim.client import CityClient
from cityos.sim.publish import HttpPublisher
from cityos.sim.runner import APIKEY, Simulation
from cityos.sim.scenario import load_scenario

START = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)


def raw_commits(folder: Path, seconds: float = 5.0) -> float:
    """Single-row UPDATE commits per second, WAL and synchronous=FULL."""
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE entities (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
    db.executemany("INSERT INTO entities VALUES (?, '{}')", [(i,) for i in range(1000)])
    done, until = 0, time.monotonic() + seconds
    while time.monotonic() < until:
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE entities SET doc = ? WHERE id = ?", (f'{{"v": {done}}}', done % 1000))
        db.execute("COMMIT")
        done += 1
    db.close()
    return done / seconds


async def drive(port: int, simulation: Simulation, seconds: float) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        started = time.monotonic()
        report = await simulation.load(CityClient(http))
        load_s = time.monotonic() - started
        publisher = HttpPublisher(http, APIKEY)
        first = simulation.stats.steps
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            await simulation.step(publisher)
        elapsed = time.monotonic() - started
    steps = simulation.stats.steps - first
    simulated_s = steps * simulation.scenario.tick
    return {
        "entities": sum(report.entities.values()),
        "devices": report.devices,
        "rules": report.rules,
        "load_s": load_s,
        "readings": simulation.stats.readings,
        "accepted_per_s": simulation.stats.accepted / elapsed,
        "city_readings_per_sim_s": simulation.stats.readings / simulated_s,
        "refused": publisher.refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--scenario", default="chongqing")
    args = parser.parse_args()
    print(json.dumps(machine()))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = raw_commits(folder)
        simulation = Simulation(load_scenario(args.scenario), now=START)
        with server(cityos(folder / "data"), "/version") as (port, process):
            result = asyncio.run(drive(port, simulation, args.seconds))
            memory = peak_memory_mb(process.pid)
    realtime = result["accepted_per_s"] / result["city_readings_per_sim_s"]
    print(
        f"scenario {args.scenario}: {result['entities']:.0f} entities, "
        f"{result['devices']:.0f} devices, {result['rules']:.0f} rules, loaded in "
        f"{result['load_s']:.1f} s; it publishes {result['city_readings_per_sim_s']:.1f} "
        "readings per simulated second"
    )
    print(
        f"sustained: {result['accepted_per_s']:.0f} entity updates/s through /iot/json "
        f"({result['refused']:.0f} refused) = {realtime:.1f}x real time: the store keeps up "
        f"with a city {realtime:.1f} times the scenario's size"
    )
    print(
        f"machine limit: {raw:.0f} single-row SQLite commits/s; "
        f"ratio {result['accepted_per_s'] / raw:.2f}"
    )
    print(f"server peak memory: {memory:.0f} MB")


if __name__ == "__main__":
    main()
