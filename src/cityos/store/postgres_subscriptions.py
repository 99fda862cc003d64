"""Subscriptions, the outbox of failed deliveries and the change log, in PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cityos.context.entity import EntityChange
from cityos.store.postgres_db import Db, execute_rows
from cityos.store.rows import (
    change_doc,
    change_entity,
    dumps,
    pending_from_row,
    subscription_from_row,
)
from cityos.store.subscriptions import PendingDelivery, StoredSubscription

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore

_SUBSCRIPTION_COLUMNS = "tenant, id, doc, context, created_at, modified_at, status"
_PENDING_COLUMNS = (
    "tenant, subscription, body, headers, attempts, next_at, created_at, seq, change_seq"
)


class PostgresSubscriptions:
    """The `SubscriptionStore` of a `PostgresStore`.

    `change_log` holds each committed change until the notifier has dealt with it; its
    numbers come from an identity sequence, drawn under the store's writer lock, so they
    follow commit order and never repeat.
    """

    def __init__(self, store: PostgresStore) -> None:
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
                f"INSERT INTO subscriptions ({_SUBSCRIPTION_COLUMNS}) "
                "VALUES (%s, %s, %s::jsonb, %s::jsonb, %s, %s, %s::jsonb) "
                "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc, "
                "context = excluded.context, modified_at = excluded.modified_at, "
                "status = excluded.status",
                [
                    subscription.tenant,
                    subscription.id,
                    dumps(subscription.doc),
                    dumps(subscription.context),
                    subscription.created_at,
                    subscription.modified_at,
                    dumps(subscription.status),
                ],
            )

    def get_subscription(self, tenant: str, subscription_id: str) -> StoredSubscription | None:
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE tenant = %s AND id = %s",
                [tenant, subscription_id],
            ).fetchone()
        return subscription_from_row(row) if row else None

    def list_subscriptions(self, tenant: str | None = None) -> list[StoredSubscription]:
        where, params = ("WHERE tenant = %s", [tenant]) if tenant is not None else ("", [])
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions {where} ORDER BY seq", params
            ).fetchall()
        return [subscription_from_row(row) for row in rows]

    def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        with self._store.transaction() as db:
            gone = db.execute(
                "DELETE FROM subscriptions WHERE tenant = %s AND id = %s",
                [tenant, subscription_id],
            ).rowcount
            db.execute(
                "DELETE FROM outbox WHERE tenant = %s AND subscription = %s",
                [tenant, subscription_id],
            )
            left = db.execute("SELECT 1 FROM subscriptions WHERE tenant = %s LIMIT 1", [tenant])
            if left.fetchone() is None:
                self._subscribed_tenants.discard(tenant)
        return gone > 0

    def save_statuses(self, statuses: list[tuple[str, str, dict[str, Any]]]) -> None:
        if not statuses:
            return
        with self._store.transaction() as db:
            execute_rows(
                db,
                "UPDATE subscriptions SET status = %s::jsonb WHERE tenant = %s AND id = %s",
                [(dumps(status), tenant, sub_id) for tenant, sub_id, status in statuses],
            )

    def add_pending(self, delivery: PendingDelivery) -> int:
        with self._store.transaction() as db:
            row = db.execute(
                "INSERT INTO outbox (tenant, subscription, body, headers, attempts, next_at, "
                "created_at, change_seq) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s) "
                "RETURNING seq",
                [
                    delivery.tenant,
                    delivery.subscription_id,
                    delivery.body,
                    dumps(delivery.headers),
                    delivery.attempts,
                    delivery.next_at,
                    delivery.created_at,
                    delivery.change_seq,
                ],
            ).fetchone()
        assert row is not None
        return int(row[0])

    def pending(self, tenant: str, subscription_id: str, limit: int = 100) -> list[PendingDelivery]:
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_PENDING_COLUMNS} FROM outbox WHERE tenant = %s AND subscription = %s "
                "ORDER BY change_seq, seq LIMIT %s",  # commit order, whenever each was parked
                [tenant, subscription_id, limit],
            ).fetchall()
        return [pending_from_row(row) for row in rows]

    def pending_subscriptions(self) -> dict[tuple[str, str], int]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT tenant, subscription, max(change_seq) FROM outbox "
                "GROUP BY tenant, subscription"
            ).fetchall()
        return {(tenant, sub_id): int(upto) for tenant, sub_id, upto in rows}

    def unnotified(self, after_seq: int, limit: int = 1000) -> list[tuple[str, EntityChange]]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT seq, tenant, entity, before, after FROM change_log WHERE seq > %s "
                "ORDER BY seq LIMIT %s",
                [after_seq, limit],
            ).fetchall()
        return [
            (
                tenant,
                EntityChange(
                    entity, change_entity(entity, before), change_entity(entity, after), seq
                ),
            )
            for seq, tenant, entity, before, after in rows
        ]

    def forget_changes(self, upto_seq: int) -> None:
        with self._store.transaction() as db:
            db.execute("DELETE FROM change_log WHERE seq <= %s", [upto_seq])

    def reschedule_pending(self, seq: int, attempts: int, next_at: float) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = %s, next_at = %s WHERE seq = %s",
                [attempts, next_at, seq],
            )

    def remove_pending(self, seq: int) -> None:
        with self._store.transaction() as db:
            db.execute("DELETE FROM outbox WHERE seq = %s", [seq])


def log_changes(db: Db, tenant: str, changes: list[EntityChange]) -> None:
    """Append `changes` to the change log in the caller's transaction, numbering them."""
    if not changes:
        return
    seqs = sorted(
        int(row[0])
        for row in db.execute(
            "SELECT nextval(pg_get_serial_sequence('change_log', 'seq')) "
            "FROM generate_series(1, %s)",
            [len(changes)],
        ).fetchall()
    )
    rows = []
    for seq, change in zip(seqs, changes, strict=True):
        change.seq = seq
        rows.append(
            (seq, tenant, change.entity_id, change_doc(change.before), change_doc(change.after))
        )
    execute_rows(
        db,
        "INSERT INTO change_log (seq, tenant, entity, before, after) "
        "VALUES (%s, %s, %s, %s::jsonb, %s::jsonb)",
        rows,
    )
