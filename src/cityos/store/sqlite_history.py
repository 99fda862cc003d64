"""The attribute history of the embedded store: every committed instance change, one row.

Rows are written in the transaction of the change itself (`record_history`), so history
is never behind the current state, even across a crash. Times are kept twice: as the ISO
text the client sees (inside `doc`) and as epoch milliseconds, which SQL can range over
and bucket by period without parsing text.

`SQLiteHistory` answers the temporal API: selection of temporal entities (q and scopeQ
compiled by `sqlite_filters`, q over the instances inside the interval only), instances
with lastN through a window function, and aggregation as one GROUP BY over period buckets.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cityos.context.entity import Entity, EntityChange, Instance
from cityos.context.geo import GeoMatcher
from cityos.context.query import TypeExpr
from cityos.context.temporal import (
    AggregatedAttribute,
    Aggregation,
    Period,
    TemporalEntity,
    text_epoch_ms,
)
from cityos.store.history import INSTANCE_PREFIX, TemporalQuery, TemporalResult
from cityos.store.rows import (
    AGGREGATES,
    ALL_TENANTS,
    DAY_MS,
    STDDEV_PARTS,
    history_row,
    merged_instance,
    period_values,
)
from cityos.store.rows import instance_row as _row_id
from cityos.store.rows import is_geometry as _is_geometry
from cityos.store.rows import temporal_entity as _temporal_entity
from cityos.store.rows import temporal_entity_row as _entity_row
from cityos.store.sqlite_filters import compile_q, compile_scope

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore

HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS attr_history (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    entity TEXT NOT NULL,
    attr TEXT NOT NULL,
    dataset_id TEXT,
    observed_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    num REAL,
    value TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attr_history_by_time
    ON attr_history (tenant, entity, attr, observed_ms);
CREATE TABLE IF NOT EXISTS temporal_entities (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history_retention (
    tenant TEXT PRIMARY KEY,
    days INTEGER NOT NULL
);
"""
"""`observed_ms` is observedAt, or modifiedAt for instances without one; `num` holds the
value when it is a number (what sum/avg/min/max aggregate); `value` is the value as JSON
(what distinctCount compares); `doc` is the whole expanded instance. `history_retention`
keeps days per tenant; the tenant `*` holds the default for all."""

_TIME_COLUMN = {"observedAt": "observed_ms", "createdAt": "created_ms", "modifiedAt": "modified_ms"}
_PRUNE_BATCH = 5000
_SCAN_BATCH = 500

_HISTORY_INSERT = (
    "INSERT INTO attr_history (tenant, entity, attr, dataset_id, observed_ms, "
    "modified_ms, created_ms, num, value, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ENTITY_UPSERT = (
    "INSERT INTO temporal_entities (tenant, id, doc, created_at, modified_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, id) DO UPDATE SET "
    "doc = excluded.doc, modified_at = excluded.modified_at"
)


def record_history(db: sqlite3.Connection, tenant: str, changes: Sequence[EntityChange]) -> None:
    """Add a history row for every instance these changes wrote, inside the caller's transaction."""
    rows: list[tuple[Any, ...]] = []
    entities: list[tuple[str, str, str, str, str]] = []
    for change in changes:
        after = change.after
        if after is None:
            continue
        entities.append(_entity_row(tenant, after))
        rows.extend(
            history_row(tenant, after.id, attr, inst, after.modified_at)
            for attr, inst in change.changed_instances()
        )
    if entities:
        db.executemany(_ENTITY_UPSERT, entities)
    if rows:
        db.executemany(_HISTORY_INSERT, rows)


@dataclass(slots=True)
class _Sql:
    """Conditions joined by AND, with their parameters in order."""

    clauses: list[str]
    params: list[Any]

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    @property
    def where(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) or "1"


