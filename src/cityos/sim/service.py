"""A simulation running beside a cityos server, as its client, for as long as it serves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import httpx

from cityos.sim.client import CityClient
from cityos.sim.publish import HttpPublisher, MqttPublisher, Publisher, mqtt_client
from cityos.sim.runner import LoadReport, Progress, Simulation

log = logging.getLogger("cityos.sim")


async def live(
    simulation: Simulation,
    base_url: str,
    mqtt: str | None = None,
    progress: Progress | None = None,
    on_loaded: Callable[[LoadReport], None] | None = None,
    stop: asyncio.Event | None = None,
    key: str | None = None,
) -> None:
    """Wait for the server, load the city and back-fill its recent history (`on_loaded`
    hears how much was loaded), then publish
    readings until `stop` is set or the task is cancelled. `key`: the API key every
    request carries, for a server that requires one."""
    stop = stop or asyncio.Event()
    headers = {"Authorization": f"Bearer {key}"} if key else None
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=headers) as http:
        client = CityClient(http, simulation.scenario.tenant)
        await client.wait_until_up()
        report = await simulation.load(client, progress)
        await simulation.backfill(client, progress)
        if on_loaded is not None:
            on_loaded(report)
        async with contextlib.AsyncExitStack() as stack:
            publisher: Publisher
            if mqtt:
                connected = await stack.enter_async_context(mqtt_client(mqtt))
                publisher = MqttPublisher(connected, simulation.apikey)
            else:
                publisher = HttpPublisher(http, simulation.apikey)
            await simulation.run(publisher, stop)
