"""Live streams of notifications to browsers: the fan-out behind Server-Sent Events.

Every notification of a subscription is also offered to whoever listens to its stream. A
listener that falls behind loses the oldest messages rather than holding the notifier up;
its stream tells it how many it missed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

STREAM_BUFFER = 1000
"""Notifications kept for a slow listener before the oldest are dropped."""


@dataclass(slots=True, eq=False)
class Listener:
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(STREAM_BUFFER))
    dropped: int = 0

    def offer(self, body: bytes) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(body)


class StreamHub:
    """Listeners per (tenant, subscription id), at most `most` of them at once: each holds an
    open connection and a task, and idle streams would otherwise grow without bound."""

    def __init__(self, most: int | None = None) -> None:
        self.most = most
        self._listeners: dict[tuple[str, str], set[Listener]] = {}
        self._count = 0

    def publish(self, tenant: str, subscription_id: str, body: bytes) -> None:
        for listener in self._listeners.get((tenant, subscription_id), ()):
            listener.offer(body)

    def listening(self, tenant: str, subscription_id: str) -> bool:
        return bool(self._listeners.get((tenant, subscription_id)))

    def join(self, tenant: str, subscription_id: str) -> Listener | None:
        """A new listener, or None when `most` listen already; `leave` it when done."""
        if self.most is not None and self._count >= self.most:
            return None
        listener = Listener()
        self._listeners.setdefault((tenant, subscription_id), set()).add(listener)
        self._count += 1
        return listener

    def leave(self, tenant: str, subscription_id: str, listener: Listener) -> None:
        key = (tenant, subscription_id)
        listeners = self._listeners.get(key, set())
        if listener in listeners:
            listeners.discard(listener)
            self._count -= 1
        if not listeners:
            self._listeners.pop(key, None)

    def close_all(self, tenant: str, subscription_id: str) -> None:
        """End the streams of a deleted subscription (each gets an empty message)."""
        listeners = self._listeners.pop((tenant, subscription_id), set())
        self._count -= len(listeners)
        for listener in listeners:
            listener.offer(b"")