def _instances_sql(tenant: str, query: TemporalQuery, alias: str = "h") -> _Sql:
    """The instances a query covers: tenant, interval, attrs, datasetIds (on `alias`)."""
    sql = _Sql([f"{alias}.tenant = ?"], [tenant])
    interval = query.interval
    column = f"{alias}.{_TIME_COLUMN[interval.timeproperty]}"
    if interval.lower_ms is not None:
        sql.add(f"{column} >= ?", interval.lower_ms)
    if interval.upper_ms is not None:
        sql.add(f"{column} < ?", interval.upper_ms)
    attrs = query.entities.attrs
    if attrs:
        sql.add(f"{alias}.attr IN ({','.join('?' * len(attrs))})", *attrs)
    if query.datasets is not None:
        named = [d for d in query.datasets if d is not None]
        test = f"{alias}.dataset_id IN ({','.join('?' * len(named))})" if named else "0"
        if None in query.datasets:
            test = f"{alias}.dataset_id IS NULL OR {test}"
        sql.add(test, *named)
    return sql


def _types_sql(expr: TypeExpr) -> tuple[str, list[Any]]:
    """Temporal entities having all types of at least one group (types are in `e.doc`)."""
    has = "EXISTS (SELECT 1 FROM json_each(e.doc, '$.types') t WHERE t.value = ?)"
    groups = [" AND ".join([has] * len(group)) for group in expr]
    return " OR ".join(f"({g})" for g in groups) or "0", [t for group in expr for t in group]


