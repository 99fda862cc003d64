"""Writing the audit log: who did what, when, where, to what, in which request.

Who comes from the context of the work: api/auth.py sets `acting` to the request's
principal for the request's lifetime (work handed to threads carries it along, as the
request id does); the command line acts as `CLI`, the platform's own work (escalations,
rules' cases) as `SYSTEM`. The detail is scrubbed of anything that names a secret or a
person's contact: the log is read by admins, not by everyone who handled a case.
Nothing here knows SQL (`store.audit.AuditLog` holds the records) or HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cityos import logs
from cityos.store.audit import AuditLog, AuditRecord


@dataclass(frozen=True, slots=True)
class Who:
    """An actor of the log: its stable subject and how it was known."""

    subject: str
    method: str


ANONYMOUS = Who("anonymous", "anonymous")
"""A request without credentials (or with authentication off)."""
CLI = Who("cli", "cli")
"""Whoever holds the store and runs `cityos keys …`."""
SYSTEM = Who("cityos", "system")
"""The platform itself: deadlines escalated, cases a rule files."""

acting: ContextVar[Who | None] = ContextVar("cityos_audit_who", default=None)

NEVER_LOGGED = frozenset(
    [
        *("secret", "key", "secretSha256", "token", "password"),
        *("reporter", "contact", "email", "phone", "firstName", "lastName"),
    ]
)
"""Member names dropped from every detail, at any depth: secrets and contact details."""


@contextmanager
def acting_as(who: Who) -> Iterator[None]:
    """Attribute what is recorded inside the block to `who`."""
    token = acting.set(who)
    try:
        yield
    finally:
        acting.reset(token)


def record(
    log: AuditLog,
    action: str,
    tenant: str,
    object_id: str,
    detail: Mapping[str, Any] | None = None,
    *,
    who: Who | None = None,
) -> AuditRecord:
    """Append one record: by `who`, else the one `acting`, else anonymous."""
    actor = who or acting.get() or ANONYMOUS
    entry = AuditRecord(
        at=datetime.now(UTC),
        actor=actor.subject,
        method=actor.method,
        tenant=tenant,
        action=action,
        object_id=object_id,
        request_id=logs.request_id.get(),
        detail=scrub(detail or {}),
    )
    log.append(entry)
    return entry


def scrub(value: Any) -> Any:
    """`value` without the members `NEVER_LOGGED` names, at any depth."""
    if isinstance(value, Mapping):
        return {str(k): scrub(v) for k, v in value.items() if k not in NEVER_LOGGED}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
