"""Sending a notification to its endpoint: HTTP(S) webhooks and MQTT (the NGSI-LD MQTT
binding, ETSI GS CIM 009 annex on MQTT notifications).

A transport either delivers or raises `DeliveryFailed`; retrying is the notifier's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiomqtt
import orjson

from cityos.events.endpoints import EndpointPolicy, EndpointRefused, RecentChecks
from cityos.events.subscription import hidden_uri
from cityos.events.webhook import WebhookClient, WebhookError

log = logging.getLogger("cityos.events")

HTTP_TIMEOUT_S = 10.0
MQTT_TIMEOUT_S = 10.0


class DeliveryFailed(Exception):
    """The endpoint did not take the notification; the message says why."""


class Transport(Protocol):
    async def send(
        self, uri: str, body: bytes, headers: dict[str, str], notifier_info: dict[str, str]
    ) -> None: ...

    async def close(self) -> None: ...


def _checked(checks: RecentChecks, uri: str) -> str | None:
    """The address to deliver to; a refused endpoint is a failed delivery."""
    try:
        return checks.check(uri)
    except EndpointRefused as refused:
        raise DeliveryFailed(refused.detail) from None


class HttpTransport:
    """POSTs notifications, keeping connections to each receiver alive between them."""

    def __init__(self, policy: EndpointPolicy, tls: ssl.SSLContext | None = None) -> None:
        self._checks = RecentChecks(policy)
        # follows no redirect, uses no proxy
        self._client = WebhookClient(HTTP_TIMEOUT_S, _tls=tls)

    async def send(
        self, uri: str, body: bytes, headers: dict[str, str], notifier_info: dict[str, str]
    ) -> None:
        address = _checked(self._checks, uri)
        try:
            status = await self._client.post(uri, body, headers, address)
        except WebhookError as error:
            raise DeliveryFailed(str(error)) from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"the receiver answered {status}")

    async def close(self) -> None:
        await self._client.close()


@dataclass(frozen=True, slots=True)
class _Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


class MqttTransport:
    """Publishes notifications to MQTT brokers, one kept-open connection per broker.

    The message is `{"metadata": {headers}, "body": notification}` on the topic that the
    endpoint URI's path names (mqtt://host:port/topic); notifierInfo `MQTT-QoS` sets the
    QoS (0 by default).
    """

    def __init__(self, policy: EndpointPolicy, tls: ssl.SSLContext | None = None) -> None:
        self._checks = RecentChecks(policy)
        self._tls = tls
        self._clients: dict[_Broker, aiomqtt.Client] = {}
        self._locks: dict[_Broker, asyncio.Lock] = {}

    async def send(
        self, uri: str, body: bytes, headers: dict[str, str], notifier_info: dict[str, str]
    ) -> None:
        address = _checked(self._checks, uri)
        parts = urlsplit(uri)
        topic = unquote(parts.path.lstrip("/"))
        if not topic or "+" in topic or "#" in topic:
            raise DeliveryFailed(f"{hidden_uri(uri)} names no topic to publish on")
        qos_text = notifier_info.get("MQTT-QoS", "0")
        if qos_text not in ("0", "1", "2"):
            raise DeliveryFailed(f"MQTT-QoS {qos_text!r} is not 0, 1 or 2")
        tls = parts.scheme == "mqtts"
        broker = _Broker(
            # plain MQTT connects to the checked address; TLS needs the name for the
            # certificate, so there the name is resolved again
            (parts.hostname or "") if tls or address is None else address,
            parts.port or (8883 if parts.scheme == "mqtts" else 1883),
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            tls,
        )
        payload = orjson.dumps({"metadata": headers, "body": orjson.loads(body)})
        try:
            client = await self._client(broker)
            await asyncio.wait_for(
                client.publish(topic, payload, qos=int(qos_text)), MQTT_TIMEOUT_S
            )
        except (aiomqtt.MqttError, OSError, TimeoutError) as error:
            await self._drop(broker)
            raise DeliveryFailed(f"MQTT broker {broker.host}:{broker.port}: {error}") from None

    async def _client(self, broker: _Broker) -> aiomqtt.Client:
        lock = self._locks.setdefault(broker, asyncio.Lock())
        async with lock:
            client = self._clients.get(broker)
            if client is None:
                client = aiomqtt.Client(
                    broker.host,
                    broker.port,
                    username=broker.username,
                    password=broker.password,
                    tls_context=(self._tls or ssl.create_default_context()) if broker.tls else None,
                    timeout=MQTT_TIMEOUT_S,
                )
                await client.__aenter__()
                self._clients[broker] = client
            return client

    async def _drop(self, broker: _Broker) -> None:
        client = self._clients.pop(broker, None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def close(self) -> None:
        for broker in list(self._clients):
            await self._drop(broker)


class Transports:
    """The transport for each endpoint scheme."""

    def __init__(self, policy: EndpointPolicy, tls: ssl.SSLContext | None = None) -> None:
        """`tls` verifies https and mqtts endpoints (the system's CAs when None)."""
        self.http = HttpTransport(policy, tls)
        self.mqtt = MqttTransport(policy, tls)

    def for_uri(self, uri: str) -> Transport:
        scheme = uri.split(":", 1)[0].lower()
        if scheme in ("mqtt", "mqtts"):
            return self.mqtt
        return self.http

    async def close(self) -> None:
        await self.http.close()
        await self.mqtt.close()
