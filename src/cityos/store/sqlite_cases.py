"""Case records, their append-only trail and followers, and statistics in SQL, on SQLite.

The facts statistics need (state, department, district, category, times, deadlines) are
columns; everything else of the record is one JSON document. Times are UTC epoch seconds,
so durations and on-time tests are arithmetic in the database.

Statistics over a year of a big city's cases (a million) cannot scan them, so the store
keeps them answerable in time independent of the cases' number:

- `case_stats` holds, per tenant, report month, department, district and category, the
  counts that do not depend on the moment asked (received, closed, open, per stage finished
  and finished on time, reopened, ever closed), kept by `write_cases` in the case's own
  transaction: the old row's contribution subtracted, the new one's added.
- The one figure that depends on `now`, stages unfinished past their deadline, is counted
  from partial indexes over the unfinished stages only (the open backlog, a few per cent).
- Exact nearest-rank percentiles walk a covering index of closed cases ordered by
  (group, close_s) to the rank the rollup's closed count gives, from the nearer end.

Queries those structures cannot answer exactly (other groupings, filters on ids, states or
overdue, windows or periods finer than a month) take the full scan, which stays the
reference the fast path is tested against.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cityos.governance.model import (
    CaseFilter,
    CaseRecord,
)
from cityos.store.case_rows import COLUMNS as _COLUMNS
from cityos.store.case_rows import (
    COUNTERS,
    OPEN_CASE,
    STAGES,
    case_record,
    case_row,
    check_grouping,
    month_start,
    stats_row,
    stats_window,
)
from cityos.store.cases import CaseWrite, StatsQuery, StatsRow
from cityos.store.cases_sql import SqlCaseReads
from cityos.store.sql_dialect import SQLITE

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore


CASES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS cases (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    category TEXT NOT NULL,
    state TEXT NOT NULL,
    priority TEXT NOT NULL,
    source TEXT NOT NULL,
    department TEXT NOT NULL,
    district TEXT,
    cell TEXT,
    lon REAL,
    lat REAL,
    reported_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    closed_at REAL,
    accept_due REAL, accept_done REAL,
    dispatch_due REAL, dispatch_done REAL,
    resolve_due REAL, resolve_done REAL,
    next_due REAL,
    overdue TEXT,
    reopened INTEGER NOT NULL DEFAULT 0,
    token TEXT,
    doc TEXT NOT NULL,
    month INTEGER,
    close_s REAL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cases_by_report ON cases (tenant, reported_at);
CREATE INDEX IF NOT EXISTS cases_by_token ON cases (tenant, token) WHERE token IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_due ON cases (next_due) WHERE overdue IS NULL;
CREATE INDEX IF NOT EXISTS cases_open ON cases (tenant, category, lat) WHERE {OPEN_CASE};
CREATE TABLE IF NOT EXISTS case_trail (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    at REAL NOT NULL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS case_trail_by_case ON case_trail (tenant, case_id, seq);
CREATE TRIGGER IF NOT EXISTS case_trail_no_update BEFORE UPDATE ON case_trail
BEGIN SELECT RAISE(ABORT, 'the case trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_trail_no_delete BEFORE DELETE ON case_trail
BEGIN SELECT RAISE(ABORT, 'the case trail is append-only'); END;
CREATE TABLE IF NOT EXISTS case_followers (
    tenant TEXT NOT NULL,
    case_id TEXT NOT NULL,
    contact TEXT NOT NULL,
    PRIMARY KEY (tenant, case_id, contact)
) WITHOUT ROWID;
"""

_PERIOD_FORMATS = {"day": "%Y-%m-%d", "week": "%Y-W%W", "month": "%Y-%m", "year": "%Y"}


def _whole_seconds(seconds: str) -> str:
    """SQL flooring epoch seconds: strftime rounds to the millisecond, which would put a
    report made 0.4 ms before midnight into the next day, month or year."""
    return f"(CAST({seconds} AS INTEGER) - ({seconds} < CAST({seconds} AS INTEGER)))"


def _derived(column: Callable[[str], str]) -> dict[str, str]:
    """SQL for the columns kept for statistics, from the others (`column` names them):
    the report's month (UTC epoch seconds of its first day) and, for closed cases, the
    seconds from report to close."""
    reported, closed = column("reported_at"), column("closed_at")
    month_sql = f"strftime('%s', {_whole_seconds(reported)}, 'unixepoch', 'start of month')"
    return {
        "month": f"CAST({month_sql} AS INTEGER)",
        "close_s": f"CASE WHEN {column('state')} = 'closed' THEN {closed} - {reported} END",
    }


