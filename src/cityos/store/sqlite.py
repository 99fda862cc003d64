"""The embedded store: one SQLite file in WAL mode, an R*Tree for geometry.

Entities are rows holding their expanded JSON document; queries compile to SQL over that
document (json_each / json_extract), types live in an index table and every GeoProperty
instance has a box in the R*Tree. Only the exact geometric test of R*Tree candidates runs
in Python, with shapely.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import Any

import orjson

from cityos.context.entity import Entity, EntityChange
from cityos.context.pattern import search
from cityos.store.base import Census, EntityQuery, QueryResult, StoredContext, TypeSummary
from cityos.store.cases import CaseWrite, check_case_entities
from cityos.store.census_sql import census, tenant_names
from cityos.store.query_sql import entity_batches, entity_page, entity_where, geo_page
from cityos.store.rows import context_where, entity_doc, geo_rows, indexed, stored_context
from cityos.store.rows import entity_from_row as _entity
from cityos.store.sql_dialect import SQLITE
from cityos.store.sqlite_audit import SQLiteAudit
from cityos.store.sqlite_cases import CASES_SCHEMA, SQLiteCases, write_cases
from cityos.store.sqlite_citizens import SQLiteCitizens
from cityos.store.sqlite_devices import SQLiteDevices
from cityos.store.sqlite_filters import FILTERS, compile_types, json_path
from cityos.store.sqlite_geo import compile_geo_source
from cityos.store.sqlite_history import HISTORY_SCHEMA, SQLiteHistory, record_history
from cityos.store.sqlite_keys import SQLiteKeys
from cityos.store.sqlite_rules import RULES_SCHEMA, SQLiteRules
from cityos.store.sqlite_subscriptions import (
    SUBSCRIPTIONS_SCHEMA,
    SQLiteSubscriptions,
    log_changes,
)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    rowid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant, id)
);
CREATE INDEX IF NOT EXISTS entities_in_order ON entities (tenant);
CREATE TABLE IF NOT EXISTS entity_types (
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    entity INTEGER NOT NULL,
    PRIMARY KEY (tenant, type, entity)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_types_by_entity ON entity_types (entity);
CREATE TABLE IF NOT EXISTS entity_geo (
    rid INTEGER PRIMARY KEY,
    entity INTEGER NOT NULL,
    attr TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entity_geo_by_entity ON entity_geo (entity);
CREATE VIRTUAL TABLE IF NOT EXISTS geo_index USING rtree (id, min_x, max_x, min_y, max_y);
CREATE TABLE IF NOT EXISTS contexts (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_usage TEXT,
    hits INTEGER NOT NULL DEFAULT 0,
    tenant TEXT NOT NULL DEFAULT ''
);
"""


def upgrade_contexts(db: sqlite3.Connection) -> None:
    """Contexts belong to a tenant since issue 16: a database made before gets the column,
    its contexts staying with the default tenant. Cheap when there is nothing to do."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(contexts)")}
    if "tenant" not in columns:
        db.execute("ALTER TABLE contexts ADD COLUMN tenant TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX IF NOT EXISTS contexts_by_tenant ON contexts (tenant)")


_SCAN_BATCH = 500
_EXCLUSIVE_WAIT_S = 1.0
"""How long an exclusive opening waits for another connection's transaction to end."""


def regexp(pattern: str | None, text: object) -> bool:
    """SQLite's REGEXP operator: `text REGEXP pattern`, an RE2 search (linear time: a
    client's pattern never holds the database, see context/pattern.py)."""
    if pattern is None or not isinstance(text, str):
        return False
    return search(pattern, text)


