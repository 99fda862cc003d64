"""Where committed changes travel between the store and their consumers.

One instance needs no bus: the broker calls its listeners (the notifier, the rule engine)
right after each commit, in-process. `LocalBus` is that, and the default. Several
instances in front of one store need a shared log of changes instead, so that each change
is notified and evaluated once across all of them: `events.nats_bus.NatsBus`.

A distributed bus carries three things besides the changes:

- control messages: "subscription (or rule) X of tenant T changed, read it again from the
  store", in the same ordered log as the changes, so an instance never handles a change
  before the subscription that was created before it;
- live-stream fan-out: a notification produced on one instance reaches the Server-Sent
  Events listeners of every instance;
- a leader lease: duties that must run on one instance only (rules, outbox retries,
  periodic notifications) run where the lease is held.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from cityos.context.broker import Broker
from cityos.context.entity import EntityChange
from cityos.health import Check
from cityos.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a change reached a shared consumer."""

    position: int
    """Its place in the shared log (control messages have places in the same order)."""
    redelivered: bool = False
    """It may have been handled before: an instance died holding it."""


ChangeHandler = Callable[[str, EntityChange, Delivery], Awaitable[None]]
"""Handles one change of a tenant. Returning means done: it is acked."""

StreamHandler = Callable[[str, str, bytes], None]
"""(tenant, subscription id, notification body) for the local live-stream listeners."""


@dataclass(frozen=True, slots=True)
class Control:
    """Something other than an entity changed in the store: read it again."""

    kind: str
    """`subscription` or `rule`."""
    tenant: str
    id: str
    position: int = field(default=0, compare=False)
    """Its place in the shared log: what it creates applies to the changes after it."""


ControlHandler = Callable[[Control], None]


class ChangeBus(Protocol):
    """How an instance shares its committed changes with every instance."""

    @property
    def distributed(self) -> bool:
        """False: consumers listen to the broker in-process (one instance)."""
        ...

    def attach(self, broker: Broker) -> None:
        """Publish every change `broker` commits from now on."""
        ...

    def running(self) -> AbstractAsyncContextManager[None]:
        """Connected and publishing until the block ends (enter before the consumers)."""
        ...

    def consume(
        self,
        name: str,
        handler: ChangeHandler,
        *,
        leader_only: bool = False,
        per_entity: bool = False,
    ) -> AbstractAsyncContextManager[None]:
        """Feed `handler` every change once across all instances that consume `name`, in
        commit order (with `per_entity`, per entity only: changes of different entities
        may be handled at the same time); with `leader_only`, only while this instance
        holds the lease."""
        ...

    def on_control(self, handler: ControlHandler) -> None: ...

    def on_stream(self, handler: StreamHandler) -> None: ...

    def on_lead(self, handler: Callable[[], None]) -> None:
        """Called when this instance becomes the leader (reload what another one kept)."""
        ...

    def announce(self, control: Control) -> None:
        """Tell every instance (this one included) about `control`; from any thread."""
        ...

    async def settled(self) -> None:
        """Until every announcement so far is in the shared log (before answering the
        client that caused it, so a later request anywhere sees its effect)."""
        ...

    def stream(self, tenant: str, subscription_id: str, body: bytes) -> None:
        """Offer a notification to the live-stream listeners of every instance."""
        ...

    def leading(self) -> bool: ...

    async def health(self) -> Check:
        """Whether changes travel: `fail` when a distributed bus lost its server."""
        ...


class LocalBus:
    """One instance: the broker's listeners are called in-process (today's behaviour)."""

    distributed = False

    def __init__(self) -> None:
        self._streams: list[StreamHandler] = []
        self._controls: list[ControlHandler] = []

    def attach(self, broker: Broker) -> None:
        """Nothing to do: consumers hang on `broker.listeners` themselves."""

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        yield

    @asynccontextmanager
    async def consume(
        self,
        name: str,
        handler: ChangeHandler,
        *,
        leader_only: bool = False,
        per_entity: bool = False,
    ) -> AsyncIterator[None]:
        raise NotImplementedError("a local bus has no shared consumers: use broker.listeners")
        yield  # pragma: no cover

    def on_control(self, handler: ControlHandler) -> None:
        self._controls.append(handler)

    def on_stream(self, handler: StreamHandler) -> None:
        self._streams.append(handler)

    def on_lead(self, handler: Callable[[], None]) -> None:
        """Always the leader: nothing to hand over."""

    def announce(self, control: Control) -> None:
        """The instance that changed it already knows."""

    async def settled(self) -> None:
        return

    def stream(self, tenant: str, subscription_id: str, body: bytes) -> None:
        for handler in self._streams:
            handler(tenant, subscription_id, body)

    def leading(self) -> bool:
        return True

    async def health(self) -> Check:
        return Check("pass", component_id="local")


def make_bus(url: str | None, metrics: Metrics | None = None) -> ChangeBus:
    """The bus an `--events` value names: `local` (or none), or `nats://host:port`;
    `metrics` counts what a distributed bus relays."""
    if not url or url == "local":
        return LocalBus()
    if url.startswith(("nats://", "tls://")):
        from cityos.events.nats_bus import PARTITIONS, NatsBus

        # ?stream=NAME&prefix=P: several cities (or test runs) on one NATS server;
        # &partitions=N: entities whose changes are notified at the same time
        base, _, query = url.partition("?")
        options = dict(urllib.parse.parse_qsl(query))
        unknown = set(options) - {"stream", "prefix", "partitions"}
        if unknown:
            raise ValueError(f"Unknown events bus option(s): {', '.join(sorted(unknown))}")
        partitions = options.get("partitions", str(PARTITIONS))
        if not partitions.isdigit():
            raise ValueError(f"partitions must be a whole number, not {partitions!r}")
        return NatsBus(
            base,
            stream=options.get("stream", "CITYOS_CHANGES"),
            prefix=options.get("prefix", "cityos"),
            partitions=int(partitions),
            metrics=metrics,
        )
    raise ValueError(f"Unknown events bus {url!r}: use local or nats://host:port")
