"""Subscriptions and the outbox of failed deliveries, in the embedded store's database."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityos.context.entity import EntityChange
from cityos.store.rows import change_doc as _doc
from cityos.store.rows import dumps as _json
from cityos.store.sql_dialect import SQLITE
from cityos.store.subscriptions import PendingDelivery
from cityos.store.subscriptions_sql import SqlSubscriptions

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore

SUBSCRIPTIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    seq INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    context TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    status TEXT NOT NULL,
    UNIQUE (tenant, id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    subscription TEXT NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at REAL NOT NULL,
    created_at REAL NOT NULL,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_in_commit_order
    ON outbox (tenant, subscription, change_seq, seq);
CREATE TABLE IF NOT EXISTS change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    entity TEXT NOT NULL,
    before TEXT,
    after TEXT
);
"""
"""`change_log` holds each committed change until the notifier has dealt with it (matched
it and delivered, or parked in the outbox, what it owes): what a crash interrupts is
matched again on the next start."""


class SQLiteSubscriptions(SqlSubscriptions):
    """The `SubscriptionStore` of a `SQLiteStore`, sharing its connection and lock."""

    dialect = SQLITE

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)

    def _execute_rows(self, db: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        db.executemany(sql, rows)

    def add_pending(self, delivery: PendingDelivery) -> int:
        with self._store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO outbox (tenant, subscription, body, headers, attempts, next_at, "
                "created_at, change_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    delivery.tenant,
                    delivery.subscription_id,
                    delivery.body,
                    _json(delivery.headers),
                    delivery.attempts,
                    delivery.next_at,
                    delivery.created_at,
                    delivery.change_seq,
                ),
            )
        seq = cursor.lastrowid
        assert seq is not None
        return int(seq)


def log_changes(db: sqlite3.Connection, tenant: str, changes: list[EntityChange]) -> None:
    """Append `changes` to the change log in the caller's transaction, numbering them."""
    # AUTOINCREMENT keeps the high-water mark in sqlite_sequence, so numbers never repeat
    # even after the notifier has emptied the log.
    found = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'").fetchone()
    start = found[0] if found else 0
    rows = []
    for offset, change in enumerate(changes, start + 1):
        change.seq = offset
        rows.append((offset, tenant, change.entity_id, _doc(change.before), _doc(change.after)))
    db.executemany(
        "INSERT INTO change_log (seq, tenant, entity, before, after) VALUES (?, ?, ?, ?, ?)", rows
    )
