"""The temporal API's aggregation against a plain SQL GROUP BY over the same rows.

    .venv/bin/python -m bench.temporal_bench [--points 5256000] [--sensors 10] [--repeat 3]

Loads one year of one-minute readings for 10 sensors (525,600 each, 5,256,000 rows) through
the history's bulk path (`SQLiteHistory.load_series`, one executemany per sensor), then
times the hourly `avg`: (a) through the API path, the `HistoryStore.query` call the HTTP
route makes, for one sensor and for all; (b) over HTTP (in-process ASGI client) for one
sensor; against (c) the same aggregate written by hand as one GROUP BY on `attr_history`.
Each timing is the best of `--repeat` runs. The target is API / SQL within 1.5x.
`--points` is the total row count, spread over the sensors, for a quicker run.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.context.entity import Entity
from cityos.context.jsonld import ContextResolver
from cityos.context.temporal import Aggregation, parse_interval
from cityos.store.base import EntityQuery
from cityos.store.history import TemporalQuery
from cityos.store.sqlite import SQLiteStore

YEAR_START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE_MS, HOUR_MS = 60_000, 3_600_000
CORE = ContextResolver().core
TYPE = CORE.expand("TemperatureSensor")
ATTR = CORE.expand("temperature")
TARGET = 1.5


def sensor_id(n: int) -> str:
    return f"urn:ngsi-ld:TemperatureSensor:bench-{n}"


def readings(count: int, seed: int) -> Iterator[tuple[int, float]]:
    """A daily cycle with noise, one reading a minute from the start of 2026."""
    rng = random.Random(seed)
    for i in range(count):
        minute_of_day = i % 1440
        yield (
            YEAR_START_MS + i * MINUTE_MS,
            round(12 + 8 * abs(minute_of_day - 720) / 720 + rng.gauss(0, 0.5), 2),
        )


def load(store: SQLiteStore, sensors: int, per_sensor: int) -> float:
    start = time.perf_counter()
    for n in range(sensors):
        entity = Entity(sensor_id(n), [TYPE], created_at=_iso(0), modified_at=_iso(0))
        store.history.load_series("", entity, ATTR, readings(per_sensor, n))
    return time.perf_counter() - start


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((YEAR_START_MS + ms) / 1000))


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=5_256_000, help="total rows")
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    per_sensor = args.points // args.sensors
    end_ms = YEAR_START_MS + per_sensor * MINUTE_MS
    with tempfile.TemporaryDirectory(prefix="cityos-temporal-bench-") as tmp:
        store = SQLiteStore(Path(tmp), synchronous="OFF")
        seconds = load(store, args.sensors, per_sensor)
        rows = per_sensor * args.sensors
        print(f"loaded {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
        interval = parse_interval(
            {"timerel": "between", "timeAt": _iso(0), "endTimeAt": _iso(end_ms - YEAR_START_MS)}
        )

        def api(ids: list[str] | None) -> int:
            query = TemporalQuery(
                entities=EntityQuery(types=[[TYPE]], ids=ids, limit=1000),
                interval=interval,
                aggregation=Aggregation(("avg",), HOUR_MS, "PT1H"),
            )
            result = store.history.query("", query)
            return sum(len(a.periods) for e in result.entities for a in e.aggregates.values())

        raw = sqlite3.connect(Path(tmp) / "cityos.db")

        def sql(entity: str | None) -> int:
            only = "AND entity = ?" if entity else ""
            found = raw.execute(
                "SELECT entity, attr, (observed_ms - ?) / ? AS b, avg(num) FROM attr_history "
                f"WHERE tenant = '' AND attr = ? {only} AND observed_ms >= ? AND observed_ms < ? "
                "GROUP BY entity, attr, b",
                [
                    YEAR_START_MS,
                    HOUR_MS,
                    ATTR,
                    *([entity] if entity else []),
                    YEAR_START_MS,
                    end_ms,
                ],
            ).fetchall()
            return len(found)

        with TestClient(create_app(store)) as client:

            def http_one() -> int:
                response = client.get(
                    f"/ngsi-ld/v1/temporal/entities/{sensor_id(0)}",
                    params={
                        "options": "aggregatedValues",
                        "aggrMethods": "avg",
                        "aggrPeriodDuration": "PT1H",
                        "timerel": "between",
                        "timeAt": _iso(0),
                        "endTimeAt": _iso(end_ms - YEAR_START_MS),
                    },
                )
                response.raise_for_status()
                return len(response.json()["temperature"]["avg"])

            figures = [
                ("one sensor", best(args.repeat, lambda: api([sensor_id(0)]))),
                ("one sensor, HTTP", best(args.repeat, http_one)),
                ("all sensors", best(args.repeat, lambda: api(None))),
            ]
        plain = {
            "one sensor": best(args.repeat, lambda: sql(sensor_id(0))),
            "all sensors": best(args.repeat, lambda: sql(None)),
        }
        raw.close()
        store.close()
    print(f"hourly avg over {rows:,} rows ({args.sensors} sensors x {per_sensor:,} minutes)")
    print(f"{'':20} {'API':>10} {'plain SQL':>10} {'ratio':>7} {'periods':>9}")
    for name, (api_s, periods) in figures:
        sql_s, sql_periods = plain[name.removesuffix(", HTTP")]
        assert periods == sql_periods, (name, periods, sql_periods)
        ratio = api_s / sql_s
        verdict = "met" if ratio <= TARGET else "missed"
        print(
            f"{name:20} {api_s * 1000:8.0f}ms {sql_s * 1000:8.0f}ms {ratio:6.2f}x {periods:9,}"
            f"  target <= {TARGET}x {verdict}"
        )


if __name__ == "__main__":
    main()
