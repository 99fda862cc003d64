"""The attribute history of the embedded store: every committed instance change, one row.

Rows are written in the transaction of the change itself (`record_history`), so history
is never behind the current state, even across a crash. Times are kept twice: as the ISO
text the client sees (inside `doc`) and as epoch milliseconds, which SQL can range over
and bucket by period without parsing text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from cityos.context.entity import VALUE_KEY_BY_TYPE, EntityChange

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
"""
"""`observed_ms` is observedAt, or modifiedAt for instances without one; `num` holds the
value when it is a number (what sum/avg/min/max aggregate); `value` is the value as JSON
(what distinctCount compares); `doc` is the whole expanded instance."""


def epoch_ms(text: str) -> int:
    """Milliseconds since 1970 of an ISO 8601 date-time (UTC when it names no zone)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def record_history(db: sqlite3.Connection, tenant: str, changes: Sequence[EntityChange]) -> None:
    """Add a history row for every instance these changes wrote, inside the caller's transaction."""
    rows: list[tuple[Any, ...]] = []
    entities: list[tuple[str, str, str, str, str]] = []
    for change in changes:
        after = change.after
        if after is None:
            continue
        entity_doc = {"types": after.types, "scope": after.scope}
        entities.append(
            (
                tenant,
                after.id,
                orjson.dumps(entity_doc).decode(),
                after.created_at,
                after.modified_at,
            )
        )
        for attr, inst in change.changed_instances():
            modified = inst.get("modifiedAt") or after.modified_at
            value = inst.get(VALUE_KEY_BY_TYPE.get(inst.get("type", ""), "value"))
            number = (
                value if isinstance(value, int | float) and not isinstance(value, bool) else None
            )
            rows.append(
                (
                    tenant,
                    after.id,
                    attr,
                    inst.get("datasetId"),
                    epoch_ms(inst.get("observedAt") or modified),
                    epoch_ms(modified),
                    epoch_ms(inst.get("createdAt") or modified),
                    number,
                    orjson.dumps(value).decode(),
                    orjson.dumps(inst).decode(),
                )
            )
    if entities:
        db.executemany(
            "INSERT INTO temporal_entities (tenant, id, doc, created_at, modified_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, id) DO UPDATE SET "
            "doc = excluded.doc, modified_at = excluded.modified_at",
            entities,
        )
    if rows:
        db.executemany(
            "INSERT INTO attr_history (tenant, entity, attr, dataset_id, observed_ms, "
            "modified_ms, created_ms, num, value, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