_WRITTEN = ("tenant", *_COLUMNS.split(", "), "next_due")
_INSERT = (
    f"INSERT OR REPLACE INTO cases ({', '.join(_WRITTEN)}, month, close_s) VALUES ("
    + ", ".join(f"?{n}" for n in range(1, len(_WRITTEN) + 1))
    + ", "
    + ", ".join(_derived(lambda name: f"?{_WRITTEN.index(name) + 1}").values())
    + ")"
)

_COUNTERS: tuple[tuple[str, str], ...] = (
    ("received", "1"),
    ("closed", "state = 'closed'"),
    ("open", OPEN_CASE),
    *(
        counter
        for s in STAGES
        for counter in (
            (f"{s}_on_time", f"coalesce({s}_done <= {s}_due, 0)"),
            (f"{s}_finished", f"{s}_done IS NOT NULL"),
        )
    ),
    ("reopened", "reopened > 0"),
    ("ever_closed", "closed_at IS NOT NULL"),
)
"""What each case adds to its group's figures, whenever it is asked: (rollup column, SQL)."""
assert tuple(name for name, _ in _COUNTERS) == COUNTERS
_COUNTED = ", ".join(name for name, _ in _COUNTERS)
_ROLLUP_KEY = "tenant, month, department, district, category"
_ROLLUP_ROW = "tenant, month, department, coalesce(district, ''), category"
"""A case's rollup key; a primary key holds no NULL, and no district is called ''."""

_ROLLUP_GROUPS = ("department", "district", "category")
_CLOSE_INDEXES = {
    frozenset(keys): f"cases_close_{'_'.join(keys) or 'all'}"
    for keys in (
        (),
        ("department",),
        ("district",),
        ("category",),
        ("department", "district"),
        ("month",),
        ("department", "month"),
    )
}
"""Closed cases ordered by close time within each group the dashboard asks for: the
percentiles walk these. Each carries the other rollup columns, so filters on them and
windows are checked in the index (covering) rather than in the table."""


def _stats_schema() -> str:
    carried = ("month", *_ROLLUP_GROUPS)
    close_indexes = [
        f"CREATE INDEX IF NOT EXISTS {name} ON cases (tenant, "
        + ", ".join([*sorted(keys, key=carried.index), "close_s"])
        + ", "
        + ", ".join([c for c in carried if c not in keys] + ["state"])
        + ") WHERE state = 'closed';\n"
        for keys, name in _CLOSE_INDEXES.items()
    ]
    pending_indexes = [
        f"CREATE INDEX IF NOT EXISTS cases_pending_{s} ON cases "
        f"(tenant, {s}_due, month, department, district, category, {s}_done) "
        f"WHERE {s}_done IS NULL AND {s}_due IS NOT NULL;\n"
        for s in STAGES
    ]
    counters = ", ".join(f"{name} INTEGER NOT NULL" for name, _ in _COUNTERS)
    return (
        "CREATE TABLE IF NOT EXISTS case_stats (tenant TEXT NOT NULL, month INTEGER NOT NULL, "
        "department TEXT NOT NULL, district TEXT NOT NULL, category TEXT NOT NULL, "
        f"{counters}, PRIMARY KEY ({_ROLLUP_KEY})) WITHOUT ROWID;\n"
        + "".join(close_indexes + pending_indexes)
    )


STATS_SCHEMA = _stats_schema()
"""The rollup and the indexes statistics read; `upgrade_cases` creates them."""


def _rollup_change(sign: str) -> str:
    """Add (sign "+") or take away ("-") the figures of the stored case (tenant, id)."""
    values = ", ".join(f"{sign}({sql})" for _, sql in _COUNTERS)
    updates = ", ".join(f"{name} = {name} + excluded.{name}" for name, _ in _COUNTERS)
    return (
        f"INSERT INTO case_stats ({_ROLLUP_KEY}, {_COUNTED}) "
        f"SELECT {_ROLLUP_ROW}, {values} FROM cases WHERE tenant = ? AND id = ? "
        f"ON CONFLICT ({_ROLLUP_KEY}) DO UPDATE SET {updates}"
    )


_ROLLUP_SUBTRACT = _rollup_change("-")
_ROLLUP_ADD = _rollup_change("+")


