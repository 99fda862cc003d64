"""A broker on a SQLite store with a rule engine, driven by a clock the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cityos.context.broker import Broker, iso_time
from cityos.context.entity import Entity
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.governance.model import Report
from cityos.rules.engine import RuleEngine
from cityos.rules.model import Rule, compile_rules, load_documents
from cityos.store.sqlite import SQLiteStore
from tests.stores import StoreFactory

START = 1_800_000_000.0


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def iso(self) -> str:
        return iso_time(self.now)


@dataclass
class Cases:
    """A recording case opener: what the governance service would be asked to open."""

    reports: list[tuple[str, Report]] = field(default_factory=list)

    def __call__(self, tenant: str, report: Report) -> str:
        self.reports.append((tenant, report))
        assert report.case_id is not None
        return report.case_id

    @property
    def ids(self) -> list[str | None]:
        return [report.case_id for _, report in self.reports]


@dataclass
class World:
    store: Any
    broker: Broker
    engine: RuleEngine
    clock: Clock
    cases: Cases
    resolver: ContextResolver

    def rules(self, text: str) -> list[Rule]:
        rules = compile_rules(load_documents(text), self.resolver)
        for rule in rules:
            self.engine.put("", rule)
        return rules

    def create(self, body: dict[str, Any]) -> None:
        self.broker.create("", parse_entity(body, self.resolver.core, self.clock.iso()))
        self.engine.wait_idle()

    def merge(self, entity_id: str, **attrs: Any) -> None:
        fragment = {
            name: value if isinstance(value, dict) else {"type": "Property", "value": value}
            for name, value in attrs.items()
        }
        entity = parse_entity(fragment, self.resolver.core, self.clock.iso(), partial=True)
        self.broker.merge("", entity_id, entity)
        self.engine.wait_idle()

    def get(self, entity_id: str) -> Entity:
        return self.broker.retrieve("", entity_id)

    def later(self, seconds: float) -> int:
        """Move the clock on and tick; how many episodes fired."""
        self.clock.now += seconds
        fired = self.engine.tick()
        self.engine.wait_idle()
        return fired


@contextmanager
def world(
    stores: StoreFactory | Path, clock: Clock | None = None, cases: Cases | None = None
) -> Iterator[World]:
    """A running world on the test's store (open it again for a restart: the same data):
    the backend under test from a `StoreFactory`, or the embedded store in a directory."""
    clock = clock or Clock()
    cases = cases if cases is not None else Cases()
    store = (
        stores("data")
        if isinstance(stores, StoreFactory)
        else SQLiteStore(stores, synchronous="OFF")
    )
    broker = Broker(store, clock=clock.iso)
    resolver = ContextResolver()
    engine = RuleEngine(broker, resolver, open_case=cases, clock=clock)
    try:
        with engine.running():
            found = World(store, broker, engine, clock, cases, resolver)
            engine.wait_idle()
            yield found
            engine.wait_idle()
    finally:
        store.close()


def machine(
    number: int = 1, temperature: float = 20.0, status: str = "running", **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Machine:{number}",
        "type": "Machine",
        "temperature": {"type": "Property", "value": temperature},
        "status": {"type": "Property", "value": status},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [106.55, 29.56]},
        },
        **extra,
    }
