"""Case statistics over 1,000,000 cases, in the database.

    .venv/bin/python -m bench.governance_bench [--cases 1000000] [--repeat 7]

Writes a year of synthetic case records (38 districts, 12 departments, 14 categories,
realistic stage times, some overdue, some reopened) through `Store.commit(cases=…)` in
batches (the store's own path, without the Case entities, whose cost is the broker's
benchmark), then times `CaseStore.statistics` for the groupings the dashboard asks for.
The figure is the median (p50) of `--repeat` runs; the target is under 200 ms on SQLite.
As the machine's own limit, it also times the plainest full scan SQLite can do over the
same table (`SELECT count(*), sum(reported_at) FROM cases`): the ratio says how close to a
bare scan statistics come.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cityos.governance.model import CaseRecord, Priority, Source, Stage, State
from cityos.store.cases import CaseWrite, StatsQuery
from cityos.store.sqlite import SQLiteStore

YEAR = datetime(2026, 1, 1, tzinfo=UTC)
STATES = [
    (State.CLOSED, 0.62),
    (State.REJECTED, 0.08),
    (State.MERGED, 0.04),
    (State.IN_PROGRESS, 0.1),
    (State.DISPATCHED, 0.06),
    (State.ACCEPTED, 0.05),
    (State.REPORTED, 0.05),
]
TARGET_MS = 200.0


def synthetic(n: int, rng: random.Random) -> CaseRecord:
    reported = YEAR + timedelta(seconds=rng.uniform(0, 365 * 86400))
    state = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
    due = {Stage.ACCEPT: reported + timedelta(hours=2)}
    done: dict[Stage, datetime] = {}
    t = reported
    for stage, allowed, progressed in (
        (Stage.ACCEPT, 2, state is not State.REPORTED),
        (Stage.DISPATCH, 4, state not in (State.REPORTED, State.ACCEPTED, State.REJECTED)),
        (Stage.RESOLVE, 72, state is State.CLOSED),
    ):
        due[stage] = t + timedelta(hours=allowed)
        if not progressed:
            break
        t += timedelta(hours=rng.expovariate(1 / (allowed * 0.7)))
        done[stage] = t
    closed = t + timedelta(hours=rng.uniform(1, 24)) if state is State.CLOSED else None
    return CaseRecord(
        id=f"urn:ngsi-ld:Case:bench:{n}",
        category=f"category-{rng.randrange(14)}",
        state=state,
        priority=rng.choice(list(Priority)),
        source=rng.choice(list(Source)),
        department=f"department-{rng.randrange(12)}",
        routing="bench",
        reported_at=reported,
        updated_at=closed or t,
        district=f"district-{rng.randrange(38)}",
        location=(106 + rng.random(), 29 + rng.random()),
        due=due,
        done=done,
        closed_at=closed,
        reopened=1 if closed and rng.random() < 0.03 else 0,
    )


def load(store: SQLiteStore, cases: int, batch: int = 20_000) -> float:
    rng = random.Random(7)
    started = time.perf_counter()
    for first in range(0, cases, batch):
        writes = [CaseWrite(synthetic(n, rng)) for n in range(first, min(cases, first + batch))]
        store.commit("", [], (), writes)
    return time.perf_counter() - started


def p50_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp), synchronous="OFF")
        seconds = load(store, args.cases)
        print(f"loaded {args.cases:,} case records in {seconds:.1f} s")
        now = YEAR + timedelta(days=366)
        month = (YEAR + timedelta(days=300), YEAR + timedelta(days=331))
        queries = {
            "whole year, by department": StatsQuery(now, ["department"]),
            "whole year, by district": StatsQuery(now, ["district"]),
            "whole year, by department and month": StatsQuery(now, ["department"], "month"),
            "one month, by department and district": StatsQuery(
                now, ["department", "district"], None, *month
            ),
            "whole year, one figure": StatsQuery(now),
        }
        with store.reading() as db:
            bare = p50_ms(
                lambda: db.execute("SELECT count(*), sum(reported_at) FROM cases").fetchone(),
                args.repeat,
            )
        print(f"bare full scan (count, sum): p50 {bare:.0f} ms")
        for name, query in queries.items():
            ms = p50_ms(lambda q=query: store.cases.statistics("", q), args.repeat)
            verdict = "met" if ms < TARGET_MS else "missed"
            print(
                f"statistics, {name}: p50 {ms:.0f} ms "
                f"({ms / bare:.1f}x the bare scan; target {TARGET_MS:.0f} ms: {verdict})"
            )
        store.close()


if __name__ == "__main__":
    main()
