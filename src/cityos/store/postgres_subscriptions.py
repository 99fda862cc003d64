"""Subscriptions, the outbox of failed deliveries and the change log, in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityos.context.entity import EntityChange
from cityos.store.postgres_db import Db, execute_rows
from cityos.store.rows import (
    change_doc,
    dumps,
)
from cityos.store.sql_dialect import POSTGRES
from cityos.store.subscriptions import PendingDelivery
from cityos.store.subscriptions_sql import SqlSubscriptions

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore


class PostgresSubscriptions(SqlSubscriptions):
    """The `SubscriptionStore` of a `PostgresStore`.

    `change_log` holds each committed change until the notifier has dealt with it; its
    numbers come from an identity sequence, drawn under the store's writer lock, so they
    follow commit order and never repeat.
    """

    dialect = POSTGRES

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)

    def _execute_rows(self, db: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        execute_rows(db, sql, rows)

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
