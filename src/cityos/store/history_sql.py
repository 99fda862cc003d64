"""The temporal queries and retention both SQL stores share, written once over a `Dialect`.

`SqlHistory` answers the temporal API from the `attr_history` and `temporal_entities`
tables (see `sqlite_history` for their columns): selection of temporal entities (q and
scopeQ compiled by the backend's filters, q over the instances inside the interval only),
instances with lastN through a window function, and aggregation as one GROUP BY over period
buckets. A backend gives its dialect, its filter compilers and the subquery that gathers an
entity's instances as a document for q; the writes stay with the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from cityos.context.entity import Entity, EntityChange, Instance
from cityos.context.geo import GeoMatcher
from cityos.context.query import QNode, ScopeExpr, TypeExpr
from cityos.context.temporal import AggregatedAttribute, Aggregation, Period, TemporalEntity
from cityos.store.history import INSTANCE_PREFIX, HistoryRow, TemporalQuery, TemporalResult
from cityos.store.keyset_sql import keyset_batches
from cityos.store.rows import (
    AGGREGATES,
    ALL_TENANTS,
    DAY_MS,
    STDDEV_PARTS,
    history_row,
    instance_row,
    is_geometry,
    merged_instance,
    period_values,
    temporal_entity,
)
from cityos.store.sql_dialect import Dialect, Sql, SqlStore

ROW_COLUMNS = (
    "id, tenant, entity, attr, dataset_id, observed_ms, modified_ms, created_ms, num, value, doc"
)
"""The columns of `attr_history`, in the order of `HistoryRow`."""
TIME_COLUMN = {"observedAt": "observed_ms", "createdAt": "created_ms", "modifiedAt": "modified_ms"}
PRUNE_BATCH = 5000
SCAN_BATCH = 500


def instances_sql(dialect: Dialect, tenant: str, query: TemporalQuery, alias: str = "h") -> Sql:
    """The instances a query covers: tenant, interval, attrs, datasetIds (on `alias`)."""
    p, n = dialect.param(), dialect.param("int")
    sql = Sql(dialect, [f"{alias}.tenant = {p}"], [tenant])
    interval = query.interval
    column = f"{alias}.{TIME_COLUMN[interval.timeproperty]}"
    if interval.lower_ms is not None:
        sql.add(f"{column} >= {n}", interval.lower_ms)
    if interval.upper_ms is not None:
        sql.add(f"{column} < {n}", interval.upper_ms)
    attrs = query.entities.attrs
    if attrs:
        sql.add_part(dialect.in_list(f"{alias}.attr", attrs))
    if query.datasets is not None:
        named = [d for d in query.datasets if d is not None]
        test, params = dialect.in_list(f"{alias}.dataset_id", named)
        if None in query.datasets:
            test = f"{alias}.dataset_id IS NULL OR {test}"
        sql.add(test, *params)
    return sql


class SqlHistory:
    """Temporal queries and retention over `attr_history`, for a store with `reading()` and
    `transaction()` context managers yielding a DB-API connection."""

    dialect: Dialect

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    # -- what a backend gives ------------------------------------------------------------

    def _q_source(self, inner_where: str) -> str:
        """`temporal_entities` as `e`, each doc with its instances matching `inner_where`
        (on alias `w`) as attrs; parameters: those of `inner_where`, then the tenant."""
        raise NotImplementedError

    @staticmethod
    def _compile_types(expr: TypeExpr, /) -> tuple[str, Sequence[Any]]:
        raise NotImplementedError

    @staticmethod
    def _compile_scope(expr: ScopeExpr, /) -> tuple[str, Sequence[Any]]:
        raise NotImplementedError

    @staticmethod
    def _compile_q(expr: QNode, /) -> tuple[str, Sequence[Any]]:
        raise NotImplementedError

    _entity_upsert: str
    """Inserts a temporal entity, or updates its types, scope and modifiedAt."""

    @staticmethod
    def _entity_row(tenant: str, entity: Entity, /) -> tuple[Any, ...]:
        """The parameters of `_entity_upsert`."""
        raise NotImplementedError

    def _insert_rows(self, db: Any, rows: list[tuple[Any, ...]]) -> None:
        """Insert these `history_row`s (inside the caller's transaction)."""
        raise NotImplementedError

    def _prepare_rows(self, db: Any, rows: list[tuple[Any, ...]]) -> None:
        """Before these `history_row`s are written (in place or anew): nothing by default."""

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
        self, db: Any, tenant: str, query: TemporalQuery
    ) -> tuple[list[TemporalEntity], int | None, bool]:
        """The page of temporal entities matching the query, with the total on request."""
        d = self.dialect
        p = d.param()
        selector = query.entities
        window = instances_sql(d, tenant, query)
        source, params = "temporal_entities e", []
        if selector.q is not None:
            # q sees only the instances inside the interval, gathered as an entity document.
            inner = instances_sql(d, tenant, query, "w")
            source = self._q_source(inner.where)
            params = [*inner.params, tenant]
        sql = Sql(d, [f"e.tenant = {p}"], [tenant])
        if selector.ids is not None:
            sql.add_part(d.in_list("e.id", selector.ids))
        if selector.id_pattern is not None:
            sql.add(d.regexp("e.id"), selector.id_pattern)
        if selector.types is not None:
            sql.add_part(self._compile_types(selector.types))
        if selector.scope_q is not None:
            sql.add_part(self._compile_scope(selector.scope_q))
        if not query.with_empty:
            sql.add(
                f"EXISTS (SELECT 1 FROM attr_history h WHERE h.entity = e.id AND {window.where})",
                *window.params,
            )
        if selector.q is not None:
            sql.add_part(self._compile_q(selector.q))
        text = (
            f"SELECT e.id, e.doc, e.created_at, e.modified_at FROM {source} "
            f"WHERE {sql.where} ORDER BY e.id{d.collate}"
        )
        all_params = [*params, *sql.params]
        if selector.geo is None:
            rows = db.execute(
                text + f" LIMIT {p} OFFSET {p}", [*all_params, selector.limit + 1, selector.offset]
            ).fetchall()
            more = len(rows) > selector.limit
            count = None
            if selector.count:
                found = db.execute(f"SELECT count(*) FROM ({text}) c", all_params).fetchone()
                count = int(found[0]) if found else 0
            return [temporal_entity(r) for r in rows[: selector.limit]], count, more
        return self._select_geo(db, tenant, query, text, all_params)

    def _select_geo(
        self, db: Any, tenant: str, query: TemporalQuery, text: str, params: list[Any]
    ) -> tuple[list[TemporalEntity], int | None, bool]:
        """Candidates in id order, kept when a GeoProperty instance in the interval matches."""
        selector = query.entities
        assert selector.geo is not None
        matcher = GeoMatcher(selector.geo)
        p = self.dialect.param()
        window = instances_sql(self.dialect, tenant, query)
        geo_sql = (
            f"SELECT h.value FROM attr_history h WHERE h.entity = {p} AND h.attr = {p} "
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
        self, db: Any, tenant: str, query: TemporalQuery, entities: dict[str, TemporalEntity]
    ) -> None:
        """Fill in the instances of these entities, in time order, each with its instanceId."""
        d = self.dialect
        window = instances_sql(d, tenant, query)
        column = "h." + TIME_COLUMN[query.interval.timeproperty]
        for ids in _chunks(list(entities)):
            in_ids, ids_params = d.in_list("h.entity", ids)
            rows_sql = (
                f"SELECT h.entity, h.attr, h.id, h.doc, {column} AS t FROM attr_history h "
                f"WHERE {window.where} AND {in_ids}"
            )
            params: list[Any] = [*window.params, *ids_params]
            if query.last_n is not None:
                rows_sql = (
                    "SELECT entity, attr, id, doc, t FROM (SELECT h.entity, h.attr, h.id, h.doc, "
                    f"{column} AS t, row_number() OVER (PARTITION BY h.entity, h.attr "
                    f"ORDER BY {column} DESC, h.id DESC) AS n FROM attr_history h "
                    f"WHERE {window.where} AND {in_ids}) x WHERE n <= {d.param()}"
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
        db: Any,
        tenant: str,
        query: TemporalQuery,
        aggregation: Aggregation,
        entities: dict[str, TemporalEntity],
    ) -> None:
        """One GROUP BY per chunk of entities: a row per entity, attribute and period."""
        d = self.dialect
        interval = query.interval
        window = instances_sql(d, tenant, query)
        column = "h." + TIME_COLUMN[interval.timeproperty]
        period = aggregation.period_ms
        methods = aggregation.methods
        columns = ", ".join(AGGREGATES[m] for m in methods if m != "stddev")
        if "stddev" in methods:
            columns += (", " if columns else "") + STDDEV_PARTS
        for ids in _chunks(list(entities)):
            in_ids, ids_params = d.in_list("h.entity", ids)
            where = f"{window.where} AND {in_ids}"
            where_params: list[Any] = [*window.params, *ids_params]
            source, source_params = "attr_history h", []
            origin, origin_params = d.param("int"), [interval.lower_ms]
            if interval.lower_ms is None:
                # Periods start at each attribute's first instance inside the interval.
                source = (
                    f"attr_history h JOIN (SELECT h.entity AS entity, h.attr AS attr, "
                    f"min({column}) AS first FROM attr_history h WHERE {where} "
                    "GROUP BY h.entity, h.attr) o ON o.entity = h.entity AND o.attr = h.attr"
                )
                source_params, origin, origin_params = where_params, "o.first", []
            bucket = f"({column} - {origin}) / {d.param('int')}" if period else "0"
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
                    aggregates[attr] = AggregatedAttribute(
                        self._attr_type(db, tenant, entity_id, attr)
                    )
                aggregates[attr].periods.append(Period(start, end, values))

    def _attr_type(self, db: Any, tenant: str, entity_id: str, attr: str) -> str:
        """The attribute type of an entity's latest instance of `attr`."""
        d = self.dialect
        p = d.param()
        row = db.execute(
            f"SELECT {d.json_text('doc', 'type')} FROM attr_history WHERE tenant = {p} "
            f"AND entity = {p} AND attr = {p} ORDER BY observed_ms DESC LIMIT 1",
            [tenant, entity_id, attr],
        ).fetchone()
        return str(row[0]) if row else "Property"

    # -- writes --------------------------------------------------------------------------

    def add(self, tenant: str, entity: Entity) -> bool:
        p = self.dialect.param()
        with self._store.transaction() as db:
            if tenant:
                db.execute(
                    f"INSERT INTO tenants (name, created_at) VALUES ({p}, {p}) "
                    "ON CONFLICT (name) DO NOTHING",
                    [tenant, entity.created_at],
                )
            old = db.execute(
                f"SELECT doc, created_at FROM temporal_entities WHERE tenant = {p} AND id = {p}",
                [tenant, entity.id],
            ).fetchone()
            if old is not None:
                entity.types = list(dict.fromkeys([*orjson.loads(old[0])["types"], *entity.types]))
                entity.created_at = old[1]
            db.execute(self._entity_upsert, self._entity_row(tenant, entity))
            self._insert_rows(db, history_rows(tenant, entity.id, entity.attrs, entity.modified_at))
        return old is None

    def append(self, tenant: str, entity_id: str, attrs: dict[str, list[Instance]]) -> bool:
        p = self.dialect.param()
        with self._store.transaction() as db:
            now = next((i["modifiedAt"] for ins in attrs.values() for i in ins), None)
            cursor = db.execute(
                f"UPDATE temporal_entities SET modified_at = coalesce({p}, modified_at) "
                f"WHERE tenant = {p} AND id = {p}",
                [now, tenant, entity_id],
            )
            if cursor.rowcount == 0:
                return False
            self._insert_rows(db, history_rows(tenant, entity_id, attrs, now or ""))
        return True

    def update_instance(
        self, tenant: str, entity_id: str, attr: str, instance_id: str, fragment: Instance
    ) -> bool:
        p = self.dialect.param()
        row_id = instance_row(instance_id)
        with self._store.transaction() as db:
            row = db.execute(
                f"SELECT doc FROM attr_history WHERE id = {p} AND tenant = {p} AND entity = {p} "
                f"AND attr = {p}",
                [row_id, tenant, entity_id, attr],
            ).fetchone()
            if row is None:
                return False
            merged = merged_instance(orjson.loads(row[0]), fragment)
            values = history_row(tenant, entity_id, attr, merged, fragment["modifiedAt"])
            self._prepare_rows(db, [values])  # a new observedAt may need a new partition
            db.execute(
                f"UPDATE attr_history SET dataset_id = {p}, observed_ms = {p}, modified_ms = {p}, "
                f"created_ms = {p}, num = {p}, value = {p}, doc = {self.dialect.param('json')} "
                f"WHERE id = {p}",
                [*values[3:], row_id],
            )
        return True

    # -- deletes -------------------------------------------------------------------------

    def delete_entity(self, tenant: str, entity_id: str) -> bool:
        p = self.dialect.param()
        key = [tenant, entity_id]
        with self._store.transaction() as db:
            db.execute(f"DELETE FROM attr_history WHERE tenant = {p} AND entity = {p}", key)
            cursor = db.execute(
                f"DELETE FROM temporal_entities WHERE tenant = {p} AND id = {p}", key
            )
            return bool(cursor.rowcount > 0)

    def delete_attribute(
        self, tenant: str, entity_id: str, attr: str, dataset_id: str | None, delete_all: bool
    ) -> bool:
        p = self.dialect.param()
        sql = f"DELETE FROM attr_history WHERE tenant = {p} AND entity = {p} AND attr = {p}"
        params: list[Any] = [tenant, entity_id, attr]
        if not delete_all:
            sql += f" AND {self.dialect.is_('dataset_id')}"
            params.append(dataset_id)
        with self._store.transaction() as db:
            return bool(db.execute(sql, params).rowcount > 0)

    def delete_instance(self, tenant: str, entity_id: str, attr: str, instance_id: str) -> bool:
        p = self.dialect.param()
        with self._store.transaction() as db:
            cursor = db.execute(
                f"DELETE FROM attr_history WHERE id = {p} AND tenant = {p} AND entity = {p} "
                f"AND attr = {p}",
                [instance_row(instance_id), tenant, entity_id, attr],
            )
            return bool(cursor.rowcount > 0)

    # -- moving a whole history ----------------------------------------------------------

    def dump_entities(self, batch: int = 1000) -> Iterator[list[tuple[str, Entity]]]:
        for rows in keyset_batches(
            self._store.reading,
            self.dialect,
            "temporal_entities",
            "tenant, id, doc, created_at, modified_at",
            ["tenant", "id"],
            batch,
        ):
            yield [(row[0], temporal_entity(row[1:]).entity) for row in rows]

    def dump_instances(self, batch: int = 10_000) -> Iterator[list[HistoryRow]]:
        for rows in keyset_batches(
            self._store.reading, self.dialect, "attr_history", ROW_COLUMNS, ["id"], batch
        ):
            yield [HistoryRow(*row) for row in rows]

    def load_entities(self, entities: Sequence[tuple[str, Entity]]) -> None:
        if entities:
            with self._store.transaction() as db:
                db.cursor().executemany(
                    self._entity_upsert, [self._entity_row(t, e) for t, e in entities]
                )

    def load_instances(self, rows: Sequence[HistoryRow]) -> None:
        raise NotImplementedError

    # -- retention -----------------------------------------------------------------------

    def prune_history(self, tenant: str, before_ms: int) -> int:
        """Deleted in batches (oldest rows come first by id), so writers wait only briefly."""
        p = self.dialect.param()
        deleted = 0
        while True:
            with self._store.transaction() as db:
                cursor = db.execute(
                    "DELETE FROM attr_history WHERE id IN (SELECT id FROM attr_history "
                    f"WHERE tenant = {p} AND observed_ms < {self.dialect.param('int')} "
                    f"LIMIT {p})",
                    [tenant, before_ms, PRUNE_BATCH],
                )
                count = int(cursor.rowcount)
            deleted += count
            if count < PRUNE_BATCH:
                return deleted

    def set_retention(self, tenant: str | None, days: int | None) -> None:
        if days is not None and days < 1:
            raise ValueError("Retention is at least one day.")
        p = self.dialect.param()
        key = ALL_TENANTS if tenant is None else tenant
        with self._store.transaction() as db:
            if days is None:
                db.execute(f"DELETE FROM history_retention WHERE tenant = {p}", [key])
            else:
                db.execute(
                    f"INSERT INTO history_retention (tenant, days) VALUES ({p}, {p}) "
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


def changed_rows(
    tenant: str,
    changes: Sequence[EntityChange],
    entity_row: Callable[[str, Entity], tuple[Any, ...]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """For the entities these changes leave: their `entity_row`s, and a `history_row` for
    every instance the changes wrote."""
    entities: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    for change in changes:
        after = change.after
        if after is None:
            continue
        entities.append(entity_row(tenant, after))
        rows.extend(
            history_row(tenant, after.id, attr, inst, after.modified_at)
            for attr, inst in change.changed_instances()
        )
    return entities, rows


def history_rows(
    tenant: str, entity_id: str, attrs: dict[str, list[Instance]], modified_at: str
) -> list[tuple[Any, ...]]:
    """The `history_row`s of these instances, attribute by attribute."""
    return [
        history_row(tenant, entity_id, attr, inst, modified_at)
        for attr, instances in attrs.items()
        for inst in instances
    ]


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), SCAN_BATCH):
        yield ids[start : start + SCAN_BATCH]
