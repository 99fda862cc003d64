"""The MQTT device gateway: measures published by devices land on their entities.

Devices publish to ``cityos/<apikey>/<device_id>/attrs`` a JSON object of measures, or a
JSON array of such objects (several measures, applied in order). The gateway subscribes to
``cityos/+/+/attrs`` on one MQTT broker (Mosquitto), looks every device up in the registry,
checks its API key and applies the measures through `cityos.ingest.devices.ingest`, the
same translation and the same broker path as the HTTP transport.

Throughput: whatever arrived while the previous batch was being written is drained at once
and applied as one batch (one store transaction per round of distinct entities), in a
worker thread, so the network loop keeps reading meanwhile. Robustness: a message from an
unknown device, with a wrong API key or with a malformed payload is counted in
`GatewayStats` by reason and logged (at most a few lines per reason and minute); it never
stops the gateway and never takes valid messages of the same batch with it. When the MQTT
broker goes away the gateway reconnects by itself, backing off up to a few seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import orjson

from cityos.context.broker import Broker, utc_now
from cityos.health import Check
from cityos.ingest.devices import Measure, TermsFor, ingest
from cityos.metrics import Metrics
from cityos.store.devices import Device, DeviceRegistry

log = logging.getLogger("cityos.ingest.gateway")

TOPIC_PREFIX = "cityos"
TOPIC = f"{TOPIC_PREFIX}/+/+/attrs"

UNKNOWN_DEVICE = "unknown_device"
BAD_APIKEY = "bad_apikey"
MALFORMED = "malformed"
"""Not JSON, not an object or array of objects, or a topic of the wrong shape."""
INVALID = "invalid"
"""Well-formed, but the measures do not make a valid entity fragment."""
FAILED = "failed"
"""The store refused the write (the batch's measures are lost, the gateway goes on)."""
REASONS = (UNKNOWN_DEVICE, BAD_APIKEY, MALFORMED, INVALID, FAILED)


@dataclass(slots=True)
class GatewayStats:
    """Counters of one gateway (and of the HTTP transport, which shares them)."""

    received: int = 0
    """Messages (MQTT) or requests (HTTP) received."""
    applied: int = 0
    """Measures written to their entities."""
    batches: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """Measures refused, by reason (see REASONS)."""
    connected: bool = False
    standby: bool = False
    """Another instance holds the lease and reads the measures (several instances)."""
    connects: int = 0
    connection_failures: int = 0

    def snapshot(self) -> dict[str, Any]:
        """A copy for reading: later counts do not change it."""
        return {
            "received": self.received,
            "applied": self.applied,
            "batches": self.batches,
            "rejected": {reason: self.rejected[reason] for reason in REASONS},
            "mqtt": {
                "connected": self.connected,
                "standby": self.standby,
                "connects": self.connects,
                "connectionFailures": self.connection_failures,
            },
        }


class RateLimitedLog:
    """At most `burst` warnings per reason and `period`, then one line saying how many were
    left out, so a misbehaving device cannot flood the log."""

    def __init__(self, burst: int = 5, period: float = 60.0) -> None:
        self.burst = burst
        self.period = period
        self._windows: dict[str, tuple[float, int]] = {}

    def warning(self, reason: str, message: str, *args: object) -> None:
        now = time.monotonic()
        start, count = self._windows.get(reason, (now, 0))
        if now - start > self.period:
            if count > self.burst:
                log.warning("%d more %s messages were not logged", count - self.burst, reason)
            start, count = now, 0
        count += 1
        self._windows[reason] = (start, count)
        if count <= self.burst:
            log.warning(message, *args)


@dataclass(frozen=True, slots=True)
class MqttUrl:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> MqttUrl:
        """`mqtt://[user[:password]@]host[:port]` (port 1883 by default)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError(f"{url!r} is not an MQTT broker URL (mqtt://host:port)")
        return cls(
            parts.hostname,
            parts.port or 1883,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )


def mqtt_session_id(prefix: str, store_identity: str) -> str:
    """The gateway's MQTT client id: one per store and topic prefix, so instances of one
    city share it and other cities on the same MQTT broker do not (23 characters at most,
    as MQTT 3.1.1 servers must accept)."""
    digest = hashlib.blake2b(f"{prefix}|{store_identity}".encode(), digest_size=6).hexdigest()
    return f"cityos-gw-{digest}"


LEASE_POLL_S = 0.5
"""How often a gateway of several instances looks whether it holds the lease."""


class MqttGateway:
    """Subscribes to device measures on an MQTT broker and applies them, until cancelled."""

    def __init__(
        self,
        broker: Broker,
        devices: DeviceRegistry,
        terms_for: TermsFor,
        url: str,
        *,
        stats: GatewayStats | None = None,
        qos: int = 1,
        max_batch: int = 5000,
        backoff: tuple[float, float] = (0.1, 5.0),
        clock: Callable[[], str] = utc_now,
        threaded: bool = True,
        prefix: str = TOPIC_PREFIX,
        metrics: Metrics | None = None,
        leading: Callable[[], bool] | None = None,
        session: str | None = None,
    ) -> None:
        self.broker = broker
        self.metrics = metrics if metrics is not None else Metrics()
        self.metrics.mqtt_connected.set_function(lambda: float(self.stats.connected))
        self.devices = devices
        self.terms_for = terms_for
        self.url = MqttUrl.parse(url)
        self.stats = stats if stats is not None else GatewayStats()
        self.qos = qos
        self.max_batch = max_batch
        self.backoff = backoff
        self.clock = clock
        self.threaded = threaded
        """Apply batches in a worker thread, so that the network loop keeps reading."""
        self.prefix = prefix
        """The first topic level (another one lets deployments and tests share a broker)."""
        self.topic = f"{prefix}/+/+/attrs"
        self.leading = leading
        """With several instances: whether this one holds the lease. Only the leader reads
        the measures, so each is applied once and a device's measures stay in order."""
        self.client_id = mqtt_session_id(prefix, session) if session is not None else None
        """A persistent MQTT session (clean_session off), named after the store: the broker
        keeps the subscription, queues QoS 1 measures while cityos restarts (or the lease
        changes hands between instances), and sends again those not acknowledged; a second
        connection with the id ends the first, which fences an old leader. Measures are
        acknowledged once committed, so a crash loses none the broker accepted. None: a
        clean session acknowledged on receipt (tests, benchmarks)."""
        self._log = RateLimitedLog()
        self.subscribed = asyncio.Event()
        """Set while subscribed (tests and benchmarks wait for it)."""

    # -- connection ----------------------------------------------------------------------

    def health(self) -> Check:
        """Connected to the MQTT broker, or `warn` while it reconnects (the API serves on)."""
        component = f"mqtt://{self.url.host}:{self.url.port}"
        if self.stats.connected or self.stats.standby:
            return Check("pass", component_id=component)
        failures = self.stats.connection_failures
        return Check("warn", f"not connected ({failures} failed attempts so far)", component)

    async def run(self) -> None:
        """Connect, subscribe and apply measures; reconnect whenever the connection drops."""
        delay = self.backoff[0]
        failures = 0
        last_report = 0.0
        where = f"{self.url.host}:{self.url.port}"
        while True:
            if self.leading is not None and not self.leading():
                self.stats.standby = True
                await asyncio.sleep(LEASE_POLL_S)
                continue
            self.stats.standby = False
            try:
                async with aiomqtt.Client(
                    self.url.host,
                    self.url.port,
                    username=self.url.username,
                    password=self.url.password,
                    keepalive=30,
                    identifier=self.client_id,
                    clean_session=False if self.client_id else None,
                ) as client:
                    if self.client_id is not None:
                        client._client.manual_ack_set(True)  # acknowledged once committed
                    await client.subscribe(self.topic, qos=self.qos)
                    self.stats.connected = True
                    self.stats.connects += 1
                    self.subscribed.set()
                    if failures:
                        log.warning(
                            "MQTT gateway reconnected to %s after %d attempts", where, failures
                        )
                    else:
                        log.info("MQTT gateway subscribed to %s on %s", self.topic, where)
                    failures, delay = 0, self.backoff[0]
                    await self._consume_while_leading(client)
            except aiomqtt.MqttError as error:
                self.stats.connected = False
                self.subscribed.clear()
                self.stats.connection_failures += 1
                failures += 1
                now = time.monotonic()
                if failures == 1:
                    log.warning("MQTT broker %s: %s; reconnecting", where, error)
                    last_report = now
                elif now - last_report > 60:
                    log.warning("MQTT broker %s still unreachable (%d attempts)", where, failures)
                    last_report = now
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.backoff[1])
            except Exception:  # anything else: the gateway must outlive it, not stop silently
                log.exception("MQTT gateway failed; starting again")
                self.stats.connection_failures += 1
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.backoff[1])
            finally:
                self.stats.connected = False
                self.subscribed.clear()

    async def _consume_while_leading(self, client: aiomqtt.Client) -> None:
        """Apply measures until the connection drops or (several instances) the lease is
        lost; leaving disconnects, and the broker keeps the session for the next leader."""
        if self.leading is None:
            await self._consume(client)
            return
        consuming = asyncio.ensure_future(self._consume(client))
        try:
            while not consuming.done() and self.leading():
                await asyncio.wait({consuming}, timeout=LEASE_POLL_S)
            if consuming.done():
                consuming.result()  # the connection's error, if that ended it
            else:
                log.info("MQTT gateway: lease lost, leaving the measures to the new leader")
        finally:
            consuming.cancel()
            await asyncio.gather(consuming, return_exceptions=True)

    async def _consume(self, client: aiomqtt.Client) -> None:
        messages = aiter(client.messages)
        queue: asyncio.Queue[aiomqtt.Message] = client._queue  # drained without a task each
        while True:
            batch = [await anext(messages)]
            while len(batch) < self.max_batch:
                try:
                    batch.append(queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            raw = [(message.topic.value, _bytes(message.payload)) for message in batch]
            if self.threaded:
                await asyncio.to_thread(self.handle, raw)
            else:
                self.handle(raw)
            if self.client_id is not None:  # committed: the broker may forget them
                for message in batch:
                    if message.qos > 0:
                        client._client.ack(message.mid, message.qos)

    # -- measures ------------------------------------------------------------------------

    def handle(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Apply a batch of (topic, payload) messages; never raises."""
        self.stats.received += len(messages)
        self.metrics.mqtt_messages.inc(len(messages))
        parsed: list[tuple[str, str, list[object]]] = []
        for topic, payload in messages:
            parts = topic.split("/")
            if len(parts) != 4 or parts[0] != self.prefix or parts[3] != "attrs":
                self._reject(
                    MALFORMED, 1, "topic %r is not <prefix>/<apikey>/<device>/attrs", topic
                )
                continue
            try:
                body = orjson.loads(payload)
            except orjson.JSONDecodeError as error:
                self._reject(
                    MALFORMED, 1, "device %s sent a payload that is not JSON: %s", parts[2], error
                )
                continue
            items = body if isinstance(body, list) else [body]
            parsed.append((parts[1], parts[2], items))
        try:
            known = self.devices.find_devices({device_id for _, device_id, _ in parsed})
        except Exception:
            log.exception("MQTT gateway: the device registry failed")
            self._count_rejected(FAILED, sum(len(items) for _, _, items in parsed))
            return
        measures: list[Measure] = []
        for apikey, device_id, items in parsed:
            device = _match(known.get(device_id, []), apikey)
            if device is None:
                if device_id in known:
                    self._reject(BAD_APIKEY, len(items), "device %s: wrong API key", device_id)
                else:
                    self._reject(
                        UNKNOWN_DEVICE, len(items), "device %s is not provisioned", device_id
                    )
                continue
            for item in items:
                if isinstance(item, dict):
                    measures.append(Measure(device, item))
                else:
                    self._reject(MALFORMED, 1, "device %s: a measure is not an object", device_id)
        try:
            applied = ingest(self.broker, self.terms_for, measures, self.clock(), atomic=False)
        except Exception:
            log.exception("MQTT gateway: writing %d measures failed", len(measures))
            self._count_rejected(FAILED, len(measures))
            return
        self.stats.applied += applied
        self.metrics.mqtt_applied.inc(applied)
        self.stats.batches += 1
        for measure in measures:
            if measure.error is not None:
                self._reject(
                    INVALID,
                    1,
                    "device %s: measure refused: %s",
                    measure.device.device_id,
                    measure.error.detail,
                )

    def _reject(self, reason: str, count: int, message: str, *args: object) -> None:
        self._count_rejected(reason, count)
        self._log.warning(reason, "MQTT gateway: " + message, *args)

    def _count_rejected(self, reason: str, count: int) -> None:
        self.stats.rejected[reason] += count
        self.metrics.mqtt_rejected.labels(reason).inc(count)


def _match(devices: list[Device], apikey: str) -> Device | None:
    return next((device for device in devices if device.apikey == apikey), None)


def _bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return orjson.dumps(payload)
