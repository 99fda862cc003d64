"""Case records, their append-only trail and followers, and statistics in SQL, on SQLite.

The facts statistics need (state, department, district, category, times, deadlines) are
columns; everything else of the record is one JSON document. Times are UTC epoch seconds,
so durations and on-time tests are arithmetic in the database.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from cityos.governance.model import (
    FINISHED,
    CaseFilter,
    CaseRecord,
    Priority,
    Source,
    Stage,
    State,
    TrailEntry,
    current_stage,
)
from cityos.store.cases import GROUPS, PERIODS, CaseWrite, StatsQuery, StatsRow

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore

_FINISHED = ", ".join(f"'{s.value}'" for s in sorted(FINISHED))
_OPEN = f"state NOT IN ({_FINISHED})"

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
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cases_by_report ON cases (tenant, reported_at);
CREATE INDEX IF NOT EXISTS cases_by_token ON cases (tenant, token) WHERE token IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_due ON cases (next_due) WHERE overdue IS NULL;
CREATE INDEX IF NOT EXISTS cases_open ON cases (tenant, category, lat) WHERE {_OPEN};
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

_COLUMNS = (
    "id, category, state, priority, source, department, district, cell, lon, lat, "
    "reported_at, updated_at, closed_at, accept_due, accept_done, dispatch_due, "
    "dispatch_done, resolve_due, resolve_done, overdue, reopened, token, doc"
)
_STAGES = (Stage.ACCEPT, Stage.DISPATCH, Stage.RESOLVE)
_PERIOD_FORMATS = {"day": "%Y-%m-%d", "week": "%Y-W%W", "month": "%Y-%m", "year": "%Y"}
_EARTH_RADIUS_M = 6_371_008.8


def write_cases(db: sqlite3.Connection, tenant: str, writes: Sequence[CaseWrite]) -> None:
    """Write case records, trail entries and followers inside the store's commit."""
    db.executemany(
        f"INSERT OR REPLACE INTO cases (tenant, {_COLUMNS}, next_due) "
        f"VALUES (?, {', '.join('?' * 24)})",
        [(tenant, *_row(w.record)) for w in writes],
    )
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


def _row(r: CaseRecord) -> tuple[Any, ...]:
    lon, lat = r.location if r.location else (None, None)
    stage = current_stage(r.state)
    next_due = r.due.get(stage) if stage else None
    doc = {
        "description": r.description,
        "address": r.address,
        "media": r.media,
        "attributes": r.attributes,
        "raised_by": r.raised_by,
        "reporter": r.reporter,
        "routing": r.routing,
        "escalated_to": r.escalated_to,
        "merged_into": r.merged_into,
        "duplicate_of": r.duplicate_of,
        "note": r.note,
    }
    return (
        r.id,
        r.category,
        r.state.value,
        r.priority.value,
        r.source.value,
        r.department,
        r.district,
        r.cell,
        lon,
        lat,
        r.reported_at.timestamp(),
        r.updated_at.timestamp(),
        _ts(r.closed_at),
        *(x for stage in _STAGES for x in (_ts(r.due.get(stage)), _ts(r.done.get(stage)))),
        r.overdue.value if r.overdue else None,
        r.reopened,
        r.token,
        orjson.dumps({k: v for k, v in doc.items() if v}).decode(),
        _ts(next_due),
    )


