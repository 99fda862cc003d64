"""The change bus of several cityos instances: NATS JetStream.

- Publishing. The store logs every committed change with its number (`seq`) in the same
  transaction as the write; a relay task on every instance publishes the log in `seq` order
  to the stream, each change as one message with `Nats-Msg-Id` = its `seq`, then lets the
  store forget what is published. A commit wakes the relay at once; a poll finds what an
  instance that died after committing left unpublished. Two relays publishing the same
  change is harmless: JetStream drops a repeated message id (within its duplicate window).
- Shared consumers. Each kind of work is a durable pull consumer that every instance pulls
  from, with `max_ack_pending=1`: one change in flight at a time across the whole cluster.
  Notifications are partitioned: a change's subject ends with a partition number, a stable
  hash of its entity id, and each partition has a consumer of its own, so changes of
  different entities are notified in parallel while each entity's changes keep commit
  order. The rules consume all partitions through one consumer (global commit order). A
  change is acked once its work is done (notifications delivered or parked in the store's
  outbox); an instance that dies holding one has it delivered again to another after
  `ack_wait`, marked as redelivered.
- An ordered consumer per instance reads the whole log for the control messages
  (subscriptions and rules changed elsewhere); a shared consumer handles a change only
  after this instance has read the log up to it, so the subscriptions it matches against
  are those created before the change.
- Live streams: notifications are fanned out to every instance over plain NATS
  (at most once, like the streams themselves).
- A lease in a key-value bucket elects one leader for single-instance duties.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import nats
import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.kv import KeyValue

from cityos.context.broker import Broker
from cityos.context.entity import EntityChange
from cityos.events.bus import (
    ChangeHandler,
    Control,
    ControlHandler,
    Delivery,
    StreamHandler,
)
from cityos.health import Check, where
from cityos.metrics import Metrics
from cityos.store.rows import change_doc, change_entity
from cityos.store.subscriptions import SubscriptionStore

log = logging.getLogger("cityos.events.nats")

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
RELAY_BATCH = 500
"""Logged changes read and published at a time."""
PARTITIONS = 8
"""Notification partitions by default: changes of as many entities notified at once."""


def subject_token(tenant: str) -> str:
    """A tenant as one subject token: `_` for the default tenant, else its name when safe
    (the message body carries the exact name; the subject is for humans and filters)."""
    if not tenant:
        return "_"
    return tenant if _TOKEN.fullmatch(tenant) else "x" + tenant.encode().hex()


def partition_of(entity_id: str, partitions: int) -> int:
    """The partition of an entity's changes: the same in every process (unlike `hash`)."""
    return zlib.crc32(entity_id.encode()) % partitions


def encode_change(tenant: str, change: EntityChange) -> bytes:
    return orjson.dumps(
        {
            "tenant": tenant,
            "entity": change.entity_id,
            "seq": change.seq,
            "before": change_doc(change.before),
            "after": change_doc(change.after),
        }
    )


def decode_change(data: bytes) -> tuple[str, EntityChange]:
    doc = orjson.loads(data)
    entity = doc["entity"]
    change = EntityChange(
        entity, change_entity(entity, doc["before"]), change_entity(entity, doc["after"])
    )
    change.seq = doc["seq"]
    return doc["tenant"], change


def log_every_change(subscriptions: SubscriptionStore) -> None:
    """Make the store log every change, not only those of tenants with subscriptions: the
    log is the relay's outbox, and the rules and other instances' subscriptions need them.

    A workaround: the embedded store decides with a per-process cache (`watched`) that
    another instance's new subscription does not reach. A store option would be cleaner.
    """
    if hasattr(subscriptions, "watched"):
        setattr(subscriptions, "watched", lambda tenant: True)  # noqa: B010


