"""The audit log in both stores: appended, read back by filter in order, and append-only
at the database level (UPDATE, DELETE refused by triggers, whoever holds the connection)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cityos.store.audit import AuditFilter, AuditRecord
from cityos.store.base import Store
from cityos.store.migrate import migrate
from cityos.store.sqlite import SQLiteStore
from tests.stores import StoreFactory

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def entry(n: int, action: str, tenant: str = "city") -> AuditRecord:
    return AuditRecord(
        at=T0 + timedelta(minutes=n),
        actor=f"key{n}",
        method="key",
        tenant=tenant,
        action=action,
        object_id=f"urn:ngsi-ld:Case:{n}",
        request_id=f"req{n}",
        detail={"n": n, "to": "accepted"},
    )


def test_records_come_back_in_order_by_filter(store: Store) -> None:
    actions = ["case.report", "case.accept", "key.create", "case.accept", "subscription.create"]
    for n, action in enumerate(actions):
        store.audit.append(entry(n, action, tenant="*" if action.startswith("key") else "city"))
    everything = store.audit.find(AuditFilter())
    assert [r.action for r in everything] == actions
    expected = entry(1, "case.accept")
    expected.seq = everything[1].seq
    assert everything[1] == expected
    seqs = [r.seq for r in everything]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert [r.actor for r in store.audit.find(AuditFilter(action="case.accept"))] == [
        "key1",
        "key3",
    ]
    assert len(store.audit.find(AuditFilter(action="case"))) == 3  # a kind: every case.*
    assert [r.action for r in store.audit.find(AuditFilter(tenant="*"))] == ["key.create"]
    since = store.audit.find(AuditFilter(since=T0 + timedelta(minutes=3)))
    assert [r.actor for r in since] == ["key3", "key4"]
    page = store.audit.find(AuditFilter(after=seqs[1], limit=2))
    assert [r.seq for r in page] == seqs[2:4]


def test_the_log_refuses_update_and_delete(store: Store) -> None:
    store.audit.append(entry(1, "key.revoke"))
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(Exception, match="append-only"), store.transaction() as db:  # type: ignore[attr-defined]
            db.execute(statement)
    assert [r.actor for r in store.audit.find(AuditFilter())] == ["key1"]


def test_migrate_carries_the_log_in_its_order(tmp_path: Path) -> None:
    source = SQLiteStore(tmp_path / "city")
    postgres = StoreFactory("postgresql", tmp_path)
    try:
        for n, action in enumerate(["key.create", "case.report", "case.accept"]):
            source.audit.append(entry(n, action))
        target = postgres()
        report = migrate(source, target)
        assert report.ok
        assert [c.target for c in report.counts if c.kind == "audit records"] == [3]
        carried = target.audit.find(AuditFilter())
        assert [replace(r, seq=None) for r in carried] == [
            replace(r, seq=None) for r in source.audit.find(AuditFilter())
        ]
    finally:
        source.close()
        postgres.close()