def _record(row: Sequence[Any]) -> CaseRecord:
    (id_, category, state, priority, source, department, district, cell, lon, lat) = row[:10]
    reported, updated, closed = row[10:13]
    times = row[13:19]
    overdue, reopened, token, doc_text = row[19:23]
    doc = orjson.loads(doc_text)
    due = {s: _dt(times[2 * i]) for i, s in enumerate(_STAGES) if times[2 * i] is not None}
    done = {s: _dt(times[2 * i + 1]) for i, s in enumerate(_STAGES) if times[2 * i + 1] is not None}
    return CaseRecord(
        id=id_,
        category=category,
        state=State(state),
        priority=Priority(priority),
        source=Source(source),
        department=department,
        routing=doc.get("routing", ""),
        reported_at=_dt(reported),
        updated_at=_dt(updated),
        description=doc.get("description"),
        location=(lon, lat) if lon is not None else None,
        address=doc.get("address"),
        district=district,
        cell=cell,
        media=doc.get("media", []),
        attributes=doc.get("attributes", {}),
        raised_by=doc.get("raised_by"),
        reporter=doc.get("reporter", {}),
        due=due,
        done=done,
        closed_at=_dt(closed) if closed is not None else None,
        overdue=Stage(overdue) if overdue else None,
        escalated_to=doc.get("escalated_to"),
        reopened=reopened,
        merged_into=doc.get("merged_into"),
        duplicate_of=doc.get("duplicate_of"),
        note=doc.get("note"),
        token=token,
    )