class NatsBus:
    """Changes, control messages and live streams of all instances over NATS JetStream."""

    distributed = True

    def __init__(
        self,
        url: str,
        *,
        stream: str = "CITYOS_CHANGES",
        prefix: str = "cityos",
        ack_wait_s: float = 10.0,
        lease_s: float = 3.0,
        poll_s: float = 0.5,
        max_age_s: float = 7 * 24 * 3600.0,
        partitions: int = PARTITIONS,
        metrics: Metrics | None = None,
    ) -> None:
        if not 1 <= partitions <= 256:
            raise ValueError(f"partitions must be between 1 and 256, not {partitions}")
        self.url = url
        self.partitions = partitions
        """Every instance on one stream must use the same number (it is in the URL)."""
        self.stream_name = stream
        self.prefix = prefix
        self.ack_wait_s = ack_wait_s
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.max_age_s = max_age_s
        self.instance = uuid.uuid4().hex
        self.metrics = metrics if metrics is not None else Metrics()
        self._store: SubscriptionStore | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake = asyncio.Event()
        self._cursor = 0
        """The last change-log number this instance knows is in the stream."""
        self._seen = 0
        """The stream sequence up to which this instance has read the log (control)."""
        self._seen_moved = asyncio.Event()
        self._controls: list[ControlHandler] = []
        self._streams: list[StreamHandler] = []
        self._leads: list[Callable[[], None]] = []
        self._announcing: set[asyncio.Task[Any]] = set()
        self._revision: int | None = None
        """The lease's revision while this instance is the leader."""
        self._tasks: list[asyncio.Task[None]] = []

    # -- subjects ------------------------------------------------------------------------

    @property
    def changes_subject(self) -> str:
        return f"{self.prefix}.log.changes"

    @property
    def control_subject(self) -> str:
        return f"{self.prefix}.log.control"

    @property
    def streams_subject(self) -> str:
        return f"{self.prefix}.streams"

    @property
    def lease_bucket(self) -> str:
        return f"{self.stream_name}_LEADER"

    # -- lifetime ------------------------------------------------------------------------

    def attach(self, broker: Broker) -> None:
        store = broker.store.subscriptions
        log_every_change(store)
        self._store = store
        broker.listeners.append(self._committed)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        self._publishing = asyncio.Lock()
        self._seen_moved = asyncio.Event()
        try:  # a few tries to start with; once connected, reconnect for ever
            nc = await nats.connect(
                self.url, name=f"cityos-{self.instance[:8]}", max_reconnect_attempts=2
            )
        except (OSError, nats.errors.Error) as error:
            raise ConnectionError(f"NATS does not answer at {self.url}: {error!r}") from None
        nc.options["max_reconnect_attempts"] = -1
        self._nc, self._js = nc, nc.jetstream()
        kv: KeyValue | None = None
        try:
            await self._ensure_stream()
            self._cursor = await self._last_published()
            await nc.subscribe(self.streams_subject, cb=self._on_stream)
            await self._follow_log()
            kv = await self._lease_bucket()
            self._tasks = [
                asyncio.create_task(self._relay(), name="nats-relay"),
                asyncio.create_task(self._lease(kv), name="nats-lease"),
            ]
            self._wake.set()  # publish what a previous run left in the log
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
            if kv is not None and self._revision is not None:  # hand over now, not at lapse
                with contextlib.suppress(Exception):
                    await kv.delete("leader", last=self._revision)
            with contextlib.suppress(Exception):
                await self._publish_logged()  # a clean stop leaves nothing for the poll
            with contextlib.suppress(Exception):
                await self.settled()
            await nc.drain()
            self._nc = self._js = None
            self._revision = None

    async def _ensure_stream(self) -> None:
        assert self._js is not None
        config = StreamConfig(
            name=self.stream_name,
            subjects=[f"{self.prefix}.log.>"],
            max_age=self.max_age_s,
            duplicate_window=120.0,
        )
        try:
            await self._js.stream_info(self.stream_name)
        except nats.js.errors.NotFoundError:
            with contextlib.suppress(nats.js.errors.BadRequestError):  # created meanwhile
                await self._js.add_stream(config)

    async def _last_published(self) -> int:
        """The highest change-log number in the stream (the relay starts after it), read
        from its last few messages."""
        assert self._js is not None
        info = await self._js.stream_info(self.stream_name)
        last, first = info.state.last_seq, info.state.first_seq
        for seq in range(last, max(first, last - 100) - 1, -1):
            if seq <= 0:
                break
            try:
                raw = await self._js.get_msg(self.stream_name, seq)
            except nats.js.errors.NotFoundError:
                continue
            if raw.subject and raw.subject.startswith(self.changes_subject) and raw.data:
                return int(orjson.loads(raw.data)["seq"])
        return 0

    # -- publishing ----------------------------------------------------------------------

    def _committed(self, tenant: str, changes: list[EntityChange]) -> None:
        """The broker's listener, on the writer's thread: wake the relay."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def _relay(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
            try:
                async with self._publishing:
                    await self._publish_logged()
            except Exception:
                log.exception("Publishing logged changes failed; retrying")
                await asyncio.sleep(self.poll_s)

    async def _publish_logged(self) -> None:
        """Publish the change log after the cursor, in order, then forget it."""
        store, js = self._store, self._js
        if store is None or js is None:
            return
        while True:
            logged = await asyncio.to_thread(store.unnotified, self._cursor, RELAY_BATCH)
            if not logged:
                return
            acks = []
            for tenant, change in logged:  # one connection: the server stores them in order
                part = partition_of(change.entity_id, self.partitions)
                subject = f"{self.changes_subject}.{subject_token(tenant)}.{part}"
                headers = {"Nats-Msg-Id": str(change.seq)}
                acks.append(
                    await js.publish_async(subject, encode_change(tenant, change), headers=headers)
                )
            await asyncio.gather(*acks)
            self.metrics.events_published.inc(len(logged))
            self._cursor = logged[-1][1].seq
            await asyncio.to_thread(store.forget_changes, self._cursor)

    # -- health --------------------------------------------------------------------------

    async def health(self) -> Check:
        """Connected to NATS, and the stream answers (how long it took, in ms)."""
        component = f"{where(self.url)} stream {self.stream_name}"
        nc, js = self._nc, self._js
        if nc is None or js is None:
            return Check("fail", "the bus is not running", component)
        if not nc.is_connected:
            state = "reconnecting" if nc.is_reconnecting else "disconnected"
            return Check("fail", f"NATS connection {state}", component)
        started = time.perf_counter()
        try:
            await js.stream_info(self.stream_name)
        except Exception as error:
            return Check("fail", f"stream {self.stream_name}: {type(error).__name__}", component)
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        return Check("pass", "", component, elapsed, "ms")

    # -- control messages and the log's read position --------------------------------------

    async def _follow_log(self) -> None:
        """Read the log from its current end, in order, for control messages."""
        assert self._js is not None
        info = await self._js.stream_info(self.stream_name)
        self._seen = info.state.last_seq
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._seen + 1
        )
        await self._js.subscribe(
            f"{self.prefix}.log.>",
            stream=self.stream_name,
            cb=self._on_log,
            ordered_consumer=True,
            config=config,
        )

    async def _on_log(self, msg: Msg) -> None:
        if msg.subject == self.control_subject:
            try:
                doc = orjson.loads(msg.data)
                position = msg.metadata.sequence.stream
                control = Control(doc["kind"], doc["tenant"], doc["id"], position)
                for handler in self._controls:
                    handler(control)
            except Exception:
                log.exception("Applying a control message failed")
        self._seen = max(self._seen, msg.metadata.sequence.stream)
        self._seen_moved.set()
        self._seen_moved = asyncio.Event()

    async def _read_upto(self, stream_seq: int) -> None:
        while self._seen < stream_seq:
            await self._seen_moved.wait()

    def on_control(self, handler: ControlHandler) -> None:
        self._controls.append(handler)

    def announce(self, control: Control) -> None:
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._announce(control)
        else:
            loop.call_soon_threadsafe(self._announce, control)

    def _announce(self, control: Control) -> None:
        js = self._js
        if js is None:
            return
        body = orjson.dumps({"kind": control.kind, "tenant": control.tenant, "id": control.id})

        async def after_the_log() -> None:
            # Every write acknowledged before this control message must precede it in the
            # stream, or a subscription would take a change older than itself: publish
            # what the change log holds first (a double publish is deduplicated).
            async with self._publishing:
                await self._publish_logged()
            await js.publish(self.control_subject, body)

        task = asyncio.ensure_future(after_the_log())
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def settled(self) -> None:
        if self._announcing:
            await asyncio.gather(*list(self._announcing))

    # -- shared consumers ----------------------------------------------------------------

    @asynccontextmanager
    async def consume(
        self,
        name: str,
        handler: ChangeHandler,
        *,
        leader_only: bool = False,
        per_entity: bool = False,
    ) -> AsyncIterator[None]:
        assert self._js is not None, "enter running() first"
        if per_entity:  # one consumer per partition: `name-0`, `name-1`, …
            consumers = [
                (f"{name}-{part}", f"{self.changes_subject}.*.{part}")
                for part in range(self.partitions)
            ]
        else:
            consumers = [(name, f"{self.changes_subject}.>")]
        pulls: list[JetStreamContext.PullSubscription] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            for durable, subject in consumers:
                config = ConsumerConfig(
                    durable_name=durable,
                    ack_policy=AckPolicy.EXPLICIT,
                    max_ack_pending=1,
                    ack_wait=self.ack_wait_s,
                    deliver_policy=DeliverPolicy.ALL,
                    filter_subject=subject,
                )
                pull = await self._js.pull_subscribe(
                    subject, durable=durable, stream=self.stream_name, config=config
                )
                pulls.append(pull)
                work = self._pull(pull, handler, leader_only)
                tasks.append(asyncio.create_task(work, name=f"nats-{durable}"))
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for pull in pulls:
                with contextlib.suppress(Exception):
                    await pull.unsubscribe()

    async def _pull(
        self, pull: JetStreamContext.PullSubscription, handler: ChangeHandler, leader_only: bool
    ) -> None:
        while True:
            if leader_only and not self.leading():
                await asyncio.sleep(self.lease_s / 3)
                continue
            try:
                msgs = await pull.fetch(1, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except Exception:
                log.exception("Fetching changes failed")
                await asyncio.sleep(self.poll_s)
                continue
            for msg in msgs:
                await self._handle(msg, handler)

    async def _handle(self, msg: Msg, handler: ChangeHandler) -> None:
        """Handle one change, telling the server it is in progress until it is done (so a
        slow endpoint does not get it redelivered), then ack it."""
        meta = msg.metadata
        tenant, change = decode_change(msg.data)

        async def work() -> None:
            await self._read_upto(meta.sequence.stream)
            delivery = Delivery(meta.sequence.stream, meta.num_delivered > 1)
            await handler(tenant, change, delivery)

        task = asyncio.ensure_future(work())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.ack_wait_s / 3)
                if done:
                    break
                await msg.in_progress()
            task.result()
        except asyncio.CancelledError:
            task.cancel()
            raise
        except Exception:
            log.exception("Handling change %d of %r failed", change.seq, change.entity_id)
        try:
            await msg.ack_sync()
        except Exception:  # redelivered later: at least once
            log.warning("Acknowledging change %d failed", change.seq)

    # -- live streams --------------------------------------------------------------------

    def on_stream(self, handler: StreamHandler) -> None:
        self._streams.append(handler)

    def stream(self, tenant: str, subscription_id: str, body: bytes) -> None:
        nc = self._nc
        if nc is None:
            return
        headers = {"tenant": f"t:{tenant}", "subscription": subscription_id}
        task = asyncio.ensure_future(nc.publish(self.streams_subject, body, headers=headers))
        self._announcing.add(task)  # kept until sent, like the announcements
        task.add_done_callback(self._announcing.discard)

    async def _on_stream(self, msg: Msg) -> None:
        headers = msg.headers or {}
        tenant = headers.get("tenant", "t:")[2:]
        for handler in self._streams:
            handler(tenant, headers.get("subscription", ""), msg.data)

    # -- the leader ----------------------------------------------------------------------

    def on_lead(self, handler: Callable[[], None]) -> None:
        self._leads.append(handler)

    def leading(self) -> bool:
        return self._revision is not None

    async def _lease_bucket(self) -> KeyValue:
        assert self._js is not None
        try:
            return await self._js.key_value(self.lease_bucket)
        except nats.js.errors.BucketNotFoundError:
            return await self._js.create_key_value(
                bucket=self.lease_bucket, ttl=self.lease_s, history=1
            )

    async def _lease(self, kv: KeyValue) -> None:
        """Hold or take the lease; it lapses `lease_s` after its holder stops renewing."""
        value = self.instance.encode()
        while True:
            try:
                if self._revision is not None:
                    self._revision = await kv.update("leader", value, last=self._revision)
                else:
                    self._revision = await kv.create("leader", value)
                    log.info("This instance leads (%s)", self.instance[:8])
                    for handler in self._leads:
                        try:
                            handler()
                        except Exception:
                            log.exception("Taking over as leader failed")
            except nats.js.errors.KeyWrongLastSequenceError:
                if self._revision is not None:
                    log.warning("This instance lost the lead")
                self._revision = None
            except Exception:
                log.exception("Renewing the lease failed")
                self._revision = None
            await asyncio.sleep(self.lease_s / 3)

    async def delete(self) -> None:
        """Delete the stream and the lease bucket (tests)."""
        nc = await nats.connect(self.url)
        try:
            js = nc.jetstream()
            for name in (self.stream_name, f"KV_{self.lease_bucket}"):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(name)
        finally:
            await nc.close()
