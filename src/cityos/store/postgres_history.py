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
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cityos.context.entity import Entity, EntityChange
from cityos.context.temporal import text_epoch_ms
from cityos.store.history import HistoryRow
from cityos.store.history_sql import ROW_COLUMNS, SqlHistory, changed_rows
from cityos.store.postgres_db import Db, copy_rows, execute_rows
from cityos.store.postgres_filters import compile_q, compile_scope, compile_types
from cityos.store.rows import dumps
from cityos.store.sql_dialect import POSTGRES

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore

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
    entities, rows = changed_rows(tenant, changes, _entity_row)
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


class PostgresHistory(SqlHistory):
    """The `HistoryStore` of `PostgresStore`."""

    dialect = POSTGRES

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)
        self.partitions = Partitions()
        """The partitions of this store's schema known to exist."""

    def _q_source(self, inner_where: str) -> str:
        return (
            "(SELECT t.tenant, t.id, t.types, t.created_at, t.modified_at, "
            "jsonb_set(t.doc, '{attrs}', coalesce((SELECT jsonb_object_agg(g.attr, g.items) "
            "FROM (SELECT w.attr, jsonb_agg(w.doc ORDER BY w.observed_ms, w.id) AS items "
            f"FROM attr_history w WHERE w.entity = t.id AND {inner_where} "
            "GROUP BY w.attr) g), '{}'::jsonb)) AS doc "
            "FROM temporal_entities t WHERE t.tenant = %s) e"
        )

    _compile_types = staticmethod(compile_types)
    _compile_scope = staticmethod(compile_scope)
    _compile_q = staticmethod(compile_q)
    _entity_upsert = _ENTITY_UPSERT
    _entity_row = staticmethod(_entity_row)

    def _insert_rows(self, db: Db, rows: list[tuple[Any, ...]]) -> None:
        _insert_rows(db, self.partitions, rows)

    def _prepare_rows(self, db: Db, rows: list[tuple[Any, ...]]) -> None:
        self.partitions.ensure(db, (row[4] for row in rows))

    def load_entities(self, entities: Sequence[tuple[str, Entity]]) -> None:
        if entities:
            with self._store.transaction() as db:
                copy_rows(
                    db,
                    "temporal_entities (tenant, id, types, doc, created_at, modified_at)",
                    (_entity_row(tenant, entity) for tenant, entity in entities),
                )

    def load_instances(self, rows: Sequence[HistoryRow]) -> None:
        """With COPY; the id sequence then continues after the highest id loaded."""
        if not rows:
            return
        with self._store.transaction() as db:
            self.partitions.ensure(db, (row.observed_ms for row in rows))
            copy_rows(db, f"attr_history ({ROW_COLUMNS})", rows)
            db.execute(
                "SELECT setval('attr_history_id', greatest(%s, "
                "(SELECT last_value FROM attr_history_id)))",
                [max(row.id for row in rows)],
            )

    # -- writes --------------------------------------------------------------------------

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


def _iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
