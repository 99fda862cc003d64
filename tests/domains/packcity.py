"""A broker on a temporary SQLite store that runs a pack's setup and readings through the
same paths as the simulator (entities upserted, devices parsed, measures ingested), so
that pack tests check KPIs on what the broker really holds."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cityos.context.broker import Broker, iso_time
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.domains.base import CityView, Reading, Setup, SimContext
from cityos.governance.districts import Districts
from cityos.ingest.devices import Measure, ingest, parse_device
from cityos.rules.model import Rule, compile_rules, load_documents
from cityos.sim.runner import PACKAGED_DATA
from cityos.store.devices import Device
from cityos.store.sqlite import SQLiteStore

RESOLVER = ContextResolver()
SHARED_DATA = PACKAGED_DATA
"""The real data the packs replay: the copy the simulator ships."""
CHONGQING = Districts.packaged("chongqing")
STAMP = "2030-01-01T00:00:00.000000Z"


def context(
    start: datetime, params: dict[str, Any] | None = None, seed: int = 1, data: Path = SHARED_DATA
) -> SimContext:
    return SimContext(random.Random(seed), CHONGQING, start, params or {}, data, "testkey")


def check_setup(setup: Setup) -> tuple[list[Device], list[Rule]]:
    """Every entity and device parses, the rules compile: what the simulator will need."""
    for body in setup.entities:
        parse_entity(body, RESOLVER.core, STAMP)
    devices = [parse_device(d, "", RESOLVER.resolve, STAMP) for d in setup.devices]
    rules = compile_rules(load_documents(setup.rules), RESOLVER) if setup.rules else []
    return devices, rules


@dataclass
class PackCity:
    broker: Broker
    devices: dict[str, Device]

    @property
    def view(self) -> CityView:
        return CityView(self.broker)

    def create(self, body: dict[str, Any]) -> None:
        self.broker.create("", parse_entity(body, RESOLVER.core, STAMP))

    def publish(self, readings: Sequence[Reading], now: datetime | None = None) -> None:
        measures = [Measure(self.devices[r.device_id], r.payload) for r in readings]
        stamp = iso_time(now.timestamp()) if now else STAMP
        ingest(self.broker, RESOLVER.resolve, measures, stamp, atomic=True)
        assert all(m.error is None for m in measures), [m.error for m in measures]


@contextmanager
def pack_city(tmp: Path, setup: Setup | None = None) -> Iterator[PackCity]:
    """A broker holding the setup's entities, ready to take its devices' readings."""
    store = SQLiteStore(tmp, synchronous="OFF")
    try:
        city = PackCity(Broker(store), {})
        if setup is not None:
            devices, _ = check_setup(setup)
            city.devices = {d.device_id: d for d in devices}
            for body in setup.entities:
                city.create(body)
        yield city
    finally:
        store.close()
