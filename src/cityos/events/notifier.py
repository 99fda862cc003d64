"""The notifier: hears every commit, decides which subscriptions it concerns, delivers.

Flow, one way: the broker commits and calls `on_commit` → the dispatcher matches each change
against the tenant's subscriptions, in commit order → each subscription has its own queue
and worker, so one slow endpoint holds up only itself and its notifications leave in order →
a failed delivery goes to the store's outbox and every later one of that subscription
queues behind it there, retried with exponential backoff until it succeeds or grows too old.
Subscriptions and the outbox are in the store, so both survive a restart.

With a distributed bus (several instances, see events/bus.py) the changes come from the
bus's shared consumer instead of the broker, one at a time, and each is acknowledged once
its notifications are sent or parked; subscriptions changed on one instance reach the
others as control messages; outbox retries and periodic notifications run on the leader.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from cityos.context.broker import Broker
from cityos.context.broker import iso_time as iso
from cityos.context.entity import Entity, EntityChange
from cityos.context.errors import LdContextNotAvailable, NgsiError
from cityos.context.jsonld import ContextResolver
from cityos.events.bus import ChangeBus, Control, Delivery, LocalBus
from cityos.events.delivery import DeliveryFailed, Transports
from cityos.events.endpoints import EndpointPolicy
from cityos.events.matching import matches
from cityos.events.notification import entity_data, notification_body
from cityos.events.stream import StreamHub
from cityos.events.subscription import (
    STREAM_URI,
    Subscription,
    compile_subscription,
    hidden_uri,
)
from cityos.health import Check
from cityos.logs import detached
from cityos.metrics import HTTP_CHANNEL, MQTT_CHANNEL, SSE_CHANNEL, Metrics, guarded
from cityos.store.base import EntityQuery
from cityos.store.snapshot import SnapshotFilter
from cityos.store.subscriptions import PendingDelivery, StoredSubscription

log = logging.getLogger("cityos.events")

Key = tuple[str, str]
"""(tenant, subscription id)."""

PERIODIC_LIMIT = 1000
"""Most entities a periodic notification carries."""
UNPLACED = 1 << 62
"""Distributed: the place in the log of a subscription made here, until its control
message is read back (it matches no change before then)."""
MAX_QUEUED = 10_000
"""Notifications a subscription keeps in memory for a slow endpoint; more wait on disk."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for failed deliveries, and when to give up on one."""

    first_s: float = 1.0
    max_s: float = 300.0
    give_up_after_s: float = 24 * 3600.0
    tick_s: float = 0.25
    """How often the outbox is looked at."""

    def delay(self, attempts: int) -> float:
        return min(self.max_s, self.first_s * 2.0 ** max(0, attempts - 1))


_Item = tuple[list[int], list[dict[str, Any]]]
"""A notification to send: the change-log numbers it answers for, and its `data`."""


@dataclass(slots=True)
class _Active:
    """A subscription the notifier is serving."""

    stored: StoredSubscription
    sub: Subscription
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)
    last_sent: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    spilling: bool = False
    """Its queue is full: new notifications go to the outbox until the queue is drained."""
    in_flight: list[int] = field(default_factory=list)
    """Change-log numbers of the notification being sent."""
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Throttled: each entity's latest `data` item since the last notification."""
    latest_seqs: tuple[int, int] = (0, 0)
    """Throttled: the first and last change-log numbers `latest` answers for."""
    since: int = 0
    """Distributed: its place in the shared log; it matches only the changes after it."""


