"""What a domain pack is: its entity types, its devices and rules, its simulated life, its
KPIs. The simulator (`cityos.sim`) runs packs; nothing in a pack knows HTTP, MQTT or SQL.

A pack's life in a run:

1. `setup(ctx)` once: the static entities it places in the city (NGSI-LD normalized
   dicts, short names under the core @context), the devices it provisions (FIWARE IoT
   Agent JSON, as `POST /iot/devices` takes them), and its rules (YAML text in the format
   of docs/rules.md).
2. `step(now, dt)` every simulated tick: the readings its devices publish at `now`. The
   simulator sends them through the real ingestion paths (MQTT or `/iot/json`), so
   history, subscriptions, rules and cases see them as they would see real sensors.
3. `kpis(city, now)` whenever asked: figures computed from what the broker holds (current
   entities and their history), never from the pack's own memory, so they are true of
   any data, simulated or real.

Everything random comes from `ctx.rng`, so a run is the same for the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cityos.context.broker import Broker, iso_time
from cityos.context.jsonld import Terms, core_terms
from cityos.context.query import expand_q, expand_types, parse_q, parse_type_expr
from cityos.context.render import KEY_VALUES, View, render_entity
from cityos.context.temporal import Aggregation, parse_interval
from cityos.governance.districts import Districts
from cityos.store.base import EntityQuery
from cityos.store.history import TemporalQuery


@dataclass(frozen=True, slots=True)
class Reading:
    """One message a device publishes: its payload keys are the device's object_ids;
    `TimeInstant` carries the simulated time of the measure."""

    device_id: str
    payload: dict[str, Any]


@dataclass(slots=True)
class Setup:
    entities: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    rules: str | None = None


@dataclass(frozen=True, slots=True)
class Kpi:
    """One figure of a pack: `value` None when the data do not allow it (never made up)."""

    id: str
    name: str
    value: float | None
    unit: str
    description: str
    breakdown: dict[str, float | None] = field(default_factory=dict)
    """Per district, line, factory…, when the KPI has parts."""
    lower_bound: bool = False
    """The value counts only what the data hold (a network's mapped lines): the true
    figure is at least this, and is shown so ("at least 455 km")."""


@dataclass(slots=True)
class SimContext:
    """What a pack is given to set itself up."""

    rng: random.Random
    districts: Districts
    start: datetime
    """Simulated time at the start of the run (UTC)."""
    params: dict[str, Any]
    """The pack's section of the scenario file."""
    data: Path
    """Where the real data files are (../shared/data in a checkout)."""
    apikey: str
    """The API key its devices are provisioned with."""


class CityView:
    """Read-only questions a KPI asks of the broker, in short names (core @context)."""

    def __init__(self, broker: Broker, tenant: str = "", terms: Terms | None = None) -> None:
        self.broker = broker
        self.tenant = tenant
        self.terms = terms or core_terms()

    def entities(
        self, entity_type: str, q: str | None = None, limit: int = 100_000
    ) -> list[dict[str, Any]]:
        """Entities of a type (matching q), as keyValues dicts with short names."""
        query = self._query(entity_type, q, limit)
        found = self.broker.store.query(self.tenant, query).entities
        view = View(format=KEY_VALUES)
        return [render_entity(e, self.terms, view) for e in found]

    def count(self, entity_type: str, q: str | None = None) -> int:
        query = self._query(entity_type, q, 0)
        query.count = True
        return self.broker.store.query(self.tenant, query).count or 0

    def aggregate(
        self,
        entity_type: str,
        attr: str,
        method: str,
        since: datetime,
        until: datetime,
        period: timedelta | None = None,
    ) -> dict[str, list[tuple[datetime, float | None]]]:
        """Per entity id: the history of `attr` (by observedAt) in [since, until)
        aggregated with `method` (avg, max, min, sum, totalCount…) per period (None: one
        value for the whole interval), computed by the history store."""
        start, end = iso_time(since.timestamp()), iso_time(until.timestamp())
        interval = parse_interval({"timerel": "between", "timeAt": start, "endTimeAt": end})
        iri = self.terms.expand(attr)
        period_ms = int(period.total_seconds() * 1000) if period else 0
        query = TemporalQuery(
            entities=self._query(entity_type, None, 100_000),
            interval=interval,
            aggregation=Aggregation((method,), period_ms),
        )
        query.entities.attrs = [iri]
        found = self.broker.store.history.query(self.tenant, query).entities
        out: dict[str, list[tuple[datetime, float | None]]] = {}
        for temporal in found:
            aggregated = temporal.aggregates.get(iri)
            if aggregated is None:
                continue
            out[temporal.entity.id] = [
                (datetime.fromtimestamp(p.start_ms / 1000, UTC), _number(p.values.get(method)))
                for p in aggregated.periods
            ]
        return out

    def _query(self, entity_type: str, q: str | None, limit: int) -> EntityQuery:
        types = expand_types(parse_type_expr(entity_type), self.terms.expand)
        node = expand_q(parse_q(q), self.terms.expand) if q else None
        return EntityQuery(types=types, q=node, limit=limit)


class Pack(Protocol):
    name: str
    entity_types: Sequence[str]
    """Short names of the entity types it creates (Smart Data Models names where one exists)."""
    case_categories: Sequence[str]
    """Governance categories its rules open cases in (they must exist in the configuration)."""

    def setup(self, ctx: SimContext) -> Setup: ...

    def step(self, now: datetime, dt: timedelta) -> list[Reading]: ...

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]: ...


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