def upgrade_cases(db: sqlite3.Connection) -> None:
    """Bring a database made before the statistics rollup up to date, inside a transaction:
    add and fill the derived columns, create the rollup and its indexes, and fill the
    rollup from the cases if it is new. Cheap when there is nothing to do."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(cases)")}
    derived = _derived(str)
    missing = [name for name in derived if name not in columns]
    for name in missing:
        db.execute(
            f"ALTER TABLE cases ADD COLUMN {name} {'INTEGER' if name == 'month' else 'REAL'}"
        )
    if missing:
        db.execute(f"UPDATE cases SET {', '.join(f'{n} = {sql}' for n, sql in derived.items())}")
    new = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'case_stats'").fetchone() is None
    for statement in STATS_SCHEMA.split(";\n"):
        if statement.strip():
            db.execute(statement)
    if new:
        sums = ", ".join(f"sum({sql})" for _, sql in _COUNTERS)
        db.execute(
            f"INSERT INTO case_stats ({_ROLLUP_KEY}, {_COUNTED}) "
            f"SELECT {_ROLLUP_ROW}, {sums} FROM cases GROUP BY 1, 2, 3, 4, 5"
        )


def write_cases(db: sqlite3.Connection, tenant: str, writes: Sequence[CaseWrite]) -> None:
    """Write case records, trail entries and followers inside the store's commit, and move
    each case's figures in the rollup from its old group to its new one."""
    records = {w.record.id: w.record for w in writes}  # written twice in a batch: last wins
    keys = [(tenant, case_id) for case_id in records]
    db.executemany(_ROLLUP_SUBTRACT, keys)
    db.executemany(_INSERT, [(tenant, *case_row(r)) for r in records.values()])
    db.executemany(_ROLLUP_ADD, keys)
    db.executemany(
        "INSERT INTO case_trail (tenant, case_id, action, from_state, to_state, actor, role, "
        "at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                tenant,
                e.case_id,
                e.action,
                e.from_state,
                e.to_state,
                e.actor,
                e.role,
                e.at.timestamp(),
                e.note,
            )
            for w in writes
            for e in w.trail
        ],
    )
    db.executemany(
        "INSERT OR IGNORE INTO case_followers (tenant, case_id, contact) VALUES (?, ?, ?)",
        [(tenant, w.record.id, contact) for w in writes for contact in w.followers],
    )


def _where(
    tenant: str, selection: CaseFilter, reported: str = "reported_at"
) -> tuple[str, list[Any]]:
    """The filter as SQL over the cases or the rollup, whose columns share their names; the
    rollup's time is its `month`, so its windows must start and end on a month."""
    clauses: list[str] = ["tenant = ?"]
    params: list[Any] = [tenant]

    def any_of(column: str, values: Sequence[str] | None) -> None:
        if values is not None:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)

    any_of("id", selection.ids)
    any_of("category", selection.categories)
    any_of("state", [s.value for s in selection.states] if selection.states else None)
    any_of("department", selection.departments)
    any_of("district", selection.districts)
    if selection.overdue is not None:
        clauses.append("overdue IS NOT NULL" if selection.overdue else "overdue IS NULL")
    if selection.since is not None:
        clauses.append(f"{reported} >= ?")
        params.append(selection.since.timestamp())
    if selection.until is not None:
        clauses.append(f"{reported} < ?")
        params.append(selection.until.timestamp())
    return " AND ".join(clauses), params


class SQLiteCases(SqlCaseReads):
    """The `CaseStore` of the embedded store."""

    dialect = SQLITE

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        with store.transaction() as db:
            upgrade_cases(db)

    def find(self, tenant: str, selection: CaseFilter) -> list[CaseRecord]:
        where, params = _where(tenant, selection)
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM cases WHERE {where} "
                "ORDER BY reported_at DESC, id LIMIT ? OFFSET ?",
                (*params, selection.limit, selection.offset),
            ).fetchall()
        return [case_record(row) for row in rows]

    def count(self, tenant: str, selection: CaseFilter) -> int:
        where, params = _where(tenant, selection)
        with self._store.reading() as db:
            row = db.execute(f"SELECT count(*) FROM cases WHERE {where}", params).fetchone()
        return int(row[0])

    def statistics(self, tenant: str, query: StatsQuery) -> list[StatsRow]:
        """From the rollup when it answers the query exactly, else by a full scan."""
        selection = stats_window(query)
        close_keys = _close_keys(query, selection)
        with self._store.reading() as db:
            if close_keys is None:
                return _scanned(db, tenant, query, selection)
            return _rolled_up(db, tenant, query, selection, close_keys)

    def scanned_statistics(self, tenant: str, query: StatsQuery) -> list[StatsRow]:
        """Statistics by a full scan of the matching cases: any query, and the reference the
        rollup is tested against."""
        with self._store.reading() as db:
            return _scanned(db, tenant, query, stats_window(query))


