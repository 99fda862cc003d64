"""The subscription store both SQL stores share, written once over a `Dialect`:
subscriptions, the outbox of failed deliveries and the change log (see `sqlite_subscriptions`
for the tables). A backend adds a delivery to the outbox and numbers logged changes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from cityos.context.entity import EntityChange
from cityos.store.keyset_sql import keyset_batches
from cityos.store.rows import (
    change_entity,
    dumps,
    pending_from_row,
    subscription_from_row,
)
from cityos.store.sql_dialect import Dialect, SqlStore
from cityos.store.subscriptions import PendingDelivery, StoredSubscription

SUBSCRIPTION_COLUMNS = "tenant, id, doc, context, created_at, modified_at, status"
PENDING_COLUMNS = (
    "tenant, subscription, body, headers, attempts, next_at, created_at, seq, change_seq"
)


class SqlSubscriptions:
    """Subscriptions, outbox and change log in a store with `reading()` and `transaction()`."""

    dialect: Dialect

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        with store.reading() as db:
            found = db.execute("SELECT DISTINCT tenant FROM subscriptions").fetchall()
        self._subscribed_tenants = {tenant for (tenant,) in found}

    def _execute_rows(self, db: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run `sql` once per row (inside the caller's transaction)."""
        raise NotImplementedError

    def watched(self, tenant: str) -> bool:
        """Whether any subscription of `tenant` exists: only then are its changes logged."""
        return tenant in self._subscribed_tenants

    def put_subscription(self, subscription: StoredSubscription) -> None:
        p, j = self.dialect.param(), self.dialect.param("json")
        self._subscribed_tenants.add(subscription.tenant)
        with self._store.transaction() as db:
            db.execute(
                f"INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) "
                f"VALUES ({p}, {p}, {j}, {j}, {p}, {p}, {j}) "
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
        p = self.dialect.param()
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE tenant = {p} AND id = {p}",
                [tenant, subscription_id],
            ).fetchone()
        return subscription_from_row(row) if row else None

    def list_subscriptions(self, tenant: str | None = None) -> list[StoredSubscription]:
        p = self.dialect.param()
        where, params = (f"WHERE tenant = {p}", [tenant]) if tenant is not None else ("", [])
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions {where} ORDER BY seq", params
            ).fetchall()
        return [subscription_from_row(row) for row in rows]

    def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        p = self.dialect.param()
        with self._store.transaction() as db:
            gone = db.execute(
                f"DELETE FROM subscriptions WHERE tenant = {p} AND id = {p}",
                [tenant, subscription_id],
            ).rowcount
            db.execute(
                f"DELETE FROM outbox WHERE tenant = {p} AND subscription = {p}",
                [tenant, subscription_id],
            )
            left = db.execute(f"SELECT 1 FROM subscriptions WHERE tenant = {p} LIMIT 1", [tenant])
            if left.fetchone() is None:
                self._subscribed_tenants.discard(tenant)
        return bool(gone > 0)

    def save_statuses(self, statuses: list[tuple[str, str, dict[str, Any]]]) -> None:
        if not statuses:
            return
        p = self.dialect.param()
        with self._store.transaction() as db:
            self._execute_rows(
                db,
                f"UPDATE subscriptions SET status = {self.dialect.param('json')} "
                f"WHERE tenant = {p} AND id = {p}",
                [(dumps(status), tenant, sub_id) for tenant, sub_id, status in statuses],
            )

    def pending(self, tenant: str, subscription_id: str, limit: int = 100) -> list[PendingDelivery]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {PENDING_COLUMNS} FROM outbox WHERE tenant = {p} AND subscription = {p} "
                f"ORDER BY change_seq, seq LIMIT {p}",  # commit order, whenever each was parked
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

    def pending_count(self) -> int:
        with self._store.reading() as db:
            row = db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0]) if row else 0

    def unnotified(self, after_seq: int, limit: int = 1000) -> list[tuple[str, EntityChange]]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT seq, tenant, entity, before, after FROM change_log WHERE seq > {p} "
                f"ORDER BY seq LIMIT {p}",
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
            db.execute(f"DELETE FROM change_log WHERE seq <= {self.dialect.param()}", [upto_seq])

    def reschedule_pending(self, seq: int, attempts: int, next_at: float) -> None:
        p = self.dialect.param()
        with self._store.transaction() as db:
            db.execute(
                f"UPDATE outbox SET attempts = {p}, next_at = {p} WHERE seq = {p}",
                [attempts, next_at, seq],
            )

    def remove_pending(self, seq: int) -> None:
        with self._store.transaction() as db:
            db.execute(f"DELETE FROM outbox WHERE seq = {self.dialect.param()}", [seq])

    def dump_pending(self, batch: int = 1000) -> Iterator[list[PendingDelivery]]:
        for rows in keyset_batches(
            self._store.reading,
            self.dialect,
            "outbox",
            PENDING_COLUMNS,
            ["change_seq", "seq"],  # the order deliveries go out in
            batch,
        ):
            yield [pending_from_row(row) for row in rows]
