"""The scale-out store: PostgreSQL with PostGIS, through psycopg 3 and a connection pool.

Entities are rows holding their expanded document as JSONB, with their types and attribute
names as GIN-indexed text arrays; queries compile to SQL over the document
(`postgres_filters`). Every GeoProperty instance has a PostGIS geometry under a GiST index,
which chooses geo-query candidates; as in the embedded store, shapely decides each one.
The history is a table partitioned by month (`postgres_history`), aggregated in SQL.

Writes are serialised per database schema by a transaction-scoped advisory lock, as
SQLite's single writer serialises them: commits stay all-or-nothing and the change log is
numbered in commit order, whichever instance or thread commits. Reads use any pooled
connection and never wait for writers.

`PostgresStore("postgresql://user@host/db")` keeps its tables in the first schema of the
connection's `search_path` (`public` by default); `schema=` chooses another one (created on
first use), which is how tests get a fresh database each.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool

from cityos.context.entity import Entity, EntityChange
from cityos.store.base import Census, EntityQuery, QueryResult, StoredContext, TypeSummary
from cityos.store.cases import CaseWrite, check_case_entities
from cityos.store.census_sql import census, tenant_names
from cityos.store.postgres_audit import PostgresAudit
from cityos.store.postgres_cases import PostgresCases, write_cases
from cityos.store.postgres_citizens import PostgresCitizens
from cityos.store.postgres_db import Db, copy_rows, execute_rows
from cityos.store.postgres_devices import PostgresDevices
from cityos.store.postgres_filters import FILTERS, compile_types
from cityos.store.postgres_geo import compile_geo_source, geometry_wkb
from cityos.store.postgres_history import PostgresHistory, record_history
from cityos.store.postgres_keys import PostgresKeys
from cityos.store.postgres_rules import PostgresRules
from cityos.store.postgres_schema import migrate
from cityos.store.postgres_subscriptions import PostgresSubscriptions, log_changes
from cityos.store.query_sql import entity_batches, entity_page, entity_where, geo_page
from cityos.store.rows import (
    context_where,
    dumps,
    entity_doc,
    entity_from_row,
    geo_instances,
    indexed,
    stored_context,
)
from cityos.store.sql_dialect import POSTGRES

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_ENTITY_COLUMNS = "e.id, e.created_at, e.modified_at, e.doc"


def _configure(conn: Db) -> None:
    """JSONB comes back as its text, as the shared row decoders (and SQLite) have it."""
    conn.adapters.register_loader("jsonb", TextLoader)
    conn.adapters.register_loader("json", TextLoader)


class PostgresStore:
    """The PostgreSQL `Store`, at a `postgresql://` URL (libpq syntax)."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"autocommit": True}
        if schema is not None:
            if not _SCHEMA_NAME.fullmatch(schema):
                raise ValueError(f"{schema!r} is not a plain lower-case schema name.")
            kwargs["options"] = f"-c search_path={schema},public"
        # One direct connection first: a server that does not answer, or refuses us, fails
        # at once with its own message; it also brings the schema up to date.
        with psycopg.connect(url, connect_timeout=int(timeout), **kwargs) as first:
            migrate(first)
            row = first.execute("SELECT current_schema()").fetchone()
            database = first.info.dbname
        self.schema: str = str(row[0]) if row else "public"
        self.identity = f"postgresql:{database}:{self.schema}"
        self._pool: ConnectionPool[Db] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=kwargs,
            configure=_configure,
            open=False,
            timeout=timeout,
        )
        self._pool.open(wait=True, timeout=timeout)
        try:
            self.check_postgis()  # at start, not at the first geometry written
        except ValueError:
            self._pool.close()
            raise
        digest = hashlib.blake2b(f"cityos:{self.schema}".encode(), digest_size=8).digest()
        self._lock_key = int.from_bytes(digest, "big", signed=True)
        self._tenants: set[str] = set()
        """Tenants this store has seen committed (tenants are never deleted)."""
        self.history = PostgresHistory(self)
        self.subscriptions = PostgresSubscriptions(self)
        self.devices = PostgresDevices(self)
        self.cases = PostgresCases(self)
        self.rules = PostgresRules(self)
        self.keys = PostgresKeys(self)
        self.audit = PostgresAudit(self)
        self.citizens = PostgresCitizens(self)

    @contextmanager
    def reading(self) -> Iterator[Db]:
        """A pooled connection for reads (autocommit), for the store's companions."""
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        """One write transaction, holding the schema's writer lock until it ends."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [self._lock_key])
                yield conn
        except BaseException:
            self.history.partitions.forget()  # partitions it created are rolled back too
            raise

    # -- tenants and entities ------------------------------------------------------------

    def has_tenant(self, tenant: str) -> bool:
        if not tenant:
            return True
        with self.reading() as db:
            row = db.execute("SELECT 1 FROM tenants WHERE name = %s", [tenant]).fetchone()
        return row is not None

    def get(self, tenant: str, entity_id: str) -> Entity | None:
        with self.reading() as db:
            row = db.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM entities e WHERE e.tenant = %s AND e.id = %s",
                [tenant, entity_id],
            ).fetchone()
        return entity_from_row(row) if row else None

    def get_many(self, tenant: str, entity_ids: Iterable[str]) -> dict[str, Entity]:
        ids = list(dict.fromkeys(entity_ids))
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM entities e WHERE e.tenant = %s AND e.id = ANY(%s)",
                [tenant, ids],
            ).fetchall()
        return {row[0]: entity_from_row(row) for row in rows}

    def commit(
        self,
        tenant: str,
        puts: Sequence[Entity],
        deletes: Sequence[str] = (),
        cases: Sequence[CaseWrite] = (),
    ) -> list[EntityChange]:
        """One transaction; rows are written set-wise (executemany, pipelined)."""
        if not puts and not deletes and not cases:
            return []  # nothing to write: not even the tenant is created
        changes: list[EntityChange] = []
        with self.transaction() as db:
            self._create_tenant(db, tenant)
            if deletes:
                gone = _current(db, tenant, deletes)
                db.execute("DELETE FROM entities WHERE seq = ANY(%s)", [list(gone)])
                changes.extend(EntityChange(old.id, old, None) for old in gone.values())
            if puts:
                changes.extend(_put(db, tenant, list({e.id: e for e in puts}.values())))
            check_case_entities(changes, cases)
            write_cases(db, tenant, cases)
            record_history(db, self.history.partitions, tenant, changes)
            if self.subscriptions.watched(tenant):  # nobody to notify: nothing to replay
                log_changes(db, tenant, changes)
        self._tenants.add(tenant)  # committed: no need to insert it again
        return changes

    def _create_tenant(self, db: Db, tenant: str) -> None:
        """Record the tenant on its first write (the default tenant '' is never recorded)."""
        if tenant and tenant not in self._tenants:
            db.execute(
                "INSERT INTO tenants (name, created_at) VALUES (%s, %s) "
                "ON CONFLICT (name) DO NOTHING",
                [tenant, _now_text()],
            )

    # -- queries -------------------------------------------------------------------------

    def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        where, params = _compile(tenant, query)
        source = "entities e"
        if query.geo is not None:
            source, geo_where, geo_params = compile_geo_source(query.geo)
            where, params = f"({geo_where}) AND {where}", [*geo_params, *params]
        sql = f"SELECT {_ENTITY_COLUMNS} FROM {source} WHERE {where}"
        with self.reading() as db:
            if query.geo is None:
                return entity_page(db, FILTERS, sql + " ORDER BY e.seq", where, params, query)
            return geo_page(db.execute(sql + " ORDER BY e.seq", params), query)

    def type_summaries(self, tenant: str, types: Sequence[str] | None = None) -> list[TypeSummary]:
        params: list[Any] = [tenant]
        only = ""
        if types is not None:
            if not types:
                return []
            only = " AND t.type = ANY(%s)"
            params.append(list(types))
        summaries: dict[str, TypeSummary] = {}
        with self.reading() as db:
            for entity_type, count in db.execute(
                "SELECT t.type, count(DISTINCT e.seq) FROM entities e, unnest(e.types) t(type) "
                f'WHERE e.tenant = %s{only} GROUP BY t.type ORDER BY t.type COLLATE "C"',
                params,
            ).fetchall():
                summaries[entity_type] = TypeSummary(entity_type, count)
            for entity_type, attr, attr_type, count in db.execute(
                "SELECT t.type, a.key, i.value ->> 'type', count(DISTINCT e.seq) "
                "FROM entities e, unnest(e.types) t(type), jsonb_each(e.doc -> 'attrs') a, "
                f"jsonb_array_elements(a.value) i WHERE e.tenant = %s{only} GROUP BY 1, 2, 3",
                params,
            ).fetchall():
                summary = summaries[entity_type]
                summary.attributes.setdefault(attr, set()).add(attr_type)
                summary.attribute_counts[attr] = max(summary.attribute_counts.get(attr, 0), count)
        return list(summaries.values())

    # -- JSON-LD contexts ----------------------------------------------------------------

    def put_context(self, context: StoredContext) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO contexts (id, url, kind, body, created_at, last_usage, hits, tenant) "
                "VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "url = excluded.url, kind = excluded.kind, body = excluded.body, "
                "last_usage = excluded.last_usage, hits = excluded.hits",
                [
                    context.id,
                    context.url,
                    context.kind,
                    dumps(context.body),
                    context.created_at,
                    context.last_usage,
                    context.hits,
                    context.tenant,
                ],
            )

    def get_context(self, context_id: str, tenant: str | None = None) -> StoredContext | None:
        where, args = context_where(context_id, tenant, "%s")
        with self.reading() as db:
            row = db.execute(
                "SELECT id, url, kind, body, created_at, last_usage, hits, tenant "
                "FROM contexts WHERE " + where,
                args,
            ).fetchone()
        return stored_context(row) if row else None

    def list_contexts(self, tenant: str | None = None) -> list[StoredContext]:
        where, args = ("", []) if tenant is None else ("WHERE tenant = %s ", [tenant])
        with self.reading() as db:
            rows = db.execute(
                "SELECT id, url, kind, body, created_at, last_usage, hits, tenant FROM contexts "
                + where
                + 'ORDER BY created_at COLLATE "C", id COLLATE "C"',
                args,
            ).fetchall()
        return [stored_context(row) for row in rows]

    def delete_context(self, context_id: str, tenant: str) -> bool:
        where, args = context_where(context_id, tenant, "%s")
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM contexts WHERE " + where, args)
        return cursor.rowcount > 0

    def check_postgis(self) -> None:
        """Raise ValueError when the connections cannot call PostGIS (installed in `public`,
        which the search_path must then name), rather than fail at the first geometry."""
        with self.reading() as db:
            found = db.execute("SELECT to_regprocedure('st_geomfromwkb(bytea,integer)')")
            row = found.fetchone()
        if not row or row[0] is None:
            raise ValueError(
                "PostGIS is not on the connection's search_path: add public to it, e.g. "
                "?options=-csearch_path%3Dcity,public"
            )

    # -- moving a whole city -------------------------------------------------------------

    def tenants(self) -> list[str]:
        with self.reading() as db:
            return tenant_names(db)

    def census(self) -> Census:
        with self.reading() as db:
            return census(db)

    def dump_entities(self, tenant: str, batch: int = 1000) -> Iterator[list[Entity]]:
        return entity_batches(self.reading, POSTGRES, "seq", tenant, batch)

    def load(
        self, tenant: str, entities: Sequence[Entity] = (), cases: Sequence[CaseWrite] = ()
    ) -> None:
        with self.transaction() as db:
            self._create_tenant(db, tenant)
            if entities:
                _copy_entities(db, tenant, entities)
            write_cases(db, tenant, cases)
        self._tenants.add(tenant)

    def close(self) -> None:
        self._pool.close()


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _current(db: Db, tenant: str, ids: Sequence[str]) -> dict[int, Entity]:
    """The stored entities with these ids, by seq."""
    rows = db.execute(
        f"SELECT e.seq, {_ENTITY_COLUMNS} FROM entities e WHERE e.tenant = %s AND e.id = ANY(%s)",
        [tenant, list(ids)],
    ).fetchall()
    return {row[0]: entity_from_row(row[1:]) for row in rows}


def _new_seqs(db: Db, count: int) -> list[int]:
    """`count` numbers for new entities, in order: where they come in the results."""
    if not count:
        return []
    return sorted(
        row[0]
        for row in db.execute(
            "SELECT nextval(pg_get_serial_sequence('entities', 'seq')) FROM generate_series(1, %s)",
            [count],
        ).fetchall()
    )


def _copy_entities(db: Db, tenant: str, entities: Sequence[Entity]) -> None:
    """Entities the store does not hold yet, and their geometry, by COPY (`load`)."""
    rows: list[tuple[Any, ...]] = []
    geo: list[tuple[int, str, str]] = []
    for seq, entity in zip(_new_seqs(db, len(entities)), entities, strict=True):
        names = list(entity.attrs)
        times = (entity.created_at, entity.modified_at)
        rows.append((seq, tenant, entity.id, *times, entity.types, names, entity_doc(entity)))
        geo.extend(  # hex WKB with its SRID, as PostGIS reads geometry text
            (seq, attr, f"SRID=4326;{geometry_wkb(value, bounds).hex()}")
            for attr, value, bounds in geo_instances(entity)
        )
    columns = "seq, tenant, id, created_at, modified_at, types, attr_names, doc"
    copy_rows(db, f"entities ({columns})", rows)
    copy_rows(db, "entity_geo (entity, attr, geom)", geo)


def _put(db: Db, tenant: str, puts: list[Entity]) -> list[EntityChange]:
    """Insert or replace entities, keeping the seq (so the result order) of existing ones."""
    current = _current(db, tenant, [e.id for e in puts])
    existing = {old.id: seq for seq, old in current.items()}
    fresh = sum(1 for e in puts if e.id not in existing)
    seqs = _new_seqs(db, fresh)
    changes: list[EntityChange] = []
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    reindexed: list[int] = []
    geo: list[tuple[int, str, bytes]] = []
    for entity in puts:
        payload = entity_doc(entity)
        names = list(entity.attrs)
        seq = existing.get(entity.id)
        old = current.get(seq) if seq is not None else None
        changes.append(EntityChange(entity.id, old, entity))
        if seq is None:
            seq = seqs.pop(0)
            times = (entity.created_at, entity.modified_at)
            inserts.append((seq, tenant, entity.id, *times, entity.types, names, payload))
        else:
            updates.append(
                (entity.created_at, entity.modified_at, entity.types, names, payload, seq)
            )
            if old is not None and indexed(old) == indexed(entity):
                continue  # a sensor reading: the geometry rows still hold
            reindexed.append(seq)
        geo.extend(
            (seq, attr, geometry_wkb(value, bounds))
            for attr, value, bounds in geo_instances(entity)
        )
    if updates:
        execute_rows(
            db,
            "UPDATE entities SET created_at = %s, modified_at = %s, types = %s, "
            "attr_names = %s, doc = %s::jsonb WHERE seq = %s",
            updates,
        )
    if reindexed:
        db.execute("DELETE FROM entity_geo WHERE entity = ANY(%s)", [reindexed])
    if inserts:
        execute_rows(
            db,
            "INSERT INTO entities (seq, tenant, id, created_at, modified_at, types, attr_names, "
            "doc) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
            inserts,
        )
    if geo:
        execute_rows(
            db,
            "INSERT INTO entity_geo (entity, attr, geom) VALUES (%s, %s, ST_GeomFromWKB(%s, 4326))",
            geo,
        )
    return changes


def _compile(tenant: str, query: EntityQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of an entity query but its geo-query, with its parameters."""
    return entity_where(
        FILTERS,
        tenant,
        query,
        compile_types,
        lambda attrs: ("e.attr_names && %s::text[]", [list(attrs)]),
    )
