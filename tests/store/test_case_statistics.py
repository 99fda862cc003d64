"""Statistics from the rollup equal statistics by a full scan, and both equal a recount;
PostgreSQL's statistics (SQL of its own) equal the embedded store's.

Case records are written as governance writes them (`Store.commit` with `CaseWrite`s),
rewritten across states (closed, reopened, flagged overdue, rerouted), in batches that may
hold the same case twice; then every grouping and window the rollup answers is compared
with the full scan, which stays the reference. Report times sit on and just around month
boundaries, where a bucketed rollup and a per-case scan could disagree.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityos.governance.model import (
    FINISHED,
    CaseFilter,
    CaseRecord,
    Priority,
    Source,
    Stage,
    State,
    current_stage,
)
from cityos.store.cases import CaseWrite, StatsQuery, StatsRow
from cityos.store.sqlite import SQLiteStore
from cityos.store.sqlite_cases import rollup_answers
from tests.stores import StoreFactory

NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, tzinfo=UTC)
JANUARY = datetime(2027, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store(store_factory: StoreFactory) -> Any:
    """A store of each backend (the rollup itself is the embedded store's)."""
    return store_factory()


def case(
    n: int,
    reported: datetime,
    state: State = State.REPORTED,
    *,
    department: str = "roads",
    district: str | None = "Yuzhong",
    category: str = "pothole",
    closed_after: timedelta | None = None,
    done: dict[Stage, timedelta] | None = None,
    due: dict[Stage, timedelta] | None = None,
    reopened: int = 0,
) -> CaseRecord:
    """A record; times are given after the report."""
    return CaseRecord(
        id=f"urn:ngsi-ld:Case:{n}",
        category=category,
        state=state,
        priority=Priority.NORMAL,
        source=Source.CITIZEN,
        department=department,
        routing="test",
        reported_at=reported,
        updated_at=reported,
        district=district,
        due={s: reported + d for s, d in (due or {}).items()},
        done={s: reported + d for s, d in (done or {}).items()},
        closed_at=reported + closed_after if closed_after is not None else None,
        reopened=reopened,
        overdue=None,
    )


def write(store: Any, *records: CaseRecord, tenant: str = "") -> None:
    store.commit(tenant, [], (), [CaseWrite(r) for r in records])


def recount(
    records: list[CaseRecord], now: datetime, key: Callable[[CaseRecord], str | None]
) -> dict[str | None, StatsRow]:
    """The statistics, worked out in Python from the records as last written."""
    groups: dict[str | None, list[CaseRecord]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)

    def rank(values: list[float], p: float) -> float | None:
        return sorted(values)[math.ceil(p * len(values)) - 1] if values else None

    out = {}
    for k, group in groups.items():
        on_time: dict[Stage, float | None] = {}
        for stage in Stage:
            judged = [
                r for r in group if stage in r.done or (stage in r.due and r.due[stage] < now)
            ]
            good = [r for r in judged if stage in r.done and r.done[stage] <= r.due[stage]]
            on_time[stage] = len(good) / len(judged) if judged else None
        times = [
            (r.closed_at - r.reported_at).total_seconds()
            for r in group
            if r.state is State.CLOSED and r.closed_at
        ]
        ever = [r for r in group if r.closed_at is not None]
        out[k] = StatsRow(
            key={},
            received=len(group),
            closed=sum(r.state is State.CLOSED for r in group),
            backlog=sum(r.state not in FINISHED for r in group),
            on_time=on_time,
            median_close_s=rank(times, 0.5),
            p90_close_s=rank(times, 0.9),
            reopen_rate=sum(r.reopened > 0 for r in ever) / len(ever) if ever else None,
        )
    return out


def same(rows: list[StatsRow], expected: dict[str | None, StatsRow], name: str) -> None:
    assert {r.key[name] for r in rows} == set(expected)
    for row in rows:
        want = expected[row.key[name]]
        assert (row.received, row.closed, row.backlog) == (
            want.received,
            want.closed,
            want.backlog,
        )
        assert row.on_time == pytest.approx(want.on_time)
        assert (row.median_close_s, row.p90_close_s) == pytest.approx(
            (want.median_close_s, want.p90_close_s)
        )
        assert row.reopen_rate == pytest.approx(want.reopen_rate)


def test_rewrites_move_a_case_between_groups_and_states(store: Any) -> None:
    at = NOVEMBER + timedelta(days=3)
    on_time = {Stage.ACCEPT: HOUR, Stage.DISPATCH: 2 * HOUR, Stage.RESOLVE: 5 * HOUR}
    deadlines = {Stage.ACCEPT: 2 * HOUR, Stage.DISPATCH: 4 * HOUR, Stage.RESOLVE: 3 * HOUR}
    a = case(1, at, State.CLOSED, closed_after=6 * HOUR, done=on_time, due=deadlines)
    b = case(2, at, State.CLOSED, closed_after=2 * HOUR, done=on_time, due=deadlines)
    c = case(3, at, State.REPORTED, due={Stage.ACCEPT: 2 * HOUR}, department="parks")
    d = case(4, at, State.REJECTED, done={Stage.ACCEPT: HOUR}, due={Stage.ACCEPT: 2 * HOUR})
    write(store, a, b, c, d)
    write(store, case(9, at), tenant="elsewhere")  # another tenant's case counts nowhere here
    reopened = case(1, at, State.DISPATCHED, closed_after=6 * HOUR, reopened=1)
    reopened.due = {s: at + t for s, t in deadlines.items()}
    reopened.done = {s: at + t for s, t in on_time.items() if s is not Stage.RESOLVE}
    rerouted = case(3, at, State.ACCEPTED, department="roads", done={Stage.ACCEPT: 3 * HOUR})
    rerouted.due = {Stage.ACCEPT: at + 2 * HOUR, Stage.DISPATCH: at + 7 * HOUR}
    write(store, reopened, case(2, at), b, rerouted)  # case 2 twice: the last one holds
    now = at + 6 * HOUR
    latest = [reopened, b, rerouted, d]
    for query in (StatsQuery(now, ["department"]), StatsQuery(now, ["department"], None, NOVEMBER)):
        assert rollup_answers(query)
        rows = store.cases.statistics("", query)
        same(rows, recount(latest, now, lambda r: r.department), "department")
        assert rows == store.cases.scanned_statistics("", query)
    [roads] = store.cases.statistics("", StatsQuery(now, ["department"]))
    assert (roads.received, roads.closed, roads.backlog) == (4, 1, 2)
    # accept: 3 was late; dispatch: 3's deadline is still ahead; resolve: 1 reopened past
    # its deadline, 2 resolved late.
    assert roads.on_time == {Stage.ACCEPT: 0.75, Stage.DISPATCH: 1.0, Stage.RESOLVE: 0.0}
    assert roads.median_close_s == roads.p90_close_s == 2 * HOUR.total_seconds()
    assert roads.reopen_rate == 0.5
    assert store.cases.statistics("", StatsQuery(now, ["department"], None, DECEMBER)) == []


def test_the_rollup_is_built_for_a_database_made_before_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path, synchronous="OFF")
    at = DECEMBER - timedelta(microseconds=300)  # strftime would round this into December
    write(
        store,
        case(1, at, State.CLOSED, closed_after=HOUR, district=None),
        case(2, DECEMBER, State.CLOSED, closed_after=3 * HOUR, reopened=1),
        case(3, DECEMBER + HOUR, due={Stage.ACCEPT: HOUR}),
    )
    queries = [StatsQuery(JANUARY, ["department"], "month"), StatsQuery(JANUARY, ["district"])]
    expected = [store.cases.scanned_statistics("", query) for query in queries]
    assert [(r.key["period"], r.received) for r in expected[0]] == [("2026-11", 1), ("2026-12", 2)]
    store.close()
    db = sqlite3.connect(tmp_path / "cityos.db")  # undo what the statistics added
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' "
        "AND (name LIKE 'cases_close_%' OR name LIKE 'cases_pending_%')"
    ).fetchall():
        db.execute(f"DROP INDEX {name}")
    db.execute("DROP TABLE case_stats")
    db.execute("ALTER TABLE cases DROP COLUMN month")
    db.execute("ALTER TABLE cases DROP COLUMN close_s")
    db.commit()
    db.close()
    store = SQLiteStore(tmp_path, synchronous="OFF")
    assert all(rollup_answers(query) for query in queries)
    assert [store.cases.statistics("", query) for query in queries] == expected
    store.close()


