"""What the audit log persists: who did what, when, in which tenant, to which object.

Append-only: both stores refuse UPDATE and DELETE on its table with a trigger, so that not
even code with the database connection rewrites history. What goes in (never a secret or
a reporter's contact details) is `cityos.audit`'s to say; this module only holds the
record and the protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(slots=True)
class AuditRecord:
    at: datetime
    actor: str
    """The principal's subject (key id, token `sub`), or `anonymous`, `cli`, `cityos`."""
    method: str
    """How the actor was known: api-key, token, anonymous, unauthenticated, cli, system."""
    tenant: str
    """The tenant acted in; `*` for what belongs to none (API keys)."""
    action: str
    """`<object kind>.<verb>`: case.accept, key.create, subscription.delete…"""
    object_id: str
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None
    """Its place in the log, given by the store on append."""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    since: datetime | None = None
    tenant: str | None = None
    action: str | None = None
    """An action (`case.accept`), or a kind of object (`case`: every case.* action)."""
    after: int = 0
    """Only records after this `seq` (paging)."""
    limit: int = 1000


class AuditLog(Protocol):
    """The append-only audit log."""

    def append(self, record: AuditRecord) -> None: ...

    def find(self, selection: AuditFilter) -> list[AuditRecord]:
        """The matching records, oldest first (by `seq`)."""
        ...

    def load_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append records as given, in this order (a migration: each gets a new `seq`,
        the order of the source's)."""
        ...
