"""The audit log both SQL stores share, written once over a `Dialect`: one row per record
in `audit_log`, which triggers keep append-only (see sqlite_audit.py, postgres_schema.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from cityos.store.audit import AuditFilter, AuditRecord
from cityos.store.sql_dialect import Dialect, Sql, SqlStore

_COLUMNS = "at, actor, method, tenant, action, object_id, request_id, detail"


class SqlAudit:
    """The `AuditLog` of a store with `reading()` and `transaction()`."""

    dialect: Dialect

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _insert(self) -> str:
        marks = [self.dialect.param()] * 7 + [self.dialect.param("json")]
        return f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join(marks)})"

    def append(self, record: AuditRecord) -> None:
        with self._store.transaction() as db:
            db.execute(self._insert(), _row(record))

    def load_audit(self, records: Sequence[AuditRecord]) -> None:
        if records:
            with self._store.transaction() as db:
                db.cursor().executemany(self._insert(), [_row(r) for r in records])

    def find(self, selection: AuditFilter) -> list[AuditRecord]:
        p = self.dialect.param()
        sql = Sql(self.dialect, [], [])
        sql.add(f"seq > {p}", selection.after)
        if selection.since is not None:
            sql.add(f"at >= {p}", selection.since.timestamp())
        if selection.tenant is not None:
            sql.add(f"tenant = {p}", selection.tenant)
        if selection.action is not None:
            sql.add(f"(action = {p} OR action LIKE {p})", selection.action, selection.action + ".%")
        query = f"SELECT seq, {_COLUMNS} FROM audit_log WHERE {sql.where} ORDER BY seq LIMIT {p}"
        with self._store.reading() as db:
            rows = db.execute(query, [*sql.params, selection.limit]).fetchall()
        return [_record(row) for row in rows]


def _row(record: AuditRecord) -> list[Any]:
    return [
        record.at.timestamp(),
        record.actor,
        record.method,
        record.tenant,
        record.action,
        record.object_id,
        record.request_id,
        orjson.dumps(record.detail).decode(),
    ]


def _record(row: Sequence[Any]) -> AuditRecord:
    seq, at, actor, method, tenant, action, object_id, request_id, detail = row
    return AuditRecord(
        at=datetime.fromtimestamp(float(at), UTC),
        actor=actor,
        method=method,
        tenant=tenant,
        action=action,
        object_id=object_id,
        request_id=request_id,
        detail=orjson.loads(detail) if isinstance(detail, str | bytes) else dict(detail),
        seq=int(seq),
    )