# -- any records, any rewrites --------------------------------------------------------------

BOUNDARIES = [NOVEMBER, DECEMBER, JANUARY]
OFFSETS = [
    timedelta(0),
    timedelta(microseconds=-300),
    timedelta(microseconds=-1),
    timedelta(seconds=-1),
    timedelta(hours=5),
    timedelta(days=12, minutes=7),
]
MOMENTS = st.builds(lambda b, o: b + o, st.sampled_from(BOUNDARIES), st.sampled_from(OFFSETS))
DELAYS = st.sampled_from([HOUR * h for h in (0.5, 1, 2, 2, 3, 30, 100)])
STAGE_TIMES = st.dictionaries(st.sampled_from(list(Stage)), DELAYS, max_size=3)


@st.composite
def records(draw: st.DrawFn) -> CaseRecord:
    state = draw(st.sampled_from(list(State)))
    closes = state is State.CLOSED or draw(st.booleans())  # reopened cases keep closed_at
    record = case(
        draw(st.integers(0, 7)),
        draw(MOMENTS),
        state,
        department=draw(st.sampled_from(["roads", "parks", "water"])),
        district=draw(st.sampled_from(["Yuzhong", "Wanzhou", None])),
        category=draw(st.sampled_from(["pothole", "illegal-dumping", "leak"])),
        closed_after=draw(DELAYS) if closes else None,
        done=draw(STAGE_TIMES),
        due=draw(STAGE_TIMES),
        reopened=draw(st.sampled_from([0, 0, 1, 2])),
    )
    stage = current_stage(state)
    if stage is not None and draw(st.booleans()):
        record.overdue = stage
    return record


