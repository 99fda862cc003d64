"""The audit log in PostgreSQL (`audit_sql`, in PostgreSQL's dialect; its table and the
trigger keeping it append-only are migration 8 of postgres_schema.py)."""

from __future__ import annotations

from cityos.store.audit_sql import SqlAudit
from cityos.store.sql_dialect import POSTGRES


class PostgresAudit(SqlAudit):
    """The `AuditLog` of a `PostgresStore`."""

    dialect = POSTGRES
