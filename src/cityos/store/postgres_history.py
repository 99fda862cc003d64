"""The attribute history in PostgreSQL: one row per committed instance change, in a table
partitioned by month of `observed_ms`.

The same rows and semantics as `sqlite_history` (read its docstring): rows are written in
the transaction of the change itself (`record_history`); times are kept as ISO text inside
`doc` (JSONB) and as epoch milliseconds, which SQL ranges over (pruning the partitions a
query's interval cannot touch) and buckets by period; aggregation is one GROUP BY.

Partitions are created on demand, inside the writing transaction, for the months its rows
fall in; the months known to exist are cached, and the cache is dropped whenever a write
transaction rolls back (the partitions it created are gone with it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from cityos.context.entity import Entity, EntityChange, Instance
from cityos.context.geo import GeoMatcher
from cityos.context.temporal import (
    AggregatedAttribute,
    Aggregation,
    Period,
    TemporalEntity,
    text_epoch_ms,
)
from cityos.store.history import INSTANCE_PREFIX, TemporalQuery, TemporalResult
from cityos.store.postgres_db import Db, execute_rows
from cityos.store.postgres_filters import compile_q, compile_scope, compile_types
from cityos.store.rows import (
    AGGREGATES,
    ALL_TENANTS,
    DAY_MS,
    STDDEV_PARTS,
    dumps,
    history_row,
    instance_row,
    is_geometry,
    merged_instance,
    period_values,
    temporal_entity,
)

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore

_TIME_COLUMN = {"observedAt": "observed_ms", "createdAt": "created_ms", "modifiedAt": "modified_ms"}
_PRUNE_BATCH = 5000
_SCAN_BATCH = 500

_HISTORY_INSERT = (
    "INSERT INTO attr_history (tenant, entity, attr, dataset_id, observed_ms, "
    "modified_ms, created_ms, num, value, doc) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
)
_ENTITY_UPSERT = (
    "INSERT INTO temporal_entities (tenant, id, types, doc, created_at, modified_at) "
    "VALUES (%s, %s, %s, %s::jsonb, %s, %s) ON CONFLICT (tenant, id) DO UPDATE SET "
    "types = excluded.types, doc = excluded.doc, modified_at = excluded.modified_at"
)


class Partitions:
    """The monthly partitions of `attr_history` known to exist, created when missing."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, db: Db, observed_ms: Iterable[int]) -> None:
        """Create the partitions these times fall in (inside the caller's transaction)."""
        months = {_month(ms) for ms in observed_ms}
        with self._lock:
            missing = {m for m in months if _partition_name(m) not in self._known}
        if not missing:
            return
        existing = {
            str(name)
            for (name,) in db.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'attr_history'::regclass"
            ).fetchall()
        }
        for year, month in sorted(missing):
            name = _partition_name((year, month))
            if name in existing:
                continue
            start = _month_start_ms(year, month)
            end = (
                "MAXVALUE"
                if (year, month) == (9999, 12)
                else _month_start_ms(year + month // 12, month % 12 + 1)
            )
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF attr_history "
                f"FOR VALUES FROM ({start}) TO ({end})"
            )
            existing.add(name)
        with self._lock:
            self._known |= existing

    def forget(self) -> None:
        """A write transaction rolled back: what it created may be gone."""
        with self._lock:
            self._known.clear()


def _month(ms: int) -> tuple[int, int]:
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.year, moment.month


def _month_start_ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp()) * 1000


def _partition_name(month: tuple[int, int]) -> str:
    return f"attr_history_y{month[0]:04d}m{month[1]:02d}"


def record_history(
    db: Db, partitions: Partitions, tenant: str, changes: Sequence[EntityChange]
) -> None:
    """Add a history row for every instance these changes wrote, inside the caller's transaction."""
    rows: list[tuple[Any, ...]] = []
    entities: list[tuple[Any, ...]] = []
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
        execute_rows(db, _ENTITY_UPSERT, entities)
    _insert_rows(db, partitions, rows)


