"""How readings reach cityos: the real device paths, MQTT or the HTTP measure endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import aiomqtt
import httpx
import orjson

from cityos.domains.base import Reading
from cityos.ingest.gateway import MqttUrl


class Publisher(Protocol):
    async def publish(self, readings: Sequence[Reading]) -> int:
        """Send the readings; how many were accepted."""
        ...


class HttpPublisher:
    """`POST /iot/json?k=<apikey>&i=<device>`, a few requests in flight at once."""

    def __init__(self, http: httpx.AsyncClient, apikey: str, parallel: int = 8) -> None:
        self.http = http
        self.apikey = apikey
        self.parallel = asyncio.Semaphore(parallel)
        self.refused = 0

    async def publish(self, readings: Sequence[Reading]) -> int:
        results = await asyncio.gather(*(self._one(r) for r in readings))
        return sum(results)

    async def _one(self, reading: Reading) -> bool:
        async with self.parallel:
            response = await self.http.post(
                "/iot/json",
                params={"k": self.apikey, "i": reading.device_id},
                content=orjson.dumps(reading.payload),
                headers={"Content-Type": "application/json"},
            )
        if response.status_code != 204:
            self.refused += 1
            return False
        return True


class MqttPublisher:
    """`cityos/<apikey>/<device>/attrs` on the broker the gateway listens to, QoS 1."""

    def __init__(self, client: aiomqtt.Client, apikey: str) -> None:
        self.client = client
        self.apikey = apikey

    async def publish(self, readings: Sequence[Reading]) -> int:
        for reading in readings:
            await self.client.publish(
                f"cityos/{self.apikey}/{reading.device_id}/attrs",
                orjson.dumps(reading.payload),
                qos=1,
            )
        return len(readings)


def mqtt_client(url: str) -> aiomqtt.Client:
    parsed = MqttUrl.parse(url)
    return aiomqtt.Client(parsed.host, parsed.port, identifier=f"cityos-sim-{id(parsed)}")
