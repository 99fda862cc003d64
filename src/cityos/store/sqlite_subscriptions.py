"""Subscriptions and the outbox of failed deliveries, in the embedded store's database."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from cityos.context.entity import EntityChange
from cityos.store.rows import change_doc as _doc
from cityos.store.rows import change_entity as _entity
from cityos.store.rows import dumps as _json
from cityos.store.rows import pending_from_row as _pending
from cityos.store.rows import subscription_from_row as _subscription
from cityos.store.subscriptions import PendingDelivery, StoredSubscription

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

_SUBSCRIPTION_COLUMNS = "tenant, id, doc, context, created_at, modified_at, status"
_PENDING_COLUMNS = (
    "tenant, subscription, body, headers, attempts, next_at, created_at, seq, change_seq"
)


class SQLiteSubscriptions:
    """The `SubscriptionStore` of a `SQLiteStore`, sharing its connection and lock."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        with store.reading() as db:
            found = db.execute("SELECT DISTINCT tenant FROM subscriptions").fetchall()
        self._subscribed_tenants = {tenant for (tenant,) in found}

    def watched(self, tenant: str) -> bool:
        """Whether any subscription of `tenant` exists: only then are its changes logged."""
        return tenant in self._subscribed_tenants

    def put_subscription(self, subscription: StoredSubscription) -> None:
        self._subscribed_tenants.add(subscription.tenant)
        with self._store.transaction() as db:
            db.execute(
                f"INSERT INTO subscriptions ({_SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc, "
                "context = excluded.context, modified_at = excluded.modified_at, "
                "status = excluded.status",
                (
                    subscription.tenant,
                    subscription.id,
                    _json(subscription.doc),
                    _json(subscription.context),
                    subscription.created_at,
                    subscription.modified_at,
                    _json(subscription.status),
                ),
            )

    def get_subscription(self, tenant: str, subscription_id: str) -> StoredSubscription | None:
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE tenant = ? AND id = ?",
                (tenant, subscription_id),
            ).fetchone()
        return _subscription(row) if row else None

    def list_subscriptions(self, tenant: str | None = None) -> list[StoredSubscription]:
        where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions {where} ORDER BY seq", params
            ).fetchall()
        return [_subscription(row) for row in rows]

    def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        with self._store.transaction() as db:
            gone = db.execute(
                "DELETE FROM subscriptions WHERE tenant = ? AND id = ?", (tenant, subscription_id)
            ).rowcount
            db.execute(
                "DELETE FROM outbox WHERE tenant = ? AND subscription = ?",
                (tenant, subscription_id),
            )
            left = db.execute("SELECT 1 FROM subscriptions WHERE tenant = ? LIMIT 1", (tenant,))
            if left.fetchone() is None:
                self._subscribed_tenants.discard(tenant)
        return gone > 0

    def save_statuses(self, statuses: list[tuple[str, str, dict[str, Any]]]) -> None:
        if not statuses:
            return
        with self._store.transaction() as db:
            db.executemany(
                "UPDATE subscriptions SET status = ? WHERE tenant = ? AND id = ?",
                [(_json(status), tenant, sub_id) for tenant, sub_id, status in statuses],
            )

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
        return seq

    def pending(self, tenant: str, subscription_id: str, limit: int = 100) -> list[PendingDelivery]:
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_PENDING_COLUMNS} FROM outbox WHERE tenant = ? AND subscription = ? "
                "ORDER BY change_seq, seq LIMIT ?",  # commit order, whenever each was parked
                (tenant, subscription_id, limit),
            ).fetchall()
        return [_pending(row) for row in rows]

    def pending_subscriptions(self) -> dict[tuple[str, str], int]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT tenant, subscription, max(change_seq) FROM outbox "
                "GROUP BY tenant, subscription"
            ).fetchall()
        return {(tenant, sub_id): upto for tenant, sub_id, upto in rows}

    def unnotified(self, after_seq: int, limit: int = 1000) -> list[tuple[str, EntityChange]]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT seq, tenant, entity, before, after FROM change_log WHERE seq > ? "
                "ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [
            (tenant, EntityChange(entity, _entity(entity, before), _entity(entity, after), seq))
            for seq, tenant, entity, before, after in rows
        ]

    def forget_changes(self, upto_seq: int) -> None:
        with self._store.transaction() as db:
            db.execute("DELETE FROM change_log WHERE seq <= ?", (upto_seq,))

    def reschedule_pending(self, seq: int, attempts: int, next_at: float) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = ?, next_at = ? WHERE seq = ?",
                (attempts, next_at, seq),
            )

    def remove_pending(self, seq: int) -> None:
        with self._store.transaction() as db:
            db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))


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