def _insert_rows(db: Db, partitions: Partitions, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        partitions.ensure(db, (row[4] for row in rows))
        execute_rows(db, _HISTORY_INSERT, rows)


def _entity_row(tenant: str, entity: Entity) -> tuple[Any, ...]:
    doc = dumps({"types": entity.types, "scope": entity.scope})
    return (tenant, entity.id, entity.types, doc, entity.created_at, entity.modified_at)


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
        return " AND ".join(f"({c})" for c in self.clauses) or "true"


def _instances_sql(tenant: str, query: TemporalQuery, alias: str = "h") -> _Sql:
    """The instances a query covers: tenant, interval, attrs, datasetIds (on `alias`)."""
    sql = _Sql([f"{alias}.tenant = %s"], [tenant])
    interval = query.interval
    column = f"{alias}.{_TIME_COLUMN[interval.timeproperty]}"
    if interval.lower_ms is not None:
        sql.add(f"{column} >= %s::bigint", interval.lower_ms)
    if interval.upper_ms is not None:
        sql.add(f"{column} < %s::bigint", interval.upper_ms)
    attrs = query.entities.attrs
    if attrs:
        sql.add(f"{alias}.attr = ANY(%s)", list(attrs))
    if query.datasets is not None:
        named = [d for d in query.datasets if d is not None]
        test = f"{alias}.dataset_id = ANY(%s)"
        if None in query.datasets:
            test = f"{alias}.dataset_id IS NULL OR {test}"
        sql.add(test, named)
    return sql


class PostgresHistory:
    """The `HistoryStore` of `PostgresStore`."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self.partitions = Partitions()
        """The partitions of this store's schema known to exist."""

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
        self, db: Db, tenant: str, query: TemporalQuery
    ) -> tuple[list[TemporalEntity], int | None, bool]:
        """The page of temporal entities matching the query, with the total on request."""
        selector = query.entities
        window = _instances_sql(tenant, query)
        source, params = "temporal_entities e", []
        if selector.q is not None:
            # q sees only the instances inside the interval, gathered as an entity document.
            inner = _instances_sql(tenant, query, "w")
            source = (
                "(SELECT t.tenant, t.id, t.types, t.created_at, t.modified_at, "
                "jsonb_set(t.doc, '{attrs}', coalesce((SELECT jsonb_object_agg(g.attr, g.items) "
                "FROM (SELECT w.attr, jsonb_agg(w.doc ORDER BY w.observed_ms, w.id) AS items "
                f"FROM attr_history w WHERE w.entity = t.id AND {inner.where} "
                "GROUP BY w.attr) g), '{}'::jsonb)) AS doc "
                "FROM temporal_entities t WHERE t.tenant = %s) e"
            )
            params = [*inner.params, tenant]
        sql = _Sql(["e.tenant = %s"], [tenant])
        if selector.ids is not None:
            sql.add("e.id = ANY(%s)" if selector.ids else "false")
            if selector.ids:
                sql.params.append(list(selector.ids))
        if selector.id_pattern is not None:
            sql.add("e.id ~ %s", selector.id_pattern)
        if selector.types is not None:
            sql.add(*_flat(compile_types(selector.types)))
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
            f'WHERE {sql.where} ORDER BY e.id COLLATE "C"'
        )
        all_params = [*params, *sql.params]
        if selector.geo is None:
            rows = db.execute(
                text + " LIMIT %s OFFSET %s", [*all_params, selector.limit + 1, selector.offset]
            ).fetchall()
            more = len(rows) > selector.limit
            count = None
            if selector.count:
                found = db.execute(f"SELECT count(*) FROM ({text}) c", all_params).fetchone()
                count = int(found[0]) if found else 0
            return [temporal_entity(r) for r in rows[: selector.limit]], count, more
        return self._select_geo(db, tenant, query, text, all_params)

    def _select_geo(
        self, db: Db, tenant: str, query: TemporalQuery, text: str, params: list[Any]
    ) -> tuple[list[TemporalEntity], int | None, bool]:
        """Candidates in id order, kept when a GeoProperty instance in the interval matches."""
        selector = query.entities
        assert selector.geo is not None
        matcher = GeoMatcher(selector.geo)
        window = _instances_sql(tenant, query)
        geo_sql = (
            "SELECT h.value FROM attr_history h WHERE h.entity = %s AND h.attr = %s "
            f"AND {window.where}"
        )
        found: list[TemporalEntity] = []
        matched = 0
        for row in db.execute(text, params).fetchall():
            values = db.execute(
                geo_sql, [row[0], selector.geo.geoproperty, *window.params]
            ).fetchall()
            if not any(is_geometry(v) and matcher(orjson.loads(v)) for (v,) in values):
                continue
            matched += 1
            if matched > selector.offset and len(found) < selector.limit:
                found.append(temporal_entity(row))
            elif len(found) >= selector.limit and not selector.count:
                break
        more = matched > selector.offset + len(found)
        return found, matched if selector.count else None, more

    def _instances(
        self, db: Db, tenant: str, query: TemporalQuery, entities: dict[str, TemporalEntity]
    ) -> None:
        """Fill in the instances of these entities, in time order, each with its instanceId."""
        window = _instances_sql(tenant, query)
        column = "h." + _TIME_COLUMN[query.interval.timeproperty]
        for ids in _chunks(list(entities)):
            rows_sql = (
                f"SELECT h.entity, h.attr, h.id, h.doc, {column} AS t FROM attr_history h "
                f"WHERE {window.where} AND h.entity = ANY(%s)"
            )
            params: list[Any] = [*window.params, ids]
            if query.last_n is not None:
                rows_sql = (
                    "SELECT entity, attr, id, doc, t FROM (SELECT h.entity, h.attr, h.id, h.doc, "
                    f"{column} AS t, row_number() OVER (PARTITION BY h.entity, h.attr "
                    f"ORDER BY {column} DESC, h.id DESC) AS n FROM attr_history h "
                    f"WHERE {window.where} AND h.entity = ANY(%s)) x WHERE n <= %s"
                )
                params.append(query.last_n)
            for entity_id, attr, row_id, doc, _ in db.execute(
                f"SELECT * FROM ({rows_sql}) r ORDER BY 1, 2, 5, 3", params
            ).fetchall():
                inst = orjson.loads(doc)
                inst["instanceId"] = f"{INSTANCE_PREFIX}{row_id}"
                entities[entity_id].entity.attrs.setdefault(attr, []).append(inst)

    def _aggregate(
        self,
        db: Db,
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
            where = f"{window.where} AND h.entity = ANY(%s)"
            where_params: list[Any] = [*window.params, ids]
            source, source_params = "attr_history h", []
            origin, origin_params = "%s::bigint", [interval.lower_ms]
            if interval.lower_ms is None:
                # Periods start at each attribute's first instance inside the interval.
                source = (
                    f"attr_history h JOIN (SELECT h.entity AS entity, h.attr AS attr, "
                    f"min({column}) AS first FROM attr_history h WHERE {where} "
                    "GROUP BY h.entity, h.attr) o ON o.entity = h.entity AND o.attr = h.attr"
                )
                source_params, origin, origin_params = where_params, "o.first", []
            bucket = f"({column} - {origin}) / %s::bigint" if period else "0"
            sql = (
                f"SELECT h.entity, h.attr, {bucket} AS b, min({origin}), max({column}), {columns} "
                f"FROM {source} WHERE {where} GROUP BY h.entity, h.attr, b "
                "ORDER BY h.entity, h.attr, b"
            )
            bucket_params = [*origin_params, period] if period else []
            all_params = [*bucket_params, *origin_params, *source_params, *where_params]
            for row in db.execute(sql, all_params).fetchall():
                entity_id, attr, index, first, last = row[:5]
                start = int(first) + int(index) * period
                end = start + period if period else (interval.upper_ms or int(last))
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
                    "INSERT INTO tenants (name, created_at) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO NOTHING",
                    [tenant, entity.created_at],
                )
            old = db.execute(
                "SELECT doc, created_at FROM temporal_entities WHERE tenant = %s AND id = %s",
                [tenant, entity.id],
            ).fetchone()
            if old is not None:
                entity.types = list(dict.fromkeys([*orjson.loads(old[0])["types"], *entity.types]))
                entity.created_at = old[1]
            db.execute(_ENTITY_UPSERT, _entity_row(tenant, entity))
            _insert_rows(
                db, self.partitions, _rows(tenant, entity.id, entity.attrs, entity.modified_at)
            )
        return old is None

    def append(self, tenant: str, entity_id: str, attrs: dict[str, list[Instance]]) -> bool:
        with self._store.transaction() as db:
            now = next((i["modifiedAt"] for ins in attrs.values() for i in ins), None)
            cursor = db.execute(
                "UPDATE temporal_entities SET modified_at = coalesce(%s, modified_at) "
                "WHERE tenant = %s AND id = %s",
                [now, tenant, entity_id],
            )
            if cursor.rowcount == 0:
                return False
            _insert_rows(db, self.partitions, _rows(tenant, entity_id, attrs, now or ""))
        return True

    def load_series(
        self, tenant: str, entity: Entity, attr: str, points: Iterable[tuple[int, float]]
    ) -> int:
        """Bulk path for replays and benchmarks: numeric Property instances of one attribute.

        `points` are (observedAt as epoch ms, value), loaded with COPY. Returns the count.
        """
        now = entity.modified_at
        now_ms = text_epoch_ms(now)
        points = list(points)
        with self._store.transaction() as db:
            db.execute(_ENTITY_UPSERT, _entity_row(tenant, entity))
            self.partitions.ensure(db, (t for t, _ in points))
            with db.cursor().copy(
                "COPY attr_history (tenant, entity, attr, observed_ms, modified_ms, created_ms, "
                "num, value, doc) FROM STDIN"
            ) as copy:
                for t, v in points:
                    doc = {
                        "type": "Property",
                        "value": v,
                        "observedAt": _iso_ms(t),
                        "createdAt": now,
                        "modifiedAt": now,
                    }
                    copy.write_row(
                        (tenant, entity.id, attr, t, now_ms, now_ms, v, dumps(v), dumps(doc))
                    )
        return len(points)

    def delete_entity(self, tenant: str, entity_id: str) -> bool:
        with self._store.transaction() as db:
            db.execute(
                "DELETE FROM attr_history WHERE tenant = %s AND entity = %s", [tenant, entity_id]
            )
            cursor = db.execute(
                "DELETE FROM temporal_entities WHERE tenant = %s AND id = %s", [tenant, entity_id]
            )
            return cursor.rowcount > 0

    def delete_attribute(
        self, tenant: str, entity_id: str, attr: str, dataset_id: str | None, delete_all: bool
    ) -> bool:
        sql = "DELETE FROM attr_history WHERE tenant = %s AND entity = %s AND attr = %s"
        params: list[Any] = [tenant, entity_id, attr]
        if not delete_all:
            sql += " AND dataset_id IS NOT DISTINCT FROM %s"
            params.append(dataset_id)
        with self._store.transaction() as db:
            return db.execute(sql, params).rowcount > 0

    def update_instance(
        self, tenant: str, entity_id: str, attr: str, instance_id: str, fragment: Instance
    ) -> bool:
        row_id = instance_row(instance_id)
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT doc FROM attr_history WHERE id = %s AND tenant = %s AND entity = %s "
                "AND attr = %s",
                [row_id, tenant, entity_id, attr],
            ).fetchone()
            if row is None:
                return False
            merged = merged_instance(orjson.loads(row[0]), fragment)
            values = history_row(tenant, entity_id, attr, merged, fragment["modifiedAt"])
            self.partitions.ensure(db, [values[4]])  # a new observedAt may move it to another month
            db.execute(
                "UPDATE attr_history SET dataset_id = %s, observed_ms = %s, modified_ms = %s, "
                "created_ms = %s, num = %s, value = %s, doc = %s::jsonb WHERE id = %s",
                [*values[3:], row_id],
            )
        return True

    def delete_instance(self, tenant: str, entity_id: str, attr: str, instance_id: str) -> bool:
        with self._store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM attr_history WHERE id = %s AND tenant = %s AND entity = %s "
                "AND attr = %s",
                [instance_row(instance_id), tenant, entity_id, attr],
            )
            return cursor.rowcount > 0

    # -- retention -----------------------------------------------------------------------

    def prune_history(self, tenant: str, before_ms: int) -> int:
        """Deleted in batches, so writers wait only briefly."""
        deleted = 0
        while True:
            with self._store.transaction() as db:
                cursor = db.execute(
                    "DELETE FROM attr_history WHERE id IN (SELECT id FROM attr_history "
                    "WHERE tenant = %s AND observed_ms < %s::bigint LIMIT %s)",
                    [tenant, before_ms, _PRUNE_BATCH],
                )
                count = cursor.rowcount
            deleted += count
            if count < _PRUNE_BATCH:
                return deleted

    def set_retention(self, tenant: str | None, days: int | None) -> None:
        if days is not None and days < 1:
            raise ValueError("Retention is at least one day.")
        key = ALL_TENANTS if tenant is None else tenant
        with self._store.transaction() as db:
            if days is None:
                db.execute("DELETE FROM history_retention WHERE tenant = %s", [key])
            else:
                db.execute(
                    "INSERT INTO history_retention (tenant, days) VALUES (%s, %s) "
                    "ON CONFLICT (tenant) DO UPDATE SET days = excluded.days",
                    [key, days],
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


def _rows(
    tenant: str, entity_id: str, attrs: dict[str, list[Instance]], modified_at: str
) -> list[tuple[Any, ...]]:
    return [
        history_row(tenant, entity_id, attr, inst, modified_at)
        for attr, instances in attrs.items()
        for inst in instances
    ]


def _iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def _attr_type(db: Db, tenant: str, entity_id: str, attr: str) -> str:
    """The attribute type of an entity's latest instance of `attr`."""
    row = db.execute(
        "SELECT doc ->> 'type' FROM attr_history WHERE tenant = %s AND entity = %s AND attr = %s "
        "ORDER BY observed_ms DESC LIMIT 1",
        [tenant, entity_id, attr],
    ).fetchone()
    return str(row[0]) if row else "Property"


def _flat(part: tuple[str, Sequence[Any]]) -> tuple[Any, ...]:
    return (part[0], *part[1])


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _SCAN_BATCH):
        yield ids[start : start + _SCAN_BATCH]
