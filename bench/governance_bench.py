"""Case statistics over 1,000,000 cases, in the database.

    .venv/bin/python -m bench.governance_bench [--cases 1000000] [--repeat 7]

Writes a year of synthetic case records through `Store.commit(cases=…)` in batches (the
store's own path, without the Case entities, whose cost is the broker's benchmark), then
times `CaseStore.statistics` for the groupings the dashboard asks for, and for a few it
answers by a full scan instead of the rollup (marked "full scan").

The data is shaped like a city's, because the rollup's size and the open backlog (which
statistics still read case by case) depend on it: 38 districts; 14 categories, each routed
to its department as the routing rules do (two of them to the district's street office);
each case follows the lifecycle with realistic stage times up to "now" (the year's end), so
cases older than a month are almost all finished (2 % stay stuck) and the recent ones are
still being worked on, a few per cent of the whole; open cases past a deadline are flagged
overdue, 3 % of closed ones were reopened.

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
from cityos.store.sqlite_cases import rollup_answers

YEAR = datetime(2026, 1, 1, tzinfo=UTC)
NOW = YEAR + timedelta(days=365)
TARGET_MS = 200.0
DISTRICTS = 38
CATEGORIES = 14
STREET_OFFICE_CATEGORIES = (0, 1)
"""Routed to the district's street office (one of 3), not to a city department."""
FATES = [(State.CLOSED, 0.85), (State.REJECTED, 0.09), (State.MERGED, 0.04), (None, 0.02)]
"""How a case ends; None: stuck, never finished."""
SOURCES = [(Source.CITIZEN, 0.7), (Source.INSPECTOR, 0.2), (Source.SENSOR, 0.07)]
SOURCES.append((Source.RULE, 0.03))


def _department(category: int, district: int) -> str:
    if category in STREET_OFFICE_CATEGORIES:
        return f"street-office-{district % 3}"
    return f"department-{category % 9}"


def synthetic(n: int, rng: random.Random) -> CaseRecord:
    """One case, taken along its lifecycle until it ends or `NOW` comes."""
    reported = YEAR + timedelta(seconds=rng.uniform(0, 365 * 86400))
    category, district = rng.randrange(CATEGORIES), rng.randrange(DISTRICTS)
    fate = rng.choices([f for f, _ in FATES], [w for _, w in FATES])[0]
    state, t = State.REPORTED, reported
    due = {Stage.ACCEPT: reported + timedelta(hours=2)}
    done: dict[Stage, datetime] = {}
    steps = [(Stage.ACCEPT, 2.0, State.ACCEPTED), (Stage.DISPATCH, 4.0, State.DISPATCHED)]
    steps.append((Stage.RESOLVE, 72.0, State.VERIFIED))
    if fate in (State.REJECTED, State.MERGED):
        steps = [(Stage.ACCEPT, 2.0, fate)]
    stuck_at = rng.randrange(len(steps)) if fate is None else len(steps)
    for i, (stage, allowed, reached) in enumerate(steps):
        due[stage] = t + timedelta(hours=allowed)
        end = t + timedelta(hours=rng.expovariate(1 / (allowed * 0.7)))
        if i == stuck_at or end > NOW:
            break
        t, state, done[stage] = end, reached, end
    closed = None
    if state is State.VERIFIED:
        end = t + timedelta(hours=rng.uniform(1, 24))
        if end <= NOW:
            t, state, closed = end, State.CLOSED, end
    if state is State.DISPATCHED and rng.random() < 0.5:
        state = State.IN_PROGRESS
    stage_now = {State.REPORTED: Stage.ACCEPT, State.ACCEPTED: Stage.DISPATCH}.get(state)
    if state in (State.DISPATCHED, State.IN_PROGRESS):
        stage_now = Stage.RESOLVE
    overdue = stage_now if stage_now and due[stage_now] < NOW else None
    return CaseRecord(
        id=f"urn:ngsi-ld:Case:bench:{n}",
        category=f"category-{category}",
        state=state,
        priority=rng.choice(list(Priority)),
        source=rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0],
        department=_department(category, district),
        routing="bench",
        reported_at=reported,
        updated_at=t,
        district=f"district-{district}",
        location=(106 + rng.random(), 29 + rng.random()),
        due=due,
        done=done,
        closed_at=closed,
        overdue=overdue,
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
        november = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
        last_30_days = (NOW - timedelta(days=30), NOW)
        queries = {
            "whole year, by department": StatsQuery(NOW, ["department"]),
            "whole year, by district": StatsQuery(NOW, ["district"]),
            "whole year, by category": StatsQuery(NOW, ["category"]),
            "whole year, by department and month": StatsQuery(NOW, ["department"], "month"),
            "November, by department and district": StatsQuery(
                NOW, ["department", "district"], None, *november
            ),
            "whole year, one figure": StatsQuery(NOW),
            "last 30 days, by department": StatsQuery(NOW, ["department"], None, *last_30_days),
            "whole year, by priority": StatsQuery(NOW, ["priority"]),
            "whole year, by district and week": StatsQuery(NOW, ["district"], "week"),
        }
        with store.reading() as db:
            bare = p50_ms(
                lambda: db.execute("SELECT count(*), sum(reported_at) FROM cases").fetchone(),
                args.repeat,
            )
            backlog = db.execute(
                "SELECT avg(state NOT IN ('closed', 'rejected', 'merged')) FROM cases"
            ).fetchone()[0]
        megabytes = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
        print(f"backlog (open cases): {backlog:.1%}; database {megabytes:,.0f} MB")
        print(f"bare full scan (count, sum): p50 {bare:.0f} ms")
        for name, query in queries.items():
            ms = p50_ms(lambda q=query: store.cases.statistics("", q), args.repeat)
            verdict = "met" if ms < TARGET_MS else "missed"
            path = "rollup" if rollup_answers(query) else "full scan"
            print(
                f"statistics, {name} ({path}): p50 {ms:.0f} ms "
                f"({ms / bare:.1f}x the bare scan; target {TARGET_MS:.0f} ms: {verdict})"
            )
        store.close()


if __name__ == "__main__":
    main()