@dataclass(slots=True)
class _TenantSubscriptions:
    """One tenant's subscriptions, indexed by the entity ids and types they select, so a
    change is matched against the few that could want it rather than against all."""

    all: dict[str, _Active] = field(default_factory=dict)
    by_id: dict[str, dict[str, _Active]] = field(default_factory=dict)
    by_type: dict[str, dict[str, _Active]] = field(default_factory=dict)
    anything: dict[str, _Active] = field(default_factory=dict)
    """Subscriptions without entity selectors (watchedAttributes only)."""

    def add(self, active: _Active) -> None:
        sub = active.sub
        self.all[sub.id] = active
        if not sub.selectors:
            self.anything[sub.id] = active
        for selector in sub.selectors:
            if selector.id is not None:
                self.by_id.setdefault(selector.id, {})[sub.id] = active
            else:  # an entity must have every type of a group: its first one will do
                for group in selector.types:
                    self.by_type.setdefault(group[0], {})[sub.id] = active

    def remove(self, sub_id: str) -> None:
        self.all.pop(sub_id, None)
        self.anything.pop(sub_id, None)
        for index in (self.by_id, self.by_type):
            for key in [k for k, subs in index.items() if subs.pop(sub_id, None) and not subs]:
                del index[key]

    def candidates(self, entity: Entity) -> list[_Active]:
        found = dict(self.anything)
        found.update(self.by_id.get(entity.id, {}))
        for entity_type in entity.types:
            found.update(self.by_type.get(entity_type, {}))
        return list(found.values())


