"""The simulation: set the packs up, load what they place into cityos, then step time.

The simulator is a client of cityos like any other: it loads entities, devices and rules
through the API and publishes readings through the device paths (MQTT when a broker is
configured, `/iot/json` otherwise), so history, subscriptions, rules and cases react to the
simulated city exactly as they would to a real one. Time is simulated: every `step` moves
it on by the scenario's tick, and `run` paces the steps to the scenario's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from cityos.context.broker import iso_time
from cityos.context.jsonld import Terms, core_terms
from cityos.domains.base import Pack, Reading, Setup, SimContext
from cityos.domains.common import prop
from cityos.ingest.devices import measure_body, parse_device
from cityos.sim.client import CityClient
from cityos.sim.packs import create_pack
from cityos.sim.publish import Publisher
from cityos.sim.scenario import Scenario

log = logging.getLogger("cityos.sim")

PACKAGED_DATA = Path(str(resources.files("cityos") / "sim" / "data"))
"""Real data shipped with cityos for the packs (air quality, the WKD timetable)."""
APIKEY = "cityos-sim"

Progress = Callable[[str, int, int], None]
"""Told (what, done, total) while the city loads."""


@dataclass(slots=True)
class LoadReport:
    entities: dict[str, int] = field(default_factory=dict)
    """Per pack."""
    devices: int = 0
    rules: int = 0


@dataclass(slots=True)
class StepStats:
    steps: int = 0
    readings: int = 0
    accepted: int = 0


def _core(_tenant: str | None) -> Terms:
    return core_terms()


def _seed(scenario_seed: int, pack: str) -> int:
    """Each pack its own stream, so adding a pack does not change the others' runs."""
    digest = hashlib.sha256(f"{scenario_seed}:{pack}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Simulation:
    """One scenario's packs, on one simulated clock."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        data: Path = PACKAGED_DATA,
        now: datetime | None = None,
        apikey: str = APIKEY,
    ) -> None:
        self.scenario = scenario
        start = scenario.start or now or datetime.now(UTC)
        self.now = start.replace(microsecond=0)
        self.tick = timedelta(seconds=scenario.tick)
        self.data = data
        self.apikey = apikey
        """Its devices' API key: two cities sharing one MQTT broker keep their readings
        apart by it (the gateway refuses a reading whose key is not its device's)."""
        self.packs: dict[str, Pack] = {name: create_pack(name) for name in scenario.packs}
        self.stats = StepStats()

    def _context(self, name: str, start: datetime) -> SimContext:
        return SimContext(
            rng=random.Random(_seed(self.scenario.seed, name)),
            districts=self.scenario.districts,
            start=start,
            params=self.scenario.packs[name],
            data=self.data,
            apikey=self.apikey,
        )

    def setups(self) -> dict[str, Setup]:
        """Every pack set up for the scenario (entities, devices, rules)."""
        return {
            name: pack.setup(self._context(name, self.now)) for name, pack in self.packs.items()
        }

    def history(self, name: str, hours: float) -> dict[str, dict[str, Any]]:
        """What pack `name` would have measured in the `hours` before now: per entity, a
        temporal fragment (attribute → instances with observedAt), as the device gateway
        would have written it. A second instance of the pack, set up from the same seed
        (so the same entities) `hours` earlier, is stepped up to now."""
        start = self.now - timedelta(hours=hours)
        pack = create_pack(name)
        setup = pack.setup(self._context(name, start))
        stamp = iso_time(start.timestamp())
        devices = {
            d["device_id"]: parse_device({**d, "apikey": self.apikey}, "", _core, stamp)
            for d in setup.devices
        }
        found: dict[str, dict[str, Any]] = {}
        moment = start
        while moment + self.tick < self.now:  # now itself is the live run's first step
            moment += self.tick
            for reading in pack.step(moment, self.tick):
                device = devices.get(reading.device_id)
                if device is None:
                    continue
                body = measure_body(device, reading.payload, iso_time(moment.timestamp()))
                entity = found.setdefault(body["id"], {"id": body["id"], "type": body["type"]})
                for attr, instance in body.items():
                    if isinstance(instance, dict) and instance.get("type") == "Property":
                        entity.setdefault(attr, []).append(instance)
        return found

    async def backfill(self, client: CityClient, progress: Progress | None = None) -> int:
        """Write the scenario's `history` (hours per pack) through the temporal API, then
        mark every back-filled entity with `simulatedHistory` {from, until} so that pages
        say the history was simulated. How many attribute instances were written."""
        written = 0
        spans = [(n, h) for n, h in self.scenario.history.items() if n in self.packs]
        for done, (name, hours) in enumerate(spans, 1):
            fragments = self.history(name, hours)
            for fragment in fragments.values():
                await client.add_history(fragment)
                written += sum(len(v) for v in fragment.values() if isinstance(v, list))
            span = {
                "from": iso_time((self.now - timedelta(hours=hours)).timestamp()),
                "until": iso_time(self.now.timestamp()),
                "note": f"simulated history back-filled by the {self.scenario.name} scenario",
            }
            for entity_id in fragments:
                await client.add_attrs(entity_id, {"simulatedHistory": prop(span)})
            if progress:
                progress(f"{name}: {hours:g} h of history", done, len(spans))
        return written

    async def load(self, client: CityClient, progress: Progress | None = None) -> LoadReport:
        """Put every pack's entities, devices and rules into cityos."""
        report = LoadReport()
        setups = self.setups()
        total = sum(len(s.entities) + len(s.devices) for s in setups.values())
        done = 0
        for name, setup in setups.items():
            report.entities[name] = await client.upsert(setup.entities)
            done += len(setup.entities)
            if progress:
                progress(f"{name}: entities", done, total)
            for device in setup.devices:
                device.setdefault("apikey", self.apikey)
            report.devices += await client.provision(setup.devices)
            done += len(setup.devices)
            if progress:
                progress(f"{name}: devices", done, total)
            if setup.rules:
                report.rules += await client.add_rules(setup.rules)
        return report

    def readings(self) -> list[Reading]:
        """Move simulated time on by one tick; what every device publishes at that time."""
        self.now += self.tick
        found: list[Reading] = []
        for pack in self.packs.values():
            found.extend(pack.step(self.now, self.tick))
        return found

    async def step(self, publisher: Publisher) -> int:
        readings = self.readings()
        accepted = await publisher.publish(readings)
        self.stats.steps += 1
        self.stats.readings += len(readings)
        self.stats.accepted += accepted
        return accepted

    async def run(self, publisher: Publisher, stop: asyncio.Event) -> None:
        """Step at the scenario's speed until `stop` is set; a slow step is not made up."""
        loop = asyncio.get_running_loop()
        period = self.scenario.tick / self.scenario.speed
        next_at = loop.time()
        while not stop.is_set():
            try:
                await self.step(publisher)
            except Exception:  # one bad step (a broker restart…) must not end the city
                log.exception("simulation step at %s failed", self.now.isoformat())
            next_at = max(next_at + period, loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - loop.time()))