def _ts(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _where(tenant: str, selection: CaseFilter) -> tuple[str, list[Any]]:
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
        clauses.append("reported_at >= ?")
        params.append(selection.since.timestamp())
    if selection.until is not None:
        clauses.append("reported_at < ?")
        params.append(selection.until.timestamp())
    return " AND ".join(clauses), params


class SQLiteCases:
    """The `CaseStore` of the embedded store."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def get(self, tenant: str, case_id: str) -> CaseRecord | None:
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM cases WHERE tenant = ? AND id = ?", (tenant, case_id)
            ).fetchone()
        return _record(row) if row else None

    def by_token(self, tenant: str, token: str) -> CaseRecord | None:
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM cases WHERE tenant = ? AND token = ?", (tenant, token)
            ).fetchone()
        return _record(row) if row else None

    def find(self, tenant: str, selection: CaseFilter) -> list[CaseRecord]:
        where, params = _where(tenant, selection)
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM cases WHERE {where} "
                "ORDER BY reported_at DESC, id LIMIT ? OFFSET ?",
                (*params, selection.limit, selection.offset),
            ).fetchall()
        return [_record(row) for row in rows]

    def count(self, tenant: str, selection: CaseFilter) -> int:
        where, params = _where(tenant, selection)
        with self._store.reading() as db:
            row = db.execute(f"SELECT count(*) FROM cases WHERE {where}", params).fetchone()
        return int(row[0])

    def trail(self, tenant: str, case_id: str) -> list[TrailEntry]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT case_id, seq, action, from_state, to_state, actor, role, at, note "
                "FROM case_trail WHERE tenant = ? AND case_id = ? ORDER BY seq",
                (tenant, case_id),
            ).fetchall()
        return [
            TrailEntry(
                case_id=r[0],
                seq=r[1],
                action=r[2],
                from_state=State(r[3]) if r[3] else None,
                to_state=State(r[4]),
                actor=r[5],
                role=r[6],
                at=_dt(r[7]),
                note=r[8],
            )
            for r in rows
        ]

    def followers(self, tenant: str, case_id: str) -> list[str]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT contact FROM case_followers WHERE tenant = ? AND case_id = ? "
                "ORDER BY contact",
                (tenant, case_id),
            ).fetchall()
        return [r[0] for r in rows]

    def due(self, now: datetime, limit: int = 500) -> list[tuple[str, CaseRecord]]:
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT tenant, {_COLUMNS} FROM cases WHERE overdue IS NULL AND next_due < ? "
                "ORDER BY next_due LIMIT ?",
                (now.timestamp(), limit),
            ).fetchall()
        return [(row[0], _record(row[1:])) for row in rows]

    def open_near(
        self,
        tenant: str,
        category: str,
        location: tuple[float, float],
        radius_m: float,
        since: datetime,
    ) -> list[CaseRecord]:
        lon, lat = location
        dlat = math.degrees(radius_m / _EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM cases WHERE tenant = ? AND category = ? AND {_OPEN} "
                "AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND reported_at >= ?",
                (
                    tenant,
                    category,
                    lat - dlat,
                    lat + dlat,
                    lon - dlon,
                    lon + dlon,
                    since.timestamp(),
                ),
            ).fetchall()
        near = [(distance_m(location, (row[8], row[9])), _record(row)) for row in rows]
        return [record for d, record in sorted(near, key=lambda x: x[0]) if d <= radius_m]

    def statistics(self, tenant: str, query: StatsQuery) -> list[StatsRow]:
        keys = _group_columns(query)
        selection = query.filter
        if query.since is not None or query.until is not None:
            selection = replace(selection, since=query.since, until=query.until)
        where, params = _where(tenant, selection)
        names = [name for name, _ in keys]
        key_sql = ", ".join(f"{expr} AS k_{name}" for name, expr in keys)
        key_refs = ", ".join(f"k_{name}" for name in names)
        now = query.now.timestamp()
        stage_sums = ", ".join(
            f"sum({s}_done IS NOT NULL AND {s}_done <= {s}_due), "
            f"sum({s}_done IS NOT NULL OR {s}_due < :now)"
            for s in ("accept", "dispatch", "resolve")
        )
        named = {f"p{i}": value for i, value in enumerate(params)}
        where_named = _named(where, len(params))
        totals_sql = (
            f"SELECT {key_refs}, count(*), sum(state = 'closed'), sum({_OPEN}), {stage_sums}, "
            "sum(reopened > 0), sum(closed_at IS NOT NULL) "
            f"FROM (SELECT {key_sql}, * FROM cases WHERE {where_named}) GROUP BY {key_refs}"
        )
        # Nearest-rank percentiles: the value at rank ceil(p·n) of each group's sorted times.
        percentiles_sql = (
            f"SELECT {key_refs}, max(CASE WHEN rn = (n + 1) / 2 THEN t END), "
            "max(CASE WHEN rn = (9 * n + 9) / 10 THEN t END) FROM ("
            f"SELECT {key_refs}, t, row_number() OVER (PARTITION BY {key_refs} ORDER BY t) AS rn, "
            f"count(*) OVER (PARTITION BY {key_refs}) AS n FROM ("
            f"SELECT {key_sql}, closed_at - reported_at AS t FROM cases "
            f"WHERE {where_named} AND state = 'closed')) GROUP BY {key_refs}"
        )
        with self._store.reading() as db:
            totals = db.execute(totals_sql, {**named, "now": now}).fetchall()
            times = {
                tuple(r[: len(names)]): r[len(names) :]
                for r in db.execute(percentiles_sql, named).fetchall()
            }
        rows: list[StatsRow] = []
        width = len(names)
        for r in totals:
            key = tuple(r[:width])
            received, closed, backlog = r[width : width + 3]
            stages = r[width + 3 : width + 9]
            reopened, ever_closed = r[width + 9 : width + 11]
            median, p90 = times.get(key, (None, None))
            rows.append(
                StatsRow(
                    key={n: v for n, v in zip(names, key, strict=True) if n != "all"},
                    received=received,
                    closed=closed,
                    backlog=backlog,
                    on_time={
                        stage: _rate(stages[2 * i], stages[2 * i + 1])
                        for i, stage in enumerate(_STAGES)
                    },
                    median_close_s=median,
                    p90_close_s=p90,
                    reopen_rate=_rate(reopened, ever_closed),
                )
            )
        return rows


def _group_columns(query: StatsQuery) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for name in query.group_by:
        if name not in GROUPS:
            raise ValueError(f"Cannot group by {name!r}; use {', '.join(GROUPS)}.")
        keys.append((name, name))
    if query.period is not None:
        if query.period not in PERIODS:
            raise ValueError(f"No period {query.period!r}; use {', '.join(PERIODS)}.")
        fmt = _PERIOD_FORMATS[query.period]
        keys.append(("period", f"strftime('{fmt}', reported_at, 'unixepoch')"))
    return keys or [("all", "''")]


def _named(where: str, count: int) -> str:
    """The filter's positional `?` as :p0, :p1… so it can sit beside named parameters."""
    parts = where.split("?")
    assert len(parts) == count + 1
    return "".join(part + (f":p{i}" if i < count else "") for i, part in enumerate(parts))


def _rate(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole if whole else None


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) points, in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(h))
