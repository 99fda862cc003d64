"""The case reads both SQL stores share, written once over a `Dialect`: one case by id or
token, its trail and followers, the cases due for escalation, and the open cases near a
point (the duplicate check). Writes and statistics stay with each store: their SQL differs
(the rollup, named parameters) beyond what a dialect spells."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from cityos.governance.model import CaseRecord, TrailEntry
from cityos.store.case_rows import (
    COLUMNS,
    OPEN_CASE,
    TRAIL_COLUMNS,
    case_record,
    distance_m,
    near_box,
    trail_entry,
)
from cityos.store.cases import CaseWrite
from cityos.store.keyset_sql import keyset_batches
from cityos.store.sql_dialect import Dialect, Sql, SqlStore


class SqlCaseReads:
    """Part of the `CaseStore` of a store with `reading()`; subclasses set `dialect`."""

    dialect: Dialect
    _store: SqlStore

    def _one(self, column: str, tenant: str, value: str) -> CaseRecord | None:
        p = self.dialect.param()
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {COLUMNS} FROM cases WHERE tenant = {p} AND {column} = {p}",
                [tenant, value],
            ).fetchone()
        return case_record(row) if row else None

    def get(self, tenant: str, case_id: str) -> CaseRecord | None:
        return self._one("id", tenant, case_id)

    def by_token(self, tenant: str, token: str) -> CaseRecord | None:
        return self._one("token", tenant, token)

    def trail(self, tenant: str, case_id: str) -> list[TrailEntry]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {TRAIL_COLUMNS} FROM case_trail WHERE tenant = {p} AND case_id = {p} "
                "ORDER BY seq",
                [tenant, case_id],
            ).fetchall()
        return [trail_entry(r) for r in rows]

    def followers(self, tenant: str, case_id: str) -> list[str]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT contact FROM case_followers WHERE tenant = {p} AND case_id = {p} "
                "ORDER BY contact",
                [tenant, case_id],
            ).fetchall()
        return [r[0] for r in rows]

    def dump_cases(self, tenant: str, batch: int = 500) -> Iterator[list[CaseWrite]]:
        d = self.dialect
        p = d.param()
        of_tenant = (f"tenant = {p}", [tenant])
        for rows in keyset_batches(
            self._store.reading, d, "cases", COLUMNS, ["id"], batch, of_tenant
        ):
            records = [case_record(row) for row in rows]
            of_batch = Sql(d, [f"tenant = {p}"], [tenant])
            of_batch.add_part(d.in_list("case_id", [r.id for r in records]))
            trails: dict[str, list[TrailEntry]] = {}
            followers: dict[str, list[str]] = {}
            with self._store.reading() as db:
                for row in db.execute(
                    f"SELECT {TRAIL_COLUMNS} FROM case_trail WHERE {of_batch.where} ORDER BY seq",
                    of_batch.params,
                ).fetchall():
                    trails.setdefault(row[0], []).append(trail_entry(row))
                for case_id, contact in db.execute(
                    f"SELECT case_id, contact FROM case_followers WHERE {of_batch.where}",
                    of_batch.params,
                ).fetchall():
                    followers.setdefault(case_id, []).append(contact)
            yield [CaseWrite(r, trails.get(r.id, []), followers.get(r.id, [])) for r in records]

    def due(self, now: datetime, limit: int = 500) -> list[tuple[str, CaseRecord]]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT tenant, {COLUMNS} FROM cases WHERE overdue IS NULL AND next_due < {p} "
                f"ORDER BY next_due LIMIT {p}",
                [now.timestamp(), limit],
            ).fetchall()
        return [(row[0], case_record(row[1:])) for row in rows]

    def open_near(
        self,
        tenant: str,
        category: str,
        location: tuple[float, float],
        radius_m: float,
        since: datetime,
    ) -> list[CaseRecord]:
        """Open cases of `category` within `radius_m` of `location`, nearest first: a box
        the index narrows, then the exact distance."""
        min_lat, max_lat, min_lon, max_lon = near_box(location, radius_m)
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM cases WHERE tenant = {p} AND category = {p} "
                f"AND {OPEN_CASE} AND lat BETWEEN {p} AND {p} AND lon BETWEEN {p} AND {p} "
                f"AND reported_at >= {p}",
                [tenant, category, min_lat, max_lat, min_lon, max_lon, since.timestamp()],
            ).fetchall()
        near = [(distance_m(location, (row[8], row[9])), case_record(row)) for row in rows]
        return [record for d, record in sorted(near, key=lambda x: x[0]) if d <= radius_m]
