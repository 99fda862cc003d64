"""Live streams of notifications to browsers: the fan-out behind Server-Sent Events.

Every notification of a subscription is also offered to whoever listens to its stream. A
listener that falls behind loses the oldest messages rather than holding the notifier up;
its stream tells it how many it missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
    """Listeners per (tenant, subscription id)."""

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, str], set[Listener]] = {}

    def publish(self, tenant: str, subscription_id: str, body: bytes) -> None:
        for listener in self._listeners.get((tenant, subscription_id), ()):
            listener.offer(body)

    def listening(self, tenant: str, subscription_id: str) -> bool:
        return bool(self._listeners.get((tenant, subscription_id)))

    @asynccontextmanager
    async def listen(self, tenant: str, subscription_id: str) -> AsyncIterator[Listener]:
        listener = Listener()
        key = (tenant, subscription_id)
        self._listeners.setdefault(key, set()).add(listener)
        try:
            yield listener
        finally:
            listeners = self._listeners.get(key, set())
            listeners.discard(listener)
            if not listeners:
                self._listeners.pop(key, None)

    def close_all(self, tenant: str, subscription_id: str) -> None:
        """End the streams of a deleted subscription (each gets an empty message)."""
        for listener in self._listeners.pop((tenant, subscription_id), set()):
            listener.offer(b"")