class SQLiteHistory:
    """The `HistoryStore` of `SQLiteStore`, in the same database file and under its lock."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    # -- queries -------------------------------------------------------------------------

    def query(self, tenant: str, query: TemporalQuery) -> TemporalResult:
        with self._store.reading() as db:
            found, count, more = self._select(db, tenant, query)
            entities = {e.entity.id: e for e in found}
            if query.aggregation is not None:
                self._aggregate(db, tenant, query, query.aggregation, entities)
            else:
                self._instances(db, tenant, query, entities)
        return TemporalResult(found, count, more)

    def _select(
        self, db: sqlite3.Connection, tenant: str, query: TemporalQuery
    ) -> tuple[list[TemporalEntity], int | None, bool]:
        """The page of temporal entities matching the query, with the total on request."""
        selector = query.entities
        window = _instances_sql(tenant, query)
        source, params = "temporal_entities e", []
        if selector.q is not None:
            # q sees only the instances inside the interval, gathered as an entity document.
            inner = _instances_sql(tenant, query, "w")
            source = (
                "(SELECT t.tenant, t.id, t.created_at, t.modified_at, json_set(t.doc, '$.attrs', "
                "json((SELECT json_group_object(g.attr, json(g.items)) FROM (SELECT w.attr, "
                "json_group_array(json(w.doc)) AS items FROM attr_history w WHERE "
                f"w.entity = t.id AND {inner.where} GROUP BY w.attr) g))) AS doc "
                "FROM temporal_entities t WHERE t.tenant = ?) e"
            )
            params = [*inner.params, tenant]
        sql = _Sql(["e.tenant = ?"], [tenant])
        if selector.ids is not None:
            sql.add(f"e.id IN ({','.join('?' * len(selector.ids))})" if selector.ids else "0")
            sql.params.extend(selector.ids)
        if selector.id_pattern is not None:
            sql.add("REGEXP(?, e.id)", selector.id_pattern)
        if selector.types is not None:
            sql.add(*_flat(_types_sql(selector.types)))
        if selector.scope_q is not None:
            sql.add(*_flat(compile_scope(selector.scope_q)))
        if not query.with_empty:
            sql.add(
                f"EXISTS (SELECT 1 FROM attr_history h WHERE h.entity = e.id AND {window.where})",
                *window.params,
            )
        if selector.q is not None:
            sql.add(*_flat(compile_q(selector.q)))
        text = (
            f"SELECT e.id, e.doc, e.created_at, e.modified_at FROM {source} "
            f"WHERE {sql.where} ORDER BY e.id"
        )
        all_params = [*params, *sql.params]
        if selector.geo is None:
            rows = db.execute(
                text + " LIMIT ? OFFSET ?", (*all_params, selector.limit + 1, selector.offset)
            ).fetchall()
            more = len(rows) > selector.limit
            count = None
            if selector.count:
                count = db.execute(f"SELECT count(*) FROM ({text})", all_params).fetchone()[0]
            return [_temporal_entity(r) for r in rows[: selector.limit]], count, more
        return self._select_geo(db, tenant, query, text, all_params)

    def _select_geo(
        self,
        db: sqlite3.Connection,
        tenant: str,
        query: TemporalQuery,
        text: str,
        params: list[Any],
    ) -> tuple[list[TemporalEntity], int | None, bool]:
        """Candidates in id order, kept when a GeoProperty instance in the interval matches."""
        selector = query.entities
        assert selector.geo is not None
        matcher = GeoMatcher(selector.geo)
        window = _instances_sql(tenant, query)
        geo_sql = (
            f"SELECT h.value FROM attr_history h WHERE h.entity = ? AND h.attr = ? "
            f"AND {window.where}"
        )
        found: list[TemporalEntity] = []
        matched = 0
        for row in db.execute(text, params).fetchall():
            values = db.execute(geo_sql, (row[0], selector.geo.geoproperty, *window.params))
            if not any(_is_geometry(v) and matcher(orjson.loads(v)) for (v,) in values):
                continue
            matched += 1
            if matched > selector.offset and len(found) < selector.limit:
                found.append(_temporal_entity(row))
            elif len(found) >= selector.limit and not selector.count:
                break
        more = matched > selector.offset + len(found)
        return found, matched if selector.count else None, more

    def _instances(
        self,
        db: sqlite3.Connection,
        tenant: str,
        query: TemporalQuery,
        entities: dict[str, TemporalEntity],
    ) -> None:
        """Fill in the instances of these entities, in time order, each with its instanceId."""
        window = _instances_sql(tenant, query)
        column = "h." + _TIME_COLUMN[query.interval.timeproperty]
        for ids in _chunks(list(entities)):
            marks = ",".join("?" * len(ids))
            rows_sql = (
                f"SELECT h.entity, h.attr, h.id, h.doc, {column} AS t FROM attr_history h "
                f"WHERE {window.where} AND h.entity IN ({marks})"
            )
            params: list[Any] = [*window.params, *ids]
            if query.last_n is not None:
                rows_sql = (
                    "SELECT entity, attr, id, doc, t FROM (SELECT h.entity, h.attr, h.id, h.doc, "
                    f"{column} AS t, row_number() OVER (PARTITION BY h.entity, h.attr "
                    f"ORDER BY {column} DESC, h.id DESC) AS n FROM attr_history h "
                    f"WHERE {window.where} AND h.entity IN ({marks})) WHERE n <= ?"
                )
                params.append(query.last_n)
            for entity_id, attr, row_id, doc, _ in db.execute(
                f"SELECT * FROM ({rows_sql}) ORDER BY 1, 2, 5, 3", params
            ):
                inst = orjson.loads(doc)
                inst["instanceId"] = f"{INSTANCE_PREFIX}{row_id}"
                entities[entity_id].entity.attrs.setdefault(attr, []).append(inst)

    def _aggregate(
        self,
        db: sqlite3.Connection,
        tenant: str,
        query: TemporalQuery,
        aggregation: Aggregation,
        entities: dict[str, TemporalEntity],
    ) -> None:
        """One GROUP BY per chunk of entities: a row per entity, attribute and period."""
        interval = query.interval
        window = _instances_sql(tenant, query)
        column = "h." + _TIME_COLUMN[interval.timeproperty]
        period = aggregation.period_ms
        methods = aggregation.methods
        columns = ", ".join(AGGREGATES[m] for m in methods if m != "stddev")
        if "stddev" in methods:
            columns += (", " if columns else "") + STDDEV_PARTS
        for ids in _chunks(list(entities)):
            marks = ",".join("?" * len(ids))
            where = f"{window.where} AND h.entity IN ({marks})"
            where_params: list[Any] = [*window.params, *ids]
            source, source_params = "attr_history h", []
            origin, origin_params = "?", [interval.lower_ms]
            if interval.lower_ms is None:
                # Periods start at each attribute's first instance inside the interval.
                source = (
                    f"attr_history h JOIN (SELECT h.entity AS entity, h.attr AS attr, "
                    f"min({column}) AS first FROM attr_history h WHERE {where} "
                    "GROUP BY h.entity, h.attr) o ON o.entity = h.entity AND o.attr = h.attr"
                )
                source_params, origin, origin_params = where_params, "o.first", []
            bucket = f"({column} - {origin}) / ?" if period else "0"
            sql = (
                f"SELECT h.entity, h.attr, {bucket} AS b, min({origin}), max({column}), {columns} "
                f"FROM {source} WHERE {where} GROUP BY h.entity, h.attr, b "
                "ORDER BY h.entity, h.attr, b"
            )
            bucket_params = [*origin_params, period] if period else []
            all_params = [*bucket_params, *origin_params, *source_params, *where_params]
            for row in db.execute(sql, all_params):
                entity_id, attr, index, first, last = row[:5]
                start = first + index * period
                end = start + period if period else (interval.upper_ms or last)
                values = period_values(methods, row[5:])
                aggregates = entities[entity_id].aggregates
                if attr not in aggregates:
                    aggregates[attr] = AggregatedAttribute(_attr_type(db, tenant, entity_id, attr))
                aggregates[attr].periods.append(Period(start, end, values))

    # -- writes --------------------------------------------------------------------------

    def add(self, tenant: str, entity: Entity) -> bool:
        with self._store.transaction() as db:
            if tenant:
                db.execute(
                    "INSERT OR IGNORE INTO tenants (name, created_at) VALUES (?, ?)",
                    (tenant, entity.created_at),
                )
            old = db.execute(
                "SELECT doc, created_at FROM temporal_entities WHERE tenant = ? AND id = ?",
                (tenant, entity.id),
            ).fetchone()
            if old is not None:
                entity.types = list(dict.fromkeys([*orjson.loads(old[0])["types"], *entity.types]))
                entity.created_at = old[1]
            db.execute(_ENTITY_UPSERT, _entity_row(tenant, entity))
            self._insert(db, tenant, entity.id, entity.attrs, entity.modified_at)
        return old is None

    def append(self, tenant: str, entity_id: str, attrs: dict[str, list[Instance]]) -> bool:
        with self._store.transaction() as db:
            now = next((i["modifiedAt"] for ins in attrs.values() for i in ins), None)
            cursor = db.execute(
                "UPDATE temporal_entities SET modified_at = coalesce(?, modified_at) "
                "WHERE tenant = ? AND id = ?",
                (now, tenant, entity_id),
            )
            if cursor.rowcount == 0:
                return False
            self._insert(db, tenant, entity_id, attrs, now or "")
        return True

    @staticmethod
    def _insert(
        db: sqlite3.Connection,
        tenant: str,
        entity_id: str,
        attrs: dict[str, list[Instance]],
        modified_at: str,
    ) -> None:
        db.executemany(
            _HISTORY_INSERT,
            [
                history_row(tenant, entity_id, attr, inst, modified_at)
                for attr, instances in attrs.items()
                for inst in instances
            ],
        )

    def load_series(
        self, tenant: str, entity: Entity, attr: str, points: Iterable[tuple[int, float]]
    ) -> int:
        """Bulk path for replays and benchmarks: numeric Property instances of one attribute.

        `points` are (observedAt as epoch ms, value); the instance documents are built by
        SQLite itself, so millions of rows load at executemany speed. Returns the count.
        """
        now = entity.modified_at
        now_ms = text_epoch_ms(now)
        with self._store.transaction() as db:
            db.execute(_ENTITY_UPSERT, _entity_row(tenant, entity))
            cursor = db.executemany(
                "INSERT INTO attr_history (tenant, entity, attr, dataset_id, observed_ms, "
                "modified_ms, created_ms, num, value, doc) VALUES (:tenant, :entity, :attr, "
                "NULL, :t, :now_ms, :now_ms, :v, :v, json_object('type', 'Property', "
                "'value', :v, 'observedAt', strftime('%Y-%m-%dT%H:%M:%fZ', :t / 1000.0, "
                "'unixepoch'), 'createdAt', :now, 'modifiedAt', :now))",
                (
                    {"tenant": tenant, "entity": entity.id, "attr": attr, "t": t, "v": v}
                    | {"now": now, "now_ms": now_ms}
                    for t, v in points
                ),
            )
        return cursor.rowcount

    def delete_entity(self, tenant: str, entity_id: str) -> bool:
        with self._store.transaction() as db:
            db.execute(
                "DELETE FROM attr_history WHERE tenant = ? AND entity = ?", (tenant, entity_id)
            )
            cursor = db.execute(
                "DELETE FROM temporal_entities WHERE tenant = ? AND id = ?", (tenant, entity_id)
            )
        return cursor.rowcount > 0

    def delete_attribute(
        self, tenant: str, entity_id: str, attr: str, dataset_id: str | None, delete_all: bool
    ) -> bool:
        sql = "DELETE FROM attr_history WHERE tenant = ? AND entity = ? AND attr = ?"
        params: list[Any] = [tenant, entity_id, attr]
        if not delete_all:
            sql += " AND dataset_id IS ?"
            params.append(dataset_id)
        with self._store.transaction() as db:
            return db.execute(sql, params).rowcount > 0

    def update_instance(
        self, tenant: str, entity_id: str, attr: str, instance_id: str, fragment: Instance
    ) -> bool:
        row_id = _row_id(instance_id)
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT doc FROM attr_history WHERE id = ? AND tenant = ? AND entity = ? "
                "AND attr = ?",
                (row_id, tenant, entity_id, attr),
            ).fetchone()
            if row is None:
                return False
            merged = merged_instance(orjson.loads(row[0]), fragment)
            values = history_row(tenant, entity_id, attr, merged, fragment["modifiedAt"])
            db.execute(
                "UPDATE attr_history SET dataset_id = ?, observed_ms = ?, modified_ms = ?, "
                "created_ms = ?, num = ?, value = ?, doc = ? WHERE id = ?",
                (*values[3:], row_id),
            )
        return True

    def delete_instance(self, tenant: str, entity_id: str, attr: str, instance_id: str) -> bool:
        with self._store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM attr_history WHERE id = ? AND tenant = ? AND entity = ? AND attr = ?",
                (_row_id(instance_id), tenant, entity_id, attr),
            )
        return cursor.rowcount > 0

    # -- retention -----------------------------------------------------------------------

    def prune_history(self, tenant: str, before_ms: int) -> int:
        """Deleted in batches (oldest rows come first by id), so writers wait only briefly."""
        deleted = 0
        while True:
            with self._store.transaction() as db:
                cursor = db.execute(
                    "DELETE FROM attr_history WHERE id IN (SELECT id FROM attr_history "
                    "WHERE tenant = ? AND observed_ms < ? LIMIT ?)",
                    (tenant, before_ms, _PRUNE_BATCH),
                )
            deleted += cursor.rowcount
            if cursor.rowcount < _PRUNE_BATCH:
                return deleted

    def set_retention(self, tenant: str | None, days: int | None) -> None:
        if days is not None and days < 1:
            raise ValueError("Retention is at least one day.")
        key = ALL_TENANTS if tenant is None else tenant
        with self._store.transaction() as db:
            if days is None:
                db.execute("DELETE FROM history_retention WHERE tenant = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO history_retention (tenant, days) VALUES (?, ?) "
                    "ON CONFLICT (tenant) DO UPDATE SET days = excluded.days",
                    (key, days),
                )

    def retention(self) -> dict[str | None, int]:
        with self._store.reading() as db:
            rows = db.execute("SELECT tenant, days FROM history_retention").fetchall()
        return {None if t == ALL_TENANTS else t: days for t, days in rows}

    def apply_retention(self, now_ms: int) -> int:
        kept = self.retention()
        default = kept.get(None)
        with self._store.reading() as db:
            tenants = [t for (t,) in db.execute("SELECT DISTINCT tenant FROM attr_history")]
        deleted = 0
        for tenant in tenants:
            days = kept.get(tenant, default)
            if days is not None:
                deleted += self.prune_history(tenant, now_ms - days * DAY_MS)
        return deleted


def _attr_type(db: sqlite3.Connection, tenant: str, entity_id: str, attr: str) -> str:
    """The attribute type of an entity's latest instance of `attr`."""
    row = db.execute(
        "SELECT doc ->> '$.type' FROM attr_history WHERE tenant = ? AND entity = ? AND attr = ? "
        "ORDER BY observed_ms DESC LIMIT 1",
        (tenant, entity_id, attr),
    ).fetchone()
    return str(row[0]) if row else "Property"


def _flat(part: tuple[str, Sequence[Any]]) -> tuple[Any, ...]:
    return (part[0], *part[1])


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _SCAN_BATCH):
        yield ids[start : start + _SCAN_BATCH]
