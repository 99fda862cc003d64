"""The audit log in the embedded store's database (`audit_sql`, in SQLite's dialect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cityos.store.audit_sql import SqlAudit
from cityos.store.sql_dialect import SQLITE

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    method TEXT NOT NULL,
    tenant TEXT NOT NULL,
    action TEXT NOT NULL,
    object_id TEXT NOT NULL,
    request_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_by_tenant ON audit_log (tenant, seq);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class SQLiteAudit(SqlAudit):
    """The `AuditLog` of a `SQLiteStore`, sharing its connection and lock."""

    dialect = SQLITE

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)
        with store.transaction() as db:
            for statement in AUDIT_SCHEMA.split(";\n"):
                if statement.strip():
                    db.execute(statement)
