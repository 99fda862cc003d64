"""What the event system persists: subscriptions and the deliveries still owed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from cityos.context.entity import EntityChange


@dataclass(slots=True)
class StoredSubscription:
    """A subscription as the client wrote it (`doc`, short names) with the @context that
    gives those names meaning, and the delivery status the broker keeps for it."""

    tenant: str
    id: str
    doc: dict[str, Any]
    context: Any
    """The JSON-LD @context of the request that created it: a URL, a list or an object."""
    created_at: str
    modified_at: str
    status: dict[str, Any] = field(default_factory=dict)
    """timesSent, timesFailed, lastNotification, lastSuccess, lastFailure, status."""


@dataclass(slots=True)
class PendingDelivery:
    """A notification that failed and waits for its next attempt."""

    tenant: str
    subscription_id: str
    body: bytes
    headers: dict[str, str]
    attempts: int
    next_at: float
    """When to try again, in seconds since 1970."""
    created_at: float
    seq: int = 0
    """Its place in the outbox: deliveries of one subscription go out in this order."""
    change_seq: int = 0
    """The last change-log number it answers for: after a crash, what the subscription owes
    up to there is in the outbox and need not be matched again."""


class SubscriptionStore(Protocol):
    def put_subscription(self, subscription: StoredSubscription) -> None: ...

    def get_subscription(self, tenant: str, subscription_id: str) -> StoredSubscription | None: ...

    def list_subscriptions(self, tenant: str | None = None) -> list[StoredSubscription]:
        """One tenant's subscriptions in creation order, or every tenant's (None)."""
        ...

    def delete_subscription(self, tenant: str, subscription_id: str) -> bool:
        """Delete it and the deliveries it still owes; False when there was none."""
        ...

    def save_statuses(self, statuses: list[tuple[str, str, dict[str, Any]]]) -> None:
        """(tenant, subscription id, status) for each subscription whose status moved."""
        ...

    def add_pending(self, delivery: PendingDelivery) -> int: ...

    def pending(self, tenant: str, subscription_id: str, limit: int = 100) -> list[PendingDelivery]:
        """The deliveries this subscription owes, oldest change first (the order of the
        commits they report, not the order they were parked in)."""
        ...

    def pending_subscriptions(self) -> dict[tuple[str, str], int]:
        """(tenant, subscription id) → the last change it owes a delivery for, for every
        subscription that owes deliveries."""
        ...

    def pending_count(self) -> int:
        """How many deliveries the outbox holds, of every tenant (the metrics' depth)."""
        ...

    def unnotified(self, after_seq: int, limit: int = 1000) -> list[tuple[str, EntityChange]]:
        """(tenant, change) of logged changes after `after_seq`, oldest first."""
        ...

    def forget_changes(self, upto_seq: int) -> None:
        """The notifier is done with every change up to this one."""
        ...

    def reschedule_pending(self, seq: int, attempts: int, next_at: float) -> None: ...

    def remove_pending(self, seq: int) -> None: ...

    def dump_pending(self, batch: int = 1000) -> Iterator[list[PendingDelivery]]:
        """Every delivery owed, of every subscription, in the order `pending` gives them
        (commit order, then parking order), `batch` at a time."""
        ...