class SQLiteStore:
    """The embedded `Store`: a data directory holding `cityos.db`."""

    def __init__(
        self, data_dir: Path | str, *, synchronous: str = "FULL", exclusive: bool = False
    ) -> None:
        """`exclusive`: hold the database alone while open (a migration reading it): opening
        fails with `sqlite3.OperationalError` ("database is locked") while another
        connection, such as a running server's, has it open, and no other can open it."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / "cityos.db"
        self.identity = f"sqlite:{self.path.resolve()}"
        self._db = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=_EXCLUSIVE_WAIT_S if exclusive else 5.0,
        )
        try:
            self._open(synchronous, exclusive)
        except BaseException:
            self._db.close()
            raise
        self.subscriptions = SQLiteSubscriptions(self)
        self.devices = SQLiteDevices(self)
        self.history = SQLiteHistory(self)
        self.cases = SQLiteCases(self)
        self.rules = SQLiteRules(self)
        self.keys = SQLiteKeys(self)
        self.audit = SQLiteAudit(self)
        self.citizens = SQLiteCitizens(self)

    def _open(self, synchronous: str, exclusive: bool) -> None:
        """Settings and schema, on the new connection (which the caller closes on failure)."""
        self._db.create_function("REGEXP", 2, regexp, deterministic=True)
        if exclusive:  # before the first access, which takes the lock
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA foreign_keys=OFF")
        self._db.execute("PRAGMA cache_size=-32000")
        self._lock = threading.RLock()
        with self._transaction():
            self._create_schema()

    def _create_schema(self) -> None:
        schemas = (SCHEMA, HISTORY_SCHEMA, SUBSCRIPTIONS_SCHEMA, CASES_SCHEMA, RULES_SCHEMA)
        for statement in "".join(schemas).split(";\n"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        upgrade_contexts(self._db)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, held for reads by the store's companions (history, devices…)."""
        with self._lock:
            yield self._db

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction, for the store's companions (history, devices…)."""
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- tenants and entities ------------------------------------------------------------

    def has_tenant(self, tenant: str) -> bool:
        if not tenant:
            return True
        with self._lock:
            row = self._db.execute("SELECT 1 FROM tenants WHERE name = ?", (tenant,)).fetchone()
        return row is not None

    def get(self, tenant: str, entity_id: str) -> Entity | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, created_at, modified_at, doc FROM entities WHERE tenant = ? AND id = ?",
                (tenant, entity_id),
            ).fetchone()
        return _entity(row) if row else None

    def get_many(self, tenant: str, entity_ids: Iterable[str]) -> dict[str, Entity]:
        ids = list(dict.fromkeys(entity_ids))
        with self._lock:
            rows = _by_ids(self._db, "id, created_at, modified_at, doc", tenant, ids)
            return {row[0]: _entity(row) for row in rows}

    def commit(
        self,
        tenant: str,
        puts: Sequence[Entity],
        deletes: Sequence[str] = (),
        cases: Sequence[CaseWrite] = (),
    ) -> list[EntityChange]:
        """One transaction; rows are written set-wise (executemany) to keep batches fast."""
        if not puts and not deletes and not cases:
            return []  # nothing to write: not even the tenant is created
        changes: list[EntityChange] = []
        with self._transaction() as db:
            _create_tenant(db, tenant)
            if deletes:
                gone = self._current(db, tenant, deletes)
                self._unindex(db, list(gone))
                db.executemany("DELETE FROM entities WHERE rowid = ?", [(r,) for r in gone])
                changes.extend(EntityChange(old.id, old, None) for old in gone.values())
            if puts:
                changes.extend(self._put(db, tenant, list({e.id: e for e in puts}.values())))
            check_case_entities(changes, cases)
            write_cases(db, tenant, cases)
            record_history(db, tenant, changes)
            if self.subscriptions.watched(tenant):  # nobody to notify: nothing to replay
                log_changes(db, tenant, changes)
        return changes

    @staticmethod
    def _current(db: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> dict[int, Entity]:
        """The stored entities with these ids, by rowid."""
        columns = "rowid, id, created_at, modified_at, doc"
        return {row[0]: _entity(row[1:]) for row in _by_ids(db, columns, tenant, ids)}

    def _put(self, db: sqlite3.Connection, tenant: str, puts: list[Entity]) -> list[EntityChange]:
        """Insert or replace entities, keeping the rowid (so the result order) of existing ones."""
        current = self._current(db, tenant, [e.id for e in puts])
        existing = {old.id: rowid for rowid, old in current.items()}
        changes: list[EntityChange] = []
        next_rowid = db.execute("SELECT coalesce(max(rowid), 0) + 1 FROM entities").fetchone()[0]
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        reindexed: list[int] = []
        types: list[tuple[str, str, int]] = []
        geo: list[tuple[int, str, tuple[float, float, float, float]]] = []
        for entity in puts:
            payload = entity_doc(entity)
            rowid = existing.get(entity.id)
            old = current.get(rowid or 0)
            changes.append(EntityChange(entity.id, old, entity))
            if rowid is None:
                rowid, next_rowid = next_rowid, next_rowid + 1
                inserts.append(
                    (rowid, tenant, entity.id, entity.created_at, entity.modified_at, payload)
                )
            else:
                updates.append((entity.created_at, entity.modified_at, payload, rowid))
                if old is not None and indexed(old) == indexed(entity):
                    continue  # a sensor reading: the type and geometry index rows still hold
                reindexed.append(rowid)
            types.extend((tenant, entity_type, rowid) for entity_type in entity.types)
            geo.extend((rowid, attr, box) for attr, box in geo_rows(entity))
        if updates:
            db.executemany(
                "UPDATE entities SET created_at = ?, modified_at = ?, doc = ? WHERE rowid = ?",
                updates,
            )
            self._unindex(db, reindexed)
        db.executemany(
            "INSERT INTO entities (rowid, tenant, id, created_at, modified_at, doc) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            inserts,
        )
        db.executemany("INSERT INTO entity_types (tenant, type, entity) VALUES (?, ?, ?)", types)
        if geo:
            next_rid = db.execute("SELECT coalesce(max(rid), 0) + 1 FROM entity_geo").fetchone()[0]
            rids = range(next_rid, next_rid + len(geo))
            db.executemany(
                "INSERT INTO entity_geo (rid, entity, attr) VALUES (?, ?, ?)",
                [(rid, rowid, attr) for rid, (rowid, attr, _) in zip(rids, geo, strict=True)],
            )
            db.executemany(
                "INSERT INTO geo_index (id, min_x, max_x, min_y, max_y) VALUES (?, ?, ?, ?, ?)",
                [(rid, *box) for rid, (_, _, box) in zip(rids, geo, strict=True)],
            )
        return changes

    @staticmethod
    def _unindex(db: sqlite3.Connection, rowids: Sequence[int]) -> None:
        """Drop the type and geometry index rows of these entities."""
        rows = [(rowid,) for rowid in rowids]
        db.executemany("DELETE FROM entity_types WHERE entity = ?", rows)
        db.executemany(
            "DELETE FROM geo_index WHERE id IN (SELECT rid FROM entity_geo WHERE entity = ?)", rows
        )
        db.executemany("DELETE FROM entity_geo WHERE entity = ?", rows)

    # -- queries -------------------------------------------------------------------------

    def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        where, params = _compile(tenant, query)
        source = "entities e"
        if query.geo is not None:
            source, geo_where, geo_params = compile_geo_source(query.geo)
            where, params = f"({geo_where}) AND {where}", [*geo_params, *params]
        sql = f"SELECT e.id, e.created_at, e.modified_at, e.doc FROM {source} WHERE {where}"
        with self._lock:
            if query.geo is None:
                return entity_page(
                    self._db, FILTERS, sql + " ORDER BY e.rowid", where, params, query
                )
            # Geo-queries come in R*Tree order, which is stable while the data is, so pages do
            # not overlap; sorting by rowid would force every candidate through SQL first, while
            # the R*Tree's own order lets the scan stop at the last page.
            return geo_page(self._db.execute(sql, params), query)

    def type_summaries(self, tenant: str, types: Sequence[str] | None = None) -> list[TypeSummary]:
        params: list[Any] = [tenant]
        only = ""
        if types is not None:
            if not types:
                return []
            only = f" AND t.type IN ({','.join('?' * len(types))})"
            params.extend(types)
        summaries: dict[str, TypeSummary] = {}
        with self._lock:
            for entity_type, count in self._db.execute(
                f"SELECT t.type, count(*) FROM entity_types t WHERE t.tenant = ?{only} "
                "GROUP BY t.type ORDER BY t.type",
                params,
            ):
                summaries[entity_type] = TypeSummary(entity_type, count)
            for entity_type, attr, attr_type, count in self._db.execute(
                "SELECT t.type, a.key, json_extract(i.value, '$.type'), count(DISTINCT e.rowid) "
                "FROM entity_types t JOIN entities e ON e.rowid = t.entity, "
                "json_each(e.doc, '$.attrs') a, json_each(a.value) i "
                f"WHERE t.tenant = ?{only} GROUP BY 1, 2, 3",
                params,
            ):
                summary = summaries[entity_type]
                summary.attributes.setdefault(attr, set()).add(attr_type)
                summary.attribute_counts[attr] = max(summary.attribute_counts.get(attr, 0), count)
        return list(summaries.values())

    # -- JSON-LD contexts ----------------------------------------------------------------

    def put_context(self, context: StoredContext) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO contexts (id, url, kind, body, created_at, last_usage, hits, tenant) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "url = excluded.url, kind = excluded.kind, body = excluded.body, "
                "last_usage = excluded.last_usage, hits = excluded.hits",
                (
                    context.id,
                    context.url,
                    context.kind,
                    orjson.dumps(context.body).decode(),
                    context.created_at,
                    context.last_usage,
                    context.hits,
                    context.tenant,
                ),
            )

    def get_context(self, context_id: str, tenant: str | None = None) -> StoredContext | None:
        where, args = context_where(context_id, tenant, "?")
        with self._lock:
            row = self._db.execute(
                "SELECT id, url, kind, body, created_at, last_usage, hits, tenant "
                "FROM contexts WHERE " + where,
                args,
            ).fetchone()
        return stored_context(row) if row else None

    def list_contexts(self, tenant: str | None = None) -> list[StoredContext]:
        where, args = ("", []) if tenant is None else ("WHERE tenant = ? ", [tenant])
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url, kind, body, created_at, last_usage, hits, tenant FROM contexts "
                + where
                + "ORDER BY created_at, id",
                args,
            ).fetchall()
        return [stored_context(row) for row in rows]

    def delete_context(self, context_id: str, tenant: str) -> bool:
        where, args = context_where(context_id, tenant, "?")
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM contexts WHERE " + where, args)
        return cursor.rowcount > 0

    # -- moving a whole city -------------------------------------------------------------

    def tenants(self) -> list[str]:
        with self._lock:
            return tenant_names(self._db)

    def census(self) -> Census:
        with self._lock:
            return census(self._db)

    def dump_entities(self, tenant: str, batch: int = 1000) -> Iterator[list[Entity]]:
        return entity_batches(self.reading, SQLITE, "rowid", tenant, batch)

    def load(
        self, tenant: str, entities: Sequence[Entity] = (), cases: Sequence[CaseWrite] = ()
    ) -> None:
        with self._transaction() as db:
            _create_tenant(db, tenant)
            if entities:
                self._put(db, tenant, list({e.id: e for e in entities}.values()))
            write_cases(db, tenant, cases)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def is_data_dir(path: Path) -> bool:
    """Whether `path` holds the embedded store of a cityos (looked at, not changed)."""
    file = path / "cityos.db"
    if not file.is_file():
        return False
    try:
        with closing(sqlite3.connect(file, timeout=_EXCLUSIVE_WAIT_S)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as error:  # held alone (a migration): opening says so
        return "locked" in str(error)
    except sqlite3.DatabaseError:  # not an SQLite file, or no cityos tables in it
        return False
    return row is not None


def _create_tenant(db: sqlite3.Connection, tenant: str) -> None:
    """Record the tenant on its first write (the default tenant '' is never recorded)."""
    if tenant:
        db.execute(
            "INSERT OR IGNORE INTO tenants (name, created_at) "
            "VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            (tenant,),
        )


def _compile(tenant: str, query: EntityQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of an entity query but its geo-query, with its parameters."""
    return entity_where(
        FILTERS,
        tenant,
        query,
        lambda types: compile_types(types, tenant, driving=query.geo is None),
        lambda attrs: (
            " OR ".join("json_type(e.doc, ?) IS NOT NULL" for _ in attrs),
            [json_path("attrs", attr) for attr in attrs],
        ),
    )


def _by_ids(
    db: sqlite3.Connection, columns: str, tenant: str, ids: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    """`columns` of the tenant's entities with these ids, in chunks SQLite accepts."""
    for start in range(0, len(ids), _SCAN_BATCH):
        chunk = ids[start : start + _SCAN_BATCH]
        marks = ",".join("?" * len(chunk))
        yield from db.execute(
            f"SELECT {columns} FROM entities WHERE tenant = ? AND id IN ({marks})",
            (tenant, *chunk),
        )