def rollup_answers(query: StatsQuery) -> bool:
    """Whether `statistics` answers `query` from the rollup rather than by a full scan."""
    return _close_keys(query, stats_window(query)) is not None


def _close_keys(query: StatsQuery, selection: CaseFilter) -> frozenset[str] | None:
    """The keys of the index holding this query's percentiles, if the rollup answers it."""
    _group_columns(query, "reported_at")  # refuse bad groupings whatever the path
    groups = set(query.group_by)
    if len(groups) < len(query.group_by) or not groups <= set(_ROLLUP_GROUPS):
        return None
    if query.period not in (None, "month", "year"):
        return None  # the rollup's buckets are months
    if selection.ids is not None or selection.states is not None or selection.overdue is not None:
        return None  # not rollup columns
    if selection.districts is not None and "" in selection.districts:
        return None  # '' is how the rollup keeps "no district"
    bounds = (selection.since, selection.until)
    if any(b is not None and month_start(b.timestamp()) != b.timestamp() for b in bounds):
        return None
    keys = frozenset(groups | ({"month"} if query.period == "month" else set()))
    return keys if keys in _CLOSE_INDEXES else None


def _group_columns(
    query: StatsQuery, moment: str, district: str = "district"
) -> list[tuple[str, str]]:
    """(name, SQL) of each group key; `moment` is the report time in epoch seconds."""
    check_grouping(query)
    keys = [(name, district if name == "district" else name) for name in query.group_by]
    if query.period is not None:
        fmt = _PERIOD_FORMATS[query.period]
        keys.append(("period", f"strftime('{fmt}', {moment}, 'unixepoch')"))
    return keys or [("all", "''")]


def _late_sums(now: str) -> list[str]:
    """SQL counting, per stage, the cases unfinished past the deadline at `now`."""
    return [f"sum({s}_done IS NULL AND {s}_due < {now})" for s in STAGES]


def _scanned(
    db: sqlite3.Connection, tenant: str, query: StatsQuery, selection: CaseFilter
) -> list[StatsRow]:
    keys = _group_columns(query, _whole_seconds("reported_at"))
    names = [name for name, _ in keys]
    key_sql = ", ".join(f"{expr} AS k_{name}" for name, expr in keys)
    key_refs = ", ".join(f"k_{name}" for name in names)
    where, params = _where(tenant, selection)
    named = {f"p{i}": value for i, value in enumerate(params)}
    where = _named(where, len(params))
    sums = ", ".join([*(f"sum({sql})" for _, sql in _COUNTERS), *_late_sums(":now")])
    totals_sql = (
        f"SELECT {key_refs}, {sums} "
        f"FROM (SELECT {key_sql}, * FROM cases WHERE {where}) GROUP BY {key_refs}"
    )
    # Nearest-rank percentiles: the value at rank ceil(p·n) of each group's sorted times.
    percentiles_sql = (
        f"SELECT {key_refs}, max(CASE WHEN rn = (n + 1) / 2 THEN t END), "
        "max(CASE WHEN rn = (9 * n + 9) / 10 THEN t END) FROM ("
        f"SELECT {key_refs}, t, row_number() OVER (PARTITION BY {key_refs} ORDER BY t) AS rn, "
        f"count(*) OVER (PARTITION BY {key_refs}) AS n FROM ("
        f"SELECT {key_sql}, closed_at - reported_at AS t FROM cases "
        f"WHERE {where} AND state = 'closed')) GROUP BY {key_refs}"
    )
    width = len(names)
    times = {tuple(r[:width]): r[width:] for r in db.execute(percentiles_sql, named).fetchall()}
    rows = []
    for r in db.execute(totals_sql, {**named, "now": query.now.timestamp()}).fetchall():
        key, figures = tuple(r[:width]), r[width:]
        counts, late = figures[: len(_COUNTERS)], figures[len(_COUNTERS) :]
        rows.append(stats_row(names, key, counts, late, times.get(key, (None, None))))
    return rows


