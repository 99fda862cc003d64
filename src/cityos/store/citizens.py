"""The `CitizenStore` protocol: what the citizens' front door keeps beside the cases.

Short references and their per-city counter, the people following a case by e-mail (each
with the token of their unsubscribe link), the durable outbox of e-mails to them, and the
public updates of cases over a time window (Open311 `servicerequestupdates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cityos.governance.model import TrailEntry


@dataclass(frozen=True, slots=True)
class Follower:
    """Someone who hears of a case by e-mail: its reporter or a "me too"."""

    token: str
    """Stands for this follower in the unsubscribe link."""
    tenant: str
    case_id: str
    email: str
    name: str
    lang: str = "en"
    """The language of the e-mails."""
    active: bool = True


@dataclass(slots=True)
class Mail:
    """One e-mail in the outbox; `id` is the store's (0 before it is queued)."""

    tenant: str
    case_id: str
    to: str
    subject: str
    body: str
    next_at: datetime
    attempts: int = 0
    id: int = 0
    error: str | None = None


class CitizenStore(Protocol):
    def allocate_reference(self, tenant: str, series: str, case_id: str) -> str:
        """The next reference of `series` (`CQ-2026` → `CQ-2026-000124`), bound to `case_id`:
        one transaction bumps the tenant's counter and records the binding, so two instances
        never hand out the same number."""
        ...

    def case_of(self, tenant: str, reference: str) -> str | None: ...

    def follow(self, follower: Follower) -> Follower:
        """Add a follower (once per e-mail and case; a second call returns the first)."""
        ...

    def followers(self, tenant: str, case_id: str) -> list[Follower]:
        """Every follower of the case, active or not, in the order they came."""
        ...

    def unsubscribe(self, token: str) -> Follower | None: ...

    def enqueue(self, mails: list[Mail]) -> None: ...

    def due_mail(self, now: datetime, lease_until: datetime, limit: int = 50) -> list[Mail]:
        """Mail due by `now`, claimed until `lease_until` (another instance skips it; if
        this one dies before sending, it is sent after the lease)."""
        ...

    def mail_sent(self, mail_id: int, at: datetime) -> None: ...

    def mail_failed(self, mail: Mail) -> None:
        """Record a failed attempt: `mail.attempts`, `next_at` and `error` as the caller set
        them (giving up is a `next_at` far in the future)."""
        ...

    def pending_mail(self) -> int: ...

    def updates(
        self, tenant: str, since: datetime, until: datetime, limit: int
    ) -> list[TrailEntry]:
        """Trail entries of the tenant's cases in [since, until), oldest first."""
        ...
