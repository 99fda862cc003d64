"""`cityos migrate` of an embedded city into PostgreSQL, against a raw copy of its rows.

    .venv/bin/python -m bench.migrate_bench [--entities 10000] [--rows 100000] \\
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Builds a city on SQLite: `--entities` air-quality stations with a location and three
measured attributes (committed in batches, so with their first history instances), and
`--rows` hourly readings of ten sensors through the history's bulk path, over several
months. Then runs the real command, `cityos migrate --from DIR --to URL`, into a throw-away
schema and prints its output and wall time (Python start-up included), against the
machine's own limit: the same entity and history rows read from SQLite and COPied into
plain PostgreSQL tables without indexes, partitions or geometry.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.pg import schemas, server_version
from cityos.context.entity import Entity
from cityos.store.sqlite import SQLiteStore

JAN_1_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR_MS = 3_600_000
EXAMPLE = "https://example.org/"
STATIONS = 10
BATCH = 1000


def station(n: int) -> Entity:
    at = "2026-01-01T00:00:00Z"
    measured = {"type": "Property", "observedAt": at}
    return Entity(
        f"urn:ngsi-ld:AirQualityObserved:bench-{n}",
        [f"{EXAMPLE}AirQualityObserved"],
        {
            "https://uri.etsi.org/ngsi-ld/location": [
                {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [106 + n % 100 / 100, 29 + n / 1e5]},
                }
            ],
            f"{EXAMPLE}pm25": [{**measured, "value": n % 300}],
            f"{EXAMPLE}temperature": [{**measured, "value": 15 + n % 20}],
            f"{EXAMPLE}name": [{"type": "Property", "value": f"station {n}"}],
        },
        None,
        at,
        at,
    )


def build(path: Path, entities: int, rows: int) -> tuple[int, int]:
    """The city; (entities, history rows) it holds."""
    store = SQLiteStore(path, synchronous="OFF")
    for start in range(0, entities, BATCH):
        store.commit("city", [station(n) for n in range(start, min(start + BATCH, entities))])
    per_sensor = rows // STATIONS
    for n in range(STATIONS):
        points = [(JAN_1_MS + i * HOUR_MS, float(i % 24)) for i in range(per_sensor)]
        store.history.load_series("city", station(n), f"{EXAMPLE}temperature", points)
    counted = store.census()
    store.close()
    return sum(counted["entities"].values()), sum(counted["history instances"].values())


def raw_copy(path: Path, url: str) -> float:
    """Seconds to read the entity and history rows from SQLite and COPY them into plain
    tables: what moving these bytes costs on this machine, with nothing else done."""
    source = sqlite3.connect(path / "cityos.db")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(
            "CREATE TABLE raw_entities (tenant text, id text, created_at text, "
            "modified_at text, doc jsonb)"
        )
        conn.execute(
            "CREATE TABLE raw_history (id bigint, tenant text, entity text, attr text, "
            "dataset_id text, observed_ms bigint, modified_ms bigint, created_ms bigint, "
            "num double precision, value text, doc jsonb)"
        )
        for table, sql in (
            ("raw_entities", "SELECT tenant, id, created_at, modified_at, doc FROM entities"),
            ("raw_history", "SELECT * FROM attr_history"),
        ):
            with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in source.execute(sql):
                    copy.write_row(row)
    source.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000, help="bulk-loaded history rows")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    versions = server_version(args.postgres)
    with tempfile.TemporaryDirectory() as tmp, schemas(args.postgres) as make:
        city = Path(tmp) / "city"
        started = time.perf_counter()
        entities, rows = build(city, args.entities, args.rows)
        print(
            f"built {entities:,} entities, {rows:,} history rows in "
            f"{time.perf_counter() - started:.1f} s"
        )
        target = make("migrate")
        command = [sys.executable, "-m", "cityos.cli", "migrate", "--from", str(city)]
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "--to", target],
            capture_output=True,
            text=True,
            timeout=1800,
            env={**os.environ, "COLUMNS": "100"},
        )
        seconds = time.perf_counter() - started
        print(done.stdout, done.stderr, sep="")
        if done.returncode != 0:
            raise SystemExit(f"cityos migrate failed ({done.returncode})")
        limit = raw_copy(city, make("raw"))
    found = re.search(r"migrated in ([0-9.]+) s", done.stdout)
    moving = float(found[1]) if found else seconds
    print(f"PostgreSQL {versions['postgresql']}, PostGIS {versions['postgis']}")
    print(
        f"cityos migrate: {seconds:.1f} s wall (start-up and schema creation included), "
        f"{moving:.1f} s copying and counting {entities:,} entities + {rows:,} history rows"
    )
    print(f"raw read + COPY of the same rows: {limit:.1f} s; copying / raw = {moving / limit:.1f}")


if __name__ == "__main__":
    main()