def _rolled_up(
    db: sqlite3.Connection,
    tenant: str,
    query: StatsQuery,
    selection: CaseFilter,
    close_keys: frozenset[str],
) -> list[StatsRow]:
    keys = _group_columns(query, "month", "nullif(district, '')")
    names = [name for name, _ in keys]
    width = len(names)
    key_refs = ", ".join(f"k_{name}" for name in names)
    where, params = _where(tenant, selection, "month")
    totals = db.execute(
        f"SELECT {', '.join(f'{expr} AS k_{name}' for name, expr in keys)}, min(month), "
        f"{', '.join(f'sum({name})' for name, _ in _COUNTERS)} FROM case_stats "
        f"WHERE {where} GROUP BY {key_refs} HAVING sum(received) > 0",
        params,
    ).fetchall()
    # The same filter over the cases' own columns, beside named parameters.
    named = {f"p{i}": value for i, value in enumerate(params)}
    where = _named(where, len(params))
    key_sql = ", ".join(f"{expr} AS k_{name}" for name, expr in _group_columns(query, "month"))
    pending = " UNION ALL ".join(
        f"SELECT {key_sql}, {i} AS stage FROM cases INDEXED BY cases_pending_{s} "
        f"WHERE {where} AND {s}_done IS NULL AND {s}_due IS NOT NULL AND {s}_due < :now"
        for i, s in enumerate(STAGES)
    )
    late: dict[tuple[Any, ...], list[int]] = {}
    for r in db.execute(
        f"SELECT {key_refs}, stage, count(*) FROM ({pending}) GROUP BY {key_refs}, stage",
        {**named, "now": query.now.timestamp()},
    ):
        late.setdefault(tuple(r[:width]), [0] * len(STAGES))[r[width]] = r[width + 1]
    walk = _close_walk(query, close_keys, where)
    rows = []
    for r in totals:
        key, month, counts = tuple(r[:width]), r[width], r[width + 1 :]
        times = walk(db, dict(zip(names, key, strict=True)), month, counts[1], named)
        rows.append(stats_row(names, key, counts, late.get(key, ()), times))
    return rows


_Walk = Callable[
    [sqlite3.Connection, dict[str, Any], int, int, dict[str, Any]],
    tuple[float | None, float | None],
]


def _close_walk(query: StatsQuery, close_keys: frozenset[str], where: str) -> _Walk:
    """How to find a group's nearest-rank median and p90 close times: step along `index`,
    in the group's range, to rank ceil(p·n) from whichever end is nearer.

    SQLite counts its way to an OFFSET, so the cost is the steps; from the far end the p90
    takes a tenth of the group's closed cases instead of nine tenths."""
    columns = sorted(close_keys)
    conditions = [where, "state = 'closed'", *(f"{c} IS :g_{c}" for c in columns)]
    if query.period == "year":
        conditions.append("month >= :year AND month < :next_year")
    base = (
        f"SELECT close_s FROM cases INDEXED BY {_CLOSE_INDEXES[close_keys]} "
        f"WHERE {' AND '.join(conditions)} ORDER BY close_s"
    )
    ascending, descending = f"{base} LIMIT 1 OFFSET :skip", f"{base} DESC LIMIT 1 OFFSET :skip"

    def walk(
        db: sqlite3.Connection,
        key: dict[str, Any],
        month: int,
        closed: int,
        named: dict[str, Any],
    ) -> tuple[float | None, float | None]:
        if not closed:
            return None, None
        params = {**named, **{f"g_{c}": month if c == "month" else key[c] for c in columns}}
        if query.period == "year":
            year = datetime.fromtimestamp(month, UTC).year
            params["year"] = datetime(year, 1, 1, tzinfo=UTC).timestamp()
            params["next_year"] = datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()

        def at_rank(rank: int) -> float | None:
            if rank - 1 <= closed - rank:
                row = db.execute(ascending, {**params, "skip": rank - 1}).fetchone()
            else:
                row = db.execute(descending, {**params, "skip": closed - rank}).fetchone()
            return row[0] if row else None

        return at_rank((closed + 1) // 2), at_rank((9 * closed + 9) // 10)

    return walk


def _named(where: str, count: int) -> str:
    """The filter's positional `?` as :p0, :p1… so it can sit beside named parameters."""
    parts = where.split("?")
    assert len(parts) == count + 1
    return "".join(part + (f":p{i}" if i < count else "") for i, part in enumerate(parts))
