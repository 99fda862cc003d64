"""Case records, their append-only trail and followers, and statistics in SQL, on PostgreSQL.

The same columns as the embedded store (`case_rows`): the facts statistics need are
columns, the rest of the record one JSONB document, times UTC epoch seconds. Statistics
are one GROUP BY over the matching cases (figures summed per group, stages late at `now`
counted in the same pass) and one window query for the nearest-rank percentiles of the
report-to-close times. The trail refuses UPDATE and DELETE through a trigger.

(The embedded store also keeps a monthly rollup, so that a year of a big city's cases is
answered without a scan; on PostgreSQL every statistic is the scan, which is also the
reference the rollup is tested against.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityos.governance.model import CaseFilter, CaseRecord, TrailEntry
from cityos.store.case_rows import (
    COLUMNS,
    COUNTERS,
    OPEN_CASE,
    STAGES,
    case_record,
    case_row,
    check_grouping,
    stats_row,
    stats_window,
)
from cityos.store.cases import CaseWrite, StatsQuery, StatsRow
from cityos.store.cases_sql import SqlCaseReads
from cityos.store.postgres_db import Db, execute_rows
from cityos.store.sql_dialect import POSTGRES

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore

_WRITTEN = ("tenant", *COLUMNS.split(", "), "next_due")
_UPSERT = (
    f"INSERT INTO cases ({', '.join(_WRITTEN)}) VALUES ("
    + ", ".join("%s::jsonb" if name == "doc" else "%s" for name in _WRITTEN)
    + ") ON CONFLICT (tenant, id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _WRITTEN if name not in ("tenant", "id"))
)

_COUNTER_SQL: dict[str, str] = {
    "received": "true",
    "closed": "state = 'closed'",
    "open": OPEN_CASE,
    **{f"{s}_on_time": f"{s}_done <= {s}_due" for s in STAGES},
    **{f"{s}_finished": f"{s}_done IS NOT NULL" for s in STAGES},
    "reopened": "reopened > 0",
    "ever_closed": "closed_at IS NOT NULL",
}
"""What each case adds to its group's figures, as conditions counted when true."""
assert set(_COUNTER_SQL) == set(COUNTERS)

_MOMENT = "(to_timestamp(floor(reported_at)) AT TIME ZONE 'UTC')"
"""The report time as a UTC timestamp, floored to the second (as the SQLite store does)."""
_PERIODS = {
    "day": f"to_char({_MOMENT}, 'YYYY-MM-DD')",
    "week": f"to_char({_MOMENT}, 'YYYY') || '-W' || lpad(((extract(doy FROM {_MOMENT})::int "
    f"+ 7 - extract(isodow FROM {_MOMENT})::int) / 7)::text, 2, '0')",
    "month": f"to_char({_MOMENT}, 'YYYY-MM')",
    "year": f"to_char({_MOMENT}, 'YYYY')",
}
"""Period keys as strftime writes them (%Y-%m-%d, %Y-W%W, %Y-%m, %Y): weeks start on Monday,
and the days before a year's first Monday are its week 00."""


def write_cases(db: Db, tenant: str, writes: Sequence[CaseWrite]) -> None:
    """Write case records, trail entries and followers inside the store's commit."""
    if not writes:
        return
    records = {w.record.id: w.record for w in writes}  # written twice in a batch: last wins
    execute_rows(db, _UPSERT, [(tenant, *case_row(r)) for r in records.values()])
    trail = [
        (tenant, e.case_id, e.action, e.from_state, e.to_state, e.actor, e.role, *_at(e))
        for w in writes
        for e in w.trail
    ]
    if trail:
        execute_rows(
            db,
            "INSERT INTO case_trail (tenant, case_id, action, from_state, to_state, actor, role, "
            "at, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            trail,
        )
    followers = [(tenant, w.record.id, contact) for w in writes for contact in w.followers]
    if followers:
        execute_rows(
            db,
            "INSERT INTO case_followers (tenant, case_id, contact) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            followers,
        )


def _at(entry: TrailEntry) -> tuple[float, str | None]:
    return entry.at.timestamp(), entry.note