class Notifier:
    """Subscriptions of every tenant, served while `running()` is entered."""

    def __init__(
        self,
        broker: Broker,
        resolver: ContextResolver,
        policy: EndpointPolicy | None = None,
        *,
        retry: RetryPolicy | None = None,
        tls: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
        bus: ChangeBus | None = None,
        metrics: Metrics | None = None,
        max_streams: int | None = None,
    ) -> None:
        """`max_streams`: live streams (SSE) listened to at once; None: no limit."""
        self.broker = broker
        self.metrics = metrics if metrics is not None else Metrics()
        self.bus: ChangeBus = bus or LocalBus()
        self.store = broker.store.subscriptions
        self.resolver = resolver
        self.policy = policy or EndpointPolicy()
        self.tls = tls
        """Verifies https and mqtts endpoints; None: the system's certificate authorities."""
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.streams = StreamHub(max_streams)
        self._snapshot = SnapshotFilter()
        self._active: dict[Key, _Active] = {}
        self._by_tenant: dict[str, _TenantSubscriptions] = {}
        self._backlog: set[Key] = set()
        self._dirty: set[Key] = set()
        self._inbox: asyncio.Queue[tuple[str, list[EntityChange]]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._transports: Transports | None = None
        self._outstanding: Counter[int] = Counter()
        """Change-log numbers of notifications queued or being sent, with how many."""
        self._dispatched_upto = 0
        self._forgotten_upto = 0
        self._waiters: dict[int, asyncio.Future[None]] = {}
        """Distributed: change-log numbers whose notifications the bus waits for."""
        self._workers: list[asyncio.Task[None]] = []
        if self.bus.distributed:
            self.bus.on_control(self._control)
            self.bus.on_stream(self.streams.publish)

    # -- lifetime ------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Notifier]:
        """Serve every stored subscription until the block ends."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._inbox = asyncio.Queue()
        self._transports = Transports(self.policy, self.tls)
        for stored in self.store.list_subscriptions():
            self._start(stored)
        owed = self.store.pending_subscriptions()
        self._backlog.update(owed)
        distributed = self.bus.distributed
        if not distributed:  # the bus's consumer feeds `_take` instead
            self.broker.listeners.append(self.on_commit)
            self._replay(owed)
        workers = self._workers = [
            asyncio.create_task(self._dispatch(), name="notifier-dispatch"),
            asyncio.create_task(self._retry_outbox(), name="notifier-retry"),
            asyncio.create_task(self._housekeeping(), name="notifier-housekeeping"),
        ]
        self.metrics.notifier_queue.set_function(guarded(self.queued))
        self.metrics.notifier_outbox.set_function(guarded(self.store.pending_count))
        try:
            if distributed:
                async with self.bus.consume("notifier", self._take, per_entity=True):
                    yield self
            else:
                yield self
        finally:
            if not distributed:
                self.broker.listeners.remove(self.on_commit)
            for key in list(self._active):
                self._stop(key)
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._workers = []
            self.flush_statuses()
            if not self.bus.distributed:
                self._forget_done()
            await self._transports.close()
            self._inbox = None

    def on_commit(self, tenant: str, changes: list[EntityChange]) -> None:
        """The broker's listener: hand the changes to the dispatcher, from any thread."""
        inbox, loop = self._inbox, self._loop
        if inbox is None or loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            inbox.put_nowait((tenant, changes))
        else:
            loop.call_soon_threadsafe(inbox.put_nowait, (tenant, changes))

    async def _take(self, tenant: str, change: EntityChange, delivery: Delivery) -> None:
        """The bus's consumer: match one change and return once what it owes is sent or
        parked in the outbox. Delivered again after a crash, it skips the subscriptions
        whose notification of it is already in the outbox."""
        owed = self.store.pending_subscriptions() if delivery.redelivered else None
        seq = change.seq
        waiter = self._loop.create_future() if self._loop is not None else None
        if seq and waiter is not None:
            self._waiters[seq] = waiter
        try:
            self._match(tenant, [change], owed, delivery.position)
            if seq in self._outstanding and waiter is not None:
                await waiter
        finally:
            self._waiters.pop(seq, None)

    def _control(self, control: Control) -> None:
        """Another instance (or this one) changed a subscription: serve the stored one."""
        if control.kind != "subscription":
            return
        stored = self.store.get_subscription(control.tenant, control.id)
        if stored is None:
            self._deactivate(control.tenant, control.id)
            return
        key = (control.tenant, control.id)
        known = self._active.get(key)
        placed = known is not None and known.since != UNPLACED
        self._activate(stored)
        active = self._active.get(key)
        if active is not None and not placed:  # new here: from its control message on
            active.since = control.position

    def _offer(self, tenant: str, subscription_id: str, body: bytes) -> None:
        """To the live-stream listeners: of this instance, or of all through the bus."""
        if self.bus.distributed:
            self.bus.stream(tenant, subscription_id, body)
        else:
            self.streams.publish(tenant, subscription_id, body)

    def _leads(self) -> bool:
        return self.bus.leading()

    # -- subscriptions come and go -------------------------------------------------------

    def activate(self, stored: StoredSubscription) -> None:
        """Serve `stored`, new or changed, here and (through the bus) on every instance."""
        new = (stored.tenant, stored.id) not in self._active
        self._activate(stored)
        active = self._active.get((stored.tenant, stored.id))
        if new and active is not None and self.bus.distributed:
            active.since = UNPLACED  # placed when its control message is read back
        self.bus.announce(Control("subscription", stored.tenant, stored.id))

    def _activate(self, stored: StoredSubscription) -> None:
        """Serve `stored`, new or changed. A changed one keeps its worker, its queue and its
        delivery counters: notifications already due still go out, in order."""
        key = (stored.tenant, stored.id)
        active = self._active.get(key)
        if active is None:
            self._start(stored)
            return
        try:
            sub = self.compiled(stored)
        except NgsiError as error:
            log.warning("Subscription %s cannot be served: %s", stored.id, error.detail)
            self._stop(key, release=True)
            return
        stored.status = active.stored.status  # the live counters are the fresher ones
        self._dirty.add(key)
        tenant_subs = self._by_tenant[stored.tenant]
        tenant_subs.remove(stored.id)
        active.stored, active.sub = stored, sub
        tenant_subs.add(active)
        for task in active.tasks[1:]:  # the periodic task, if any, starts again
            task.cancel()
        del active.tasks[1:]
        if self._loop is not None and sub.time_interval is not None:
            active.tasks.append(asyncio.create_task(self._periodic(active), context=detached()))

    def deactivate(self, tenant: str, subscription_id: str) -> None:
        self._deactivate(tenant, subscription_id)
        self.bus.announce(Control("subscription", tenant, subscription_id))

    def _deactivate(self, tenant: str, subscription_id: str) -> None:
        self._stop((tenant, subscription_id), release=True)
        self._backlog.discard((tenant, subscription_id))
        self.streams.close_all(tenant, subscription_id)

    def compiled(self, stored: StoredSubscription) -> Subscription:
        """The matching form of `stored`; notifications use its jsonldContext when it has
        one the broker still holds, else the @context it was created with."""
        notify_terms = None
        if isinstance(stored.doc.get("jsonldContext"), str):
            try:
                notify_terms = self.resolver.resolve(stored.doc["jsonldContext"])
            except LdContextNotAvailable:
                log.warning("Subscription %s: its jsonldContext is gone", stored.id)
        terms = self.resolver.resolve(stored.context)
        return compile_subscription(stored.tenant, stored.doc, terms, notify_terms)

    def current(self, stored: StoredSubscription) -> tuple[dict[str, Any], Subscription]:
        """The delivery status and matching form of `stored`: the served ones (fresher than
        the store's copy, already compiled), or those of the store when it is not served."""
        active = self._active.get((stored.tenant, stored.id))
        if active is not None:
            return dict(active.stored.status), active.sub
        return stored.status, self.compiled(stored)

    def _start(self, stored: StoredSubscription) -> None:
        try:
            sub = self.compiled(stored)
        except NgsiError as error:  # e.g. its @context is gone: keep it, but it cannot match
            log.warning("Subscription %s cannot be served: %s", stored.id, error.detail)
            return
        active = _Active(stored, sub)
        key = (stored.tenant, stored.id)
        self._active[key] = active
        self._by_tenant.setdefault(stored.tenant, _TenantSubscriptions()).add(active)
        if self._loop is not None:
            worker = asyncio.create_task(
                self._deliver(active), name=f"notify {key}", context=detached()
            )
            active.tasks.append(worker)
            if sub.time_interval is not None:
                active.tasks.append(asyncio.create_task(self._periodic(active), context=detached()))

    def _stop(self, key: Key, *, release: bool = False) -> None:
        """Stop serving `key`. With `release` (it was deleted) its queued notifications are
        dropped and the change log may forget them; without (shutting down), they stay
        owed, so the next start matches their changes again."""
        active = self._active.pop(key, None)
        if active is None:
            return
        tenant_subs = self._by_tenant.get(key[0])
        if tenant_subs is not None:
            tenant_subs.remove(key[1])
            if not tenant_subs.all:
                del self._by_tenant[key[0]]
        for task in active.tasks:
            task.cancel()
        if release:
            owed = [*active.in_flight, active.latest_seqs[0]]
            while not active.queue.empty():
                owed.extend(active.queue.get_nowait()[0])
            for seq in owed:
                self._done(seq)

    # -- matching ------------------------------------------------------------------------

    def _replay(self, owed: dict[Key, int]) -> None:
        """Match again the logged changes a previous run had not finished with, but for
        the subscriptions whose notifications of them are in the outbox already."""
        while True:
            logged = self.store.unnotified(self._dispatched_upto)
            if not logged:
                return
            for tenant, change in logged:
                self._match(tenant, [change], owed)
            self._dispatched_upto = logged[-1][1].seq
            log.info("Matched %d changes left over from the last run", len(logged))

    async def _dispatch(self) -> None:
        assert self._inbox is not None
        while True:
            tenant, changes = await self._inbox.get()
            fresh = [c for c in changes if c.seq == 0 or c.seq > self._dispatched_upto]
            try:
                self._match(tenant, fresh)
            except Exception:
                log.exception("Matching changes of tenant %r failed", tenant)
            self._dispatched_upto = max([self._dispatched_upto, *(c.seq for c in fresh)])

    def _match(
        self,
        tenant: str,
        changes: list[EntityChange],
        owed: dict[Key, int] | None = None,
        position: int | None = None,
    ) -> None:
        subs = self._by_tenant.get(tenant)
        if not subs:
            return
        now = self.clock()
        stamp = iso(now)
        for change in changes:
            entity = change.after or change.before
            assert entity is not None
            for active in subs.candidates(entity):
                sub = active.sub
                if owed and change.seq <= owed.get((tenant, sub.id), 0):
                    continue
                if position is not None and position < active.since:
                    continue  # the change was logged before the subscription
                if sub.time_interval is None and matches(sub, change, now, self._snapshot):
                    data = [entity_data(sub, change, stamp)]
                    if sub.throttling is not None:
                        self._coalesce(active, change, data[0])
                        continue
                    if self._spills(active):
                        self._park(active, data, stamp, change.seq)
                        continue
                    if change.seq:
                        self._outstanding[change.seq] += 1
                    active.queue.put_nowait(([change.seq], data))

    def _coalesce(self, active: _Active, change: EntityChange, item: dict[str, Any]) -> None:
        """Throttled: keep each entity's latest state only, so memory stays bounded by the
        entities, however many changes the period sees."""
        first, _ = active.latest_seqs
        if not active.latest:
            active.queue.put_nowait(([], []))  # wakes the worker; the data is in `latest`
        if change.seq and not first and not self.bus.distributed:
            first = change.seq  # distributed: acked at once, not a whole period later
            self._outstanding[first] += 1
        active.latest.pop(change.entity_id, None)
        active.latest[change.entity_id] = item
        active.latest_seqs = (first, change.seq or active.latest_seqs[1])

    def _spills(self, active: _Active) -> bool:
        """Whether this notification must wait in the outbox: the endpoint is so slow that
        its queue is full (throttled and stream-only subscriptions never queue up)."""
        sub = active.sub
        if sub.throttling is not None or sub.endpoint.uri == STREAM_URI:
            return False
        if (sub.tenant, sub.id) in self._backlog:  # the worker parks its queue in order
            return False
        if not active.spilling and active.queue.qsize() >= MAX_QUEUED:
            log.warning("Subscription %s: endpoint too slow, queueing on disk", sub.id)
            active.spilling = True
        return active.spilling

    def _park(self, active: _Active, data: list[dict[str, Any]], stamp: str, seq: int) -> None:
        sub = active.sub
        body, headers = notification_body(sub, data, stamp)
        self._offer(sub.tenant, sub.id, body)
        self._owe(active, body, headers, seq)

    async def _periodic(self, active: _Active) -> None:
        """timeInterval: every so often, the current state of all matching entities."""
        sub = active.sub
        assert sub.time_interval is not None
        while True:
            await asyncio.sleep(sub.time_interval)
            now = self.clock()
            if not sub.is_active or sub.expired(now) or not self._leads():
                continue
            stamp = iso(now)
            entities = self._current(sub)
            if entities:
                active.queue.put_nowait(
                    ([], [entity_data(sub, EntityChange(e.id, None, e), stamp) for e in entities])
                )

    def _current(self, sub: Subscription) -> list[Entity]:
        queries = [
            EntityQuery(
                types=s.types,
                ids=[s.id] if s.id else None,
                id_pattern=s.id_pattern.pattern if s.id_pattern else None,
            )
            for s in sub.selectors
        ] or [EntityQuery(attrs=sorted(sub.watched or ()))]
        found: dict[str, Entity] = {}
        for query in queries:
            query.q, query.scope_q, query.geo = sub.q, sub.scope_q, sub.geo
            query.limit = PERIODIC_LIMIT
            try:
                result = self.broker.query(sub.tenant, query)
            except NgsiError:  # the tenant does not exist (yet)
                return []
            for entity in result.entities:
                found.setdefault(entity.id, entity)
        return list(found.values())[:PERIODIC_LIMIT]

    # -- delivery ------------------------------------------------------------------------

    async def _deliver(self, active: _Active) -> None:
        """One subscription's worker: its notifications, in order, throttled if asked."""
        while True:
            seqs, data = await active.queue.get()
            last = max(seqs, default=0)
            if not data:  # throttled: wait out the period, then send each entity's latest
                wait = active.last_sent + (active.sub.throttling or 0.0) - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                data, active.latest = list(active.latest.values()), {}
                (first, last), active.latest_seqs = active.latest_seqs, (0, 0)
                seqs = [first]
                if not data:
                    continue
            active.in_flight = seqs
            try:
                await self._send(active, data, last)
            except Exception:
                log.exception("Notifying subscription %s failed", active.sub.id)
            # Sent, parked in the outbox, or given up: either way, done with. (Cancelled
            # instead, the notification stays owed: a shutdown leaves it to the next start,
            # a deletion releases it.)
            active.in_flight = []
            for seq in seqs:
                self._done(seq)
            if active.spilling and active.queue.empty():  # the outbox holds the rest, in order
                self._backlog.add((active.sub.tenant, active.sub.id))
                active.spilling = False

    def _done(self, seq: int) -> None:
        if seq:
            self._outstanding[seq] -= 1
            if self._outstanding[seq] <= 0:
                del self._outstanding[seq]
                waiter = self._waiters.pop(seq, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    def _waits(self, key: Key) -> bool:
        """Whether notifications of `key` wait in the outbox. Distributed, the store says:
        another instance may have parked them, and the leader drains them."""
        if self.bus.distributed:
            return bool(self.store.pending(key[0], key[1], limit=1))
        return key in self._backlog

    async def _send(self, active: _Active, data: list[dict[str, Any]], change_seq: int) -> None:
        sub = active.sub
        key = (sub.tenant, sub.id)
        now = self.clock()
        stamp = iso(now)
        body, headers = notification_body(sub, data, stamp)
        active.last_sent = now
        self._offer(sub.tenant, sub.id, body)
        if sub.endpoint.uri == STREAM_URI:
            self._note(active, {"lastNotification": stamp, "lastSuccess": stamp}, sent=True)
            self.metrics.notifications_sent.labels(SSE_CHANNEL).inc()
            return
        if self._waits(key):  # earlier ones wait in the outbox: queue behind them
            self._owe(active, body, headers, change_seq)
            return
        error = await self._attempt(active, body, headers, stamp)
        if error is not None:
            uri = hidden_uri(sub.endpoint.uri)
            log.warning("Notification of %s to %s failed: %s", sub.id, uri, error)
            self._owe(active, body, headers, change_seq, attempts=1)
            self._backlog.add(key)

    async def _attempt(
        self, active: _Active, body: bytes, headers: dict[str, str], stamp: str | None = None
    ) -> DeliveryFailed | None:
        """Deliver once to the subscription's endpoint and note how it went: the moment
        it was sent (`stamp`, its notifiedAt; else now) with its outcome, in one update, so
        that no reader sees a lastNotification without its status."""
        assert self._transports is not None
        endpoint = active.sub.endpoint
        channel = channel_of(endpoint.uri)
        sent_at = stamp or iso(self.clock())
        try:
            await self._transports.for_uri(endpoint.uri).send(
                endpoint.uri, body, headers, endpoint.notifier_info
            )
        except DeliveryFailed as error:
            ended = iso(self.clock())
            self._note(active, {"lastNotification": sent_at, "lastFailure": ended}, failed=True)
            self.metrics.notifications_failed.labels(channel).inc()
            return error
        ended = iso(self.clock())
        self._note(active, {"lastNotification": sent_at, "lastSuccess": ended}, sent=True)
        self.metrics.notifications_sent.labels(channel).inc()
        return None

    def _owe(
        self,
        active: _Active,
        body: bytes,
        headers: dict[str, str],
        change_seq: int,
        *,
        attempts: int = 0,
    ) -> None:
        """Put a notification in the outbox: due now, or after the backoff of `attempts`."""
        now = self.clock()
        due = now + self.retry.delay(attempts) if attempts else now
        sub = active.sub
        delivery = PendingDelivery(
            sub.tenant, sub.id, body, headers, attempts, due, now, change_seq=change_seq
        )
        self.store.add_pending(delivery)

    async def _retry_outbox(self) -> None:
        while True:
            await asyncio.sleep(self.retry.tick_s)
            if self.bus.distributed:  # the leader retries what any instance parked
                if not self._leads():
                    continue
                try:
                    self._backlog.update(self.store.pending_subscriptions())
                except Exception:
                    log.exception("Reading the outbox failed")
            for key in sorted(self._backlog):
                active = self._active.get(key)
                if active is not None and active.spilling:
                    continue  # older notifications are still in its memory queue
                try:
                    await self._drain(key)
                except Exception:
                    log.exception("Retrying notifications of %s failed", key[1])

    async def _drain(self, key: Key) -> None:
        """Send what `key` owes, oldest first, until one fails or is not due yet."""
        tenant, sub_id = key
        while True:
            pending = self.store.pending(tenant, sub_id, limit=50)
            if not pending:
                self._backlog.discard(key)
                return
            for delivery in pending:
                now = self.clock()
                active = self._active.get(key)
                if active is None or now - delivery.created_at > self.retry.give_up_after_s:
                    self.store.remove_pending(delivery.seq)  # its subscription is gone, or it
                    continue  # is too old to matter: give it up
                if delivery.next_at > now:
                    return
                error = await self._attempt(active, delivery.body, delivery.headers)
                if error is not None:
                    attempts = delivery.attempts + 1
                    self.store.reschedule_pending(
                        delivery.seq, attempts, now + self.retry.delay(attempts)
                    )
                    log.info("Retry %d of a notification of %s failed: %s", attempts, sub_id, error)
                    return
                self.store.remove_pending(delivery.seq)

    # -- status --------------------------------------------------------------------------

    def queued(self) -> int:
        """Notifications waiting in memory: changes not yet matched, and what each
        subscription's queue holds (throttled ones: the entities waiting for the period)."""
        inbox = self._inbox.qsize() if self._inbox is not None else 0
        return inbox + sum(a.queue.qsize() + len(a.latest) for a in list(self._active.values()))

    def health(self) -> Check:
        """Running, with every worker alive; the in-memory queue as the observed value."""
        if self._inbox is None:
            return Check("fail", "the notifier is not running")
        stopped = [task.get_name() for task in self._workers if task.done()]
        if stopped:
            return Check("fail", f"stopped: {', '.join(stopped)}")
        return Check("pass", observed_value=self.queued(), observed_unit="queued notifications")

    def _note(
        self,
        active: _Active,
        moments: dict[str, str],
        *,
        sent: bool = False,
        failed: bool = False,
    ) -> None:
        """Record a delivery's moments and outcome together (no await in between)."""
        status = active.stored.status
        status.update(moments)
        if sent:
            status["timesSent"] = status.get("timesSent", 0) + 1
            status["status"] = "ok"
        if failed:
            status["timesFailed"] = status.get("timesFailed", 0) + 1
            status["status"] = "failed"
        self._dirty.add((active.stored.tenant, active.stored.id))

    def flush_statuses(self) -> None:
        """Write the delivery status of subscriptions that moved since the last flush."""
        dirty, self._dirty = self._dirty, set()
        self.store.save_statuses(
            [(t, s, self._active[(t, s)].stored.status) for t, s in dirty if (t, s) in self._active]
        )

    def _forget_done(self) -> None:
        """Drop from the change log what needs no more matching after a crash."""
        upto = self._dispatched_upto
        if self._outstanding:
            upto = min(upto, min(self._outstanding) - 1)
        if upto > self._forgotten_upto:
            self.store.forget_changes(upto)
            self._forgotten_upto = upto

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                self.flush_statuses()
                if not self.bus.distributed:  # the bus's relay forgets what it published
                    self._forget_done()
            except Exception:
                log.exception("Saving the notifier's progress failed")


def channel_of(uri: str) -> str:
    """The metrics' channel of an endpoint: http (webhooks), mqtt, or sse (the stream)."""
    if uri == STREAM_URI:
        return SSE_CHANNEL
    return MQTT_CHANNEL if uri.split(":", 1)[0].lower() in ("mqtt", "mqtts") else HTTP_CHANNEL