WINDOWS = [
    (None, None),
    (NOVEMBER, None),
    (None, DECEMBER),
    (NOVEMBER, DECEMBER),
    (DECEMBER, JANUARY),
]
GROUPINGS: list[tuple[list[str], str | None]] = [
    ([], None),
    (["department"], None),
    (["district"], None),
    (["category"], None),
    (["department", "district"], None),
    (["district", "department"], None),
    (["department"], "month"),
    ([], "month"),
    ([], "year"),
    (["department"], "year"),
]
FILTERS = [
    CaseFilter(limit=0),
    CaseFilter(limit=0, categories=["pothole", "leak"]),
    CaseFilter(limit=0, departments=["roads"], districts=["Wanzhou"]),
    CaseFilter(limit=0, since=NOVEMBER, until=JANUARY),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(records(), min_size=1, max_size=4), min_size=1, max_size=8),
    now=MOMENTS,
)
def test_the_rollup_equals_the_full_scan(batches: list[list[CaseRecord]], now: datetime) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(tmp, synchronous="OFF")
        for batch in batches:
            write(store, *batch)
        for group_by, period in GROUPINGS:
            for since, until in WINDOWS:
                for selection in FILTERS:
                    query = StatsQuery(now, group_by, period, since, until, selection)
                    assert rollup_answers(query), query
                    fast = store.cases.statistics("", query)
                    assert fast == store.cases.scanned_statistics("", query), query
        store.close()


@pytest.mark.parametrize(
    "query",
    [
        StatsQuery(JANUARY, ["priority"]),
        StatsQuery(JANUARY, ["department"], "week"),
        StatsQuery(JANUARY, ["district"], "month"),
        StatsQuery(JANUARY, [], None, NOVEMBER + HOUR),
        StatsQuery(JANUARY, [], filter=CaseFilter(limit=0, overdue=True)),
        StatsQuery(JANUARY, [], filter=CaseFilter(limit=0, states=[State.CLOSED])),
    ],
)
def test_what_the_rollup_cannot_answer_is_scanned(store: Any, query: StatsQuery) -> None:
    write(store, case(1, NOVEMBER, State.CLOSED, closed_after=HOUR))
    assert not rollup_answers(query)
    assert store.cases.statistics("", query) == store.cases.scanned_statistics("", query)


# -- PostgreSQL against the embedded store --------------------------------------------------

PERIOD_GROUPINGS: list[tuple[list[str], str | None]] = [
    *GROUPINGS,
    (["department"], "week"),
    ([], "day"),
    (["priority", "source"], "week"),
]
_TENANTS = itertools.count()


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """One store of each backend; every example writes to a tenant of its own."""
    sqlite_side = StoreFactory("sqlite", tmp_path_factory.mktemp("sqlite"))
    postgres_side = StoreFactory("postgresql", tmp_path_factory.mktemp("postgresql"))
    try:
        yield sqlite_side("stats"), postgres_side("stats")
    finally:
        sqlite_side.close()
        postgres_side.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    batches=st.lists(st.lists(records(), min_size=1, max_size=4), min_size=1, max_size=6),
    now=MOMENTS,
)
def test_postgresql_statistics_equal_the_embedded_stores(
    both: tuple[Any, Any], batches: list[list[CaseRecord]], now: datetime
) -> None:
    embedded, postgres = both
    tenant = f"t{next(_TENANTS)}"
    for batch in batches:
        write(embedded, *batch, tenant=tenant)
        write(postgres, *batch, tenant=tenant)
    for group_by, period in PERIOD_GROUPINGS:
        for since, until in WINDOWS:
            for selection in FILTERS:
                query = StatsQuery(now, group_by, period, since, until, selection)
                expected = embedded.cases.scanned_statistics(tenant, query)
                assert postgres.cases.statistics(tenant, query) == expected, query
    selection = CaseFilter(limit=100)
    assert postgres.cases.find(tenant, selection) == embedded.cases.find(tenant, selection)