class _Named:
    """Named parameters (`%(p0)s`, …) for SQL that repeats a filter in several places."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s"


def _where(tenant: str, selection: CaseFilter, bind: _Named) -> str:
    """The filter as SQL over the cases."""
    clauses = [f"tenant = {bind(tenant)}"]

    def any_of(column: str, values: Sequence[str] | None) -> None:
        if values is not None:
            clauses.append(f"{column} = ANY({bind(list(values))})")

    any_of("id", selection.ids)
    any_of("category", selection.categories)
    any_of("state", [s.value for s in selection.states] if selection.states else None)
    any_of("department", selection.departments)
    any_of("district", selection.districts)
    if selection.overdue is not None:
        clauses.append("overdue IS NOT NULL" if selection.overdue else "overdue IS NULL")
    if selection.since is not None:
        clauses.append(f"reported_at >= {bind(selection.since.timestamp())}")
    if selection.until is not None:
        clauses.append(f"reported_at < {bind(selection.until.timestamp())}")
    return " AND ".join(clauses)


class PostgresCases(SqlCaseReads):
    """The `CaseStore` of the PostgreSQL store."""

    dialect = POSTGRES

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def find(self, tenant: str, selection: CaseFilter) -> list[CaseRecord]:
        bind = _Named()
        where = _where(tenant, selection, bind)
        limit = bind(selection.limit if selection.limit >= 0 else None)
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM cases WHERE {where} "
                f'ORDER BY reported_at DESC, id COLLATE "C" LIMIT {limit} '
                f"OFFSET {bind(selection.offset)}",
                bind.values,
            ).fetchall()
        return [case_record(row) for row in rows]

    def count(self, tenant: str, selection: CaseFilter) -> int:
        bind = _Named()
        where = _where(tenant, selection, bind)
        with self._store.reading() as db:
            row = db.execute(f"SELECT count(*) FROM cases WHERE {where}", bind.values).fetchone()
        return int(row[0]) if row else 0

    def statistics(self, tenant: str, query: StatsQuery) -> list[StatsRow]:
        check_grouping(query)
        with self._store.reading() as db:
            return _scanned(db, tenant, query, stats_window(query))

    def scanned_statistics(self, tenant: str, query: StatsQuery) -> list[StatsRow]:
        """Statistics by a full scan of the matching cases (here: the same as `statistics`)."""
        return self.statistics(tenant, query)


def _scanned(db: Db, tenant: str, query: StatsQuery, selection: CaseFilter) -> list[StatsRow]:
    keys = [(name, name) for name in query.group_by]
    if query.period is not None:
        keys.append(("period", _PERIODS[query.period]))
    keys = keys or [("all", "''")]
    names = [name for name, _ in keys]
    key_sql = ", ".join(f"{expr} AS k_{name}" for name, expr in keys)
    key_refs = ", ".join(f"k_{name}" for name in names)
    order = ", ".join(f'k_{name} COLLATE "C" NULLS FIRST' for name in names)
    bind = _Named()
    where = _where(tenant, selection, bind)
    now = bind(query.now.timestamp())
    counted = [f"sum(CASE WHEN {_COUNTER_SQL[name]} THEN 1 ELSE 0 END)" for name in COUNTERS]
    late = [
        f"sum(CASE WHEN {s}_done IS NULL AND {s}_due < {now} THEN 1 ELSE 0 END)" for s in STAGES
    ]
    totals_sql = (
        f"SELECT {key_refs}, {', '.join([*counted, *late])} FROM (SELECT {key_sql}, cases.* "
        f"FROM cases WHERE {where}) c GROUP BY {key_refs} ORDER BY {order}"
    )
    # Nearest-rank percentiles: the value at rank ceil(p·n) of each group's sorted times.
    percentiles_sql = (
        f"SELECT {key_refs}, max(CASE WHEN rn = (n + 1) / 2 THEN t END), "
        "max(CASE WHEN rn = (9 * n + 9) / 10 THEN t END) FROM ("
        f"SELECT {key_refs}, t, row_number() OVER (PARTITION BY {key_refs} ORDER BY t) AS rn, "
        f"count(*) OVER (PARTITION BY {key_refs}) AS n FROM ("
        f"SELECT {key_sql}, closed_at - reported_at AS t FROM cases "
        f"WHERE {where} AND state = 'closed') a) b GROUP BY {key_refs}"
    )
    width = len(names)
    times = {
        tuple(r[:width]): r[width:] for r in db.execute(percentiles_sql, bind.values).fetchall()
    }
    rows = []
    for r in db.execute(totals_sql, bind.values).fetchall():
        key, figures = tuple(r[:width]), r[width:]
        counts, late_counts = figures[: len(COUNTERS)], figures[len(COUNTERS) :]
        rows.append(stats_row(names, key, counts, late_counts, times.get(key, (None, None))))
    return rows
