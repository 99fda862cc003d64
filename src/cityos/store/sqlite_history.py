"""The attribute history of the embedded store: every committed instance change, one row.

Rows are written in the transaction of the change itself (`record_history`), so history
is never behind the current state, even across a crash. Times are kept twice: as the ISO
text the client sees (inside `doc`) and as epoch milliseconds, which SQL can range over
and bucket by period without parsing text.

`SQLiteHistory` answers the temporal API through the queries it shares with the PostgreSQL
store (`history_sql`), with q and scopeQ compiled by `sqlite_filters`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cityos.context.entity import Entity, EntityChange
from cityos.context.query import TypeExpr
from cityos.context.temporal import text_epoch_ms
from cityos.store.history import HistoryRow
from cityos.store.history_sql import ROW_COLUMNS, SqlHistory, changed_rows
from cityos.store.rows import temporal_entity_row as _entity_row
from cityos.store.sql_dialect import SQLITE
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
    entities, rows = changed_rows(tenant, changes, _entity_row)
    if entities:
        db.executemany(_ENTITY_UPSERT, entities)
    if rows:
        db.executemany(_HISTORY_INSERT, rows)


def _types_sql(expr: TypeExpr) -> tuple[str, list[Any]]:
    """Temporal entities having all types of at least one group (types are in `e.doc`)."""
    has = "EXISTS (SELECT 1 FROM json_each(e.doc, '$.types') t WHERE t.value = ?)"
    groups = [" AND ".join([has] * len(group)) for group in expr]
    return " OR ".join(f"({g})" for g in groups) or "0", [t for group in expr for t in group]


class SQLiteHistory(SqlHistory):
    """The `HistoryStore` of `SQLiteStore`, in the same database file and under its lock."""

    dialect = SQLITE

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)

    def _q_source(self, inner_where: str) -> str:
        return (
            "(SELECT t.tenant, t.id, t.created_at, t.modified_at, json_set(t.doc, '$.attrs', "
            "json((SELECT json_group_object(g.attr, json(g.items)) FROM (SELECT w.attr, "
            "json_group_array(json(w.doc)) AS items FROM attr_history w WHERE "
            f"w.entity = t.id AND {inner_where} GROUP BY w.attr) g))) AS doc "
            "FROM temporal_entities t WHERE t.tenant = ?) e"
        )

    _compile_types = staticmethod(_types_sql)
    _compile_scope = staticmethod(compile_scope)
    _compile_q = staticmethod(compile_q)
    _entity_upsert = _ENTITY_UPSERT
    _entity_row = staticmethod(_entity_row)

    def _insert_rows(self, db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        db.executemany(_HISTORY_INSERT, rows)

    def load_instances(self, rows: Sequence[HistoryRow]) -> None:
        if rows:
            with self._store.transaction() as db:
                db.executemany(
                    f"INSERT INTO attr_history ({ROW_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )

    # -- writes --------------------------------------------------------------------------

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
        return int(cursor.rowcount)
