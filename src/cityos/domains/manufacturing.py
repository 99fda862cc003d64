"""Intelligent manufacturing: factories in Chongqing's automotive and electronics
industries, their production lines and machines, streaming state and sensor readings, and
the overall equipment effectiveness (OEE) computed from the history in the database.

Nothing here is a real plant: the factories, lines, machines and every figure are
simulated (`dataProvider` "cityos simulator"); only the districts are real (the
Liangjiang New Area spans parts of Yubei and Jiangbei; Xiyong is in Shapingba). No production
figures are cited: shared/data has none for Chongqing's industry.

Entity types:
- `ManufacturingMachine` (FIWARE Smart Data Models, dataModel.ManufacturingMachine): its
  `name`, `description`, `status` (text: running, idle, down), `factory` (name/code) and
  `dataProvider` are the model's; `refFactory`, `refProductionLine`, `idealCycleTime` and
  the measures below are cityos's own.
- `Factory`, `ProductionLine`: no Smart Data Model fits (dataModel.Building would count the
  plants among a city's buildings), so named plainly.

Measures (one device per machine, every `report_seconds`): `status`, `temperature` (°C),
`vibration` (mm/s, only while running: a stopped spindle does not vibrate, and idle
zeros would look like deviations), the counters `cycleCount` and `rejectCount`
(cumulative parts and rejects since the start), and per report interval `partsProduced`,
`partsRejected`, `runTime` and `plannedTime` (seconds running, seconds of planned
production). Every simulated second of the run is planned production time (no planned
stops are simulated), so idle and down time are availability losses.

OEE over the last `oee_window_minutes` (60) before `now`, from sums the history store
computes (`CityView.aggregate(..., "sum")`) per machine:
  planned = Σ plannedTime, run = Σ runTime, parts = Σ partsProduced, bad = Σ partsRejected,
  availability A = run / planned,
  performance  P = idealCycleTime * parts / run,
  quality      Q = (parts - bad) / parts,
  OEE = A * P * Q = idealCycleTime * good parts / planned (fully productive time / planned).
A line, a factory and the city add up the times: A = Σ run / Σ planned, P = Σ (ideal *
parts) / Σ run, Q = Σ (ideal * good) / Σ (ideal * parts), so that OEE = Σ fully
productive time / Σ planned time: the machines' OEE weighted by planned time (the
time-based loss model; a line is not reduced to its bottleneck). A figure whose
denominator is zero is None.

Simulation: machines run, stop for short idles, break down at random (mean time between
failures `breakdown_mtbf_h`, repair exponential with mean `repair_minutes`), and develop
faults (`fault_rate_per_day` per machine): a temperature drift (the running temperature
rises 0.5 °C a minute until the machine trips at `trip_temperature` and is repaired) or a
vibration rise (to 2.5 times its baseline over ten minutes, rejects x5, repaired after 30
minutes). Sensor noise is bounded (triangular), so a healthy machine never reaches z 4
against its own baseline.

Rules: temperature above `temperature_limit` for 5 minutes → machine-fault case (high);
vibration deviating from its last hour (z ≥ 4) → machine-fault case (high); a machine down
for 15 minutes → an Alert (high).

Params (`DEFAULTS`): factories (3, cycling through `FACTORIES`), lines_per_factory (2),
machines_per_line (3), report_seconds (12: 18 machines → 90 readings a simulated minute),
and the simulation rates above. Use: `PACK` is the class.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cityos.context.broker import iso_time
from cityos.domains.base import CityView, Kpi, Reading, Setup, SimContext
from cityos.domains.common import SIMULATOR, point, prop, random_point, rel, slug

DEFAULTS: dict[str, Any] = {
    "factories": 3,
    "lines_per_factory": 2,
    "machines_per_line": 3,
    "report_seconds": 12.0,
    "fault_rate_per_day": 1.0,  # per machine
    "breakdown_mtbf_h": 16.0,
    "repair_minutes": 20.0,
    "idle_every_minutes": 45.0,
    "idle_minutes": 4.0,
    "reject_rate": 0.02,
    "temperature_limit": 80.0,
    "trip_temperature": 90.0,
    "oee_window_minutes": 60.0,
}

AMBIENT_C = 26.0
THERMAL_TAU_S = 600.0
DRIFT_C_PER_S = 0.5 / 60
VIBRATION_RAMP_S = 600.0
VIBRATION_FAULT_S = 1800.0
STATES = ("running", "idle", "down")


@dataclass(frozen=True, slots=True)
class MachineKind:
    label: str
    ideal_cycle_s: float
    temperature_c: float
    """Running temperature at the measuring point."""
    vibration: float
    """Running vibration velocity, mm/s RMS."""


@dataclass(frozen=True, slots=True)
class FactoryTemplate:
    name: str
    industry: str
    district: str
    lines: tuple[str, ...]
    kinds: tuple[MachineKind, ...]


WELDER = MachineKind("welding robot", 60.0, 55.0, 2.5)
PRESS = MachineKind("stamping press", 20.0, 50.0, 4.0)
CNC = MachineKind("CNC machining centre", 90.0, 45.0, 1.8)
SMT = MachineKind("SMT placement machine", 15.0, 40.0, 1.0)
SCREWDRIVER = MachineKind("screw-driving robot", 25.0, 38.0, 1.2)
TESTER = MachineKind("functional test station", 30.0, 35.0, 0.6)

FACTORIES: tuple[FactoryTemplate, ...] = (
    FactoryTemplate(
        "Liangjiang car assembly plant (simulated)",
        "automotive",
        "Yubei",
        ("body welding", "final assembly"),
        (WELDER, PRESS, WELDER),
    ),
    FactoryTemplate(
        "Xiyong electronics plant (simulated)",
        "electronics",
        "Shapingba",
        ("SMT assembly", "laptop assembly"),
        (SMT, SCREWDRIVER, TESTER),
    ),
    FactoryTemplate(
        "Jiangbei automotive parts plant (simulated)",
        "automotive",
        "Jiangbei",
        ("engine parts machining", "gearbox parts machining"),
        (CNC, CNC, PRESS),
    ),
)


@dataclass(slots=True)
class Machine:
    """One machine's simulated state and the counters of its current report interval."""

    entity_id: str
    device_id: str
    kind: MachineKind
    pace: float
    """Share of the ideal rate it actually runs at (performance when running)."""
    offset: float
    """Seconds: staggers its reports."""
    state: str = "running"
    fault: str | None = None
    fault_s: float = 0.0
    repair_s: float = 0.0
    temperature: float = AMBIENT_C
    progress: float = 0.0
    cycle_count: int = 0
    reject_count: int = 0
    parts: int = 0
    rejects: int = 0
    run_s: float = 0.0
    planned_s: float = 0.0
    last_report: datetime | None = None


def _rules(params: dict[str, Any]) -> str:
    limit = float(params["temperature_limit"])
    return f"""\
rules:
  - id: machine-overheat
    description: Machine temperature above {limit:g} °C for five minutes
    type: ManufacturingMachine
    when: {{q: 'temperature>{limit:g}', for: 5m}}
    cooldown: 1h
    then:
      - case: {{category: machine-fault, priority: high,
               description: "{{id}} at {{value}} °C for 5 minutes (limit {limit:g} °C)"}}
  - id: machine-vibration
    description: Vibration deviating from the machine's own last hour (z of 4 or more)
    type: ManufacturingMachine
    when: {{deviates: {{attribute: vibration, window: 1h, zscore: 4, min_samples: 30}}}}
    cooldown: 1h
    then:
      - case: {{category: machine-fault, priority: high,
               description: "Vibration of {{id}} at {{value}} mm/s, far off its last hour"}}
  - id: machine-down
    description: A machine down for fifteen minutes
    type: ManufacturingMachine
    when: {{q: 'status=="down"', for: 15m}}
    cooldown: 30m
    then:
      - notify: {{severity: high, description: "{{id}} has been down for 15 minutes"}}
"""


DEVICE_ATTRIBUTES: list[dict[str, Any]] = [
    {"object_id": "s", "name": "status", "type": "Text"},
    {"object_id": "t", "name": "temperature", "type": "Number", "unitCode": "CEL"},
    {"object_id": "v", "name": "vibration", "type": "Number", "unitCode": "C16"},
    {"object_id": "cc", "name": "cycleCount", "type": "Number", "unitCode": "C62"},
    {"object_id": "rc", "name": "rejectCount", "type": "Number", "unitCode": "C62"},
    {"object_id": "n", "name": "partsProduced", "type": "Number", "unitCode": "C62"},
    {"object_id": "r", "name": "partsRejected", "type": "Number", "unitCode": "C62"},
    {"object_id": "rt", "name": "runTime", "type": "Number", "unitCode": "SEC"},
    {"object_id": "pt", "name": "plannedTime", "type": "Number", "unitCode": "SEC"},
]
"""UN/CEFACT units: CEL °C, C16 mm/s, C62 one (a count), SEC second."""


@dataclass
class ManufacturingPack:
    """The manufacturing pack (see the module docstring)."""

    name: str = "manufacturing"
    entity_types: Sequence[str] = ("Factory", "ProductionLine", "ManufacturingMachine")
    case_categories: Sequence[str] = ("machine-fault",)
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    machines: list[Machine] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def setup(self, ctx: SimContext) -> Setup:
        unknown = set(ctx.params) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"manufacturing: unknown parameter(s) {', '.join(sorted(unknown))}")
        self.params = params = {**DEFAULTS, **ctx.params}
        self.rng = rng = random.Random(ctx.rng.getrandbits(64))
        entities: list[dict[str, Any]] = []
        devices: list[dict[str, Any]] = []
        self.machines = []
        for index in range(int(params["factories"])):
            template = FACTORIES[index % len(FACTORIES)]
            district = ctx.districts.find(template.district)
            if district is None:
                raise ValueError(f"manufacturing: the city has no district {template.district}")
            number = index // len(FACTORIES)
            name = template.name if number == 0 else f"{template.name} {number + 1}"
            factory_slug = slug(name.removesuffix(" (simulated)")) + (
                f"-{number + 1}" if number else ""
            )
            factory_id = f"urn:ngsi-ld:Factory:{factory_slug}"
            lon, lat = random_point(rng, district)
            entities.append(
                {
                    "id": factory_id,
                    "type": "Factory",
                    "name": prop(name),
                    "industry": prop(template.industry),
                    "location": point(lon, lat),
                    "address": prop({"addressLocality": "Chongqing", "district": district.name}),
                    "refDistrict": rel(f"urn:ngsi-ld:District:{district.code}"),
                    "description": prop("A fictional plant placed in a real district."),
                    "dataProvider": prop(SIMULATOR),
                }
            )
            for li in range(int(params["lines_per_factory"])):
                label = template.lines[li % len(template.lines)]
                line_id = f"urn:ngsi-ld:ProductionLine:{factory_slug}-l{li + 1}"
                entities.append(
                    {
                        "id": line_id,
                        "type": "ProductionLine",
                        "name": prop(f"{name.removesuffix(' (simulated)')}: {label} {li + 1}"),
                        "refFactory": rel(factory_id),
                        "location": point(lon, lat),
                        "dataProvider": prop(SIMULATOR),
                    }
                )
                for mi in range(int(params["machines_per_line"])):
                    kind = template.kinds[mi % len(template.kinds)]
                    key = f"{factory_slug}-l{li + 1}-m{mi + 1}"
                    machine = Machine(
                        entity_id=f"urn:ngsi-ld:ManufacturingMachine:{key}",
                        device_id=f"machine-{key}",
                        kind=kind,
                        pace=rng.uniform(0.86, 0.97),
                        offset=rng.uniform(0, float(params["report_seconds"])),
                        temperature=kind.temperature_c + rng.uniform(-1, 1),
                    )
                    self.machines.append(machine)
                    mlon = round(lon + rng.uniform(-0.001, 0.001), 5)
                    mlat = round(lat + rng.uniform(-0.001, 0.001), 5)
                    entities.append(
                        {
                            "id": machine.entity_id,
                            "type": "ManufacturingMachine",
                            "name": prop(f"{kind.label} {key}"),
                            "description": prop(kind.label),
                            "factory": prop(factory_slug),
                            "refFactory": rel(factory_id),
                            "refProductionLine": rel(line_id),
                            "idealCycleTime": prop(kind.ideal_cycle_s, "SEC"),
                            "status": prop("running"),
                            "location": point(mlon, mlat),
                            "dataProvider": prop(SIMULATOR),
                        }
                    )
                    devices.append(
                        {
                            "device_id": machine.device_id,
                            "apikey": ctx.apikey,
                            "entity_name": machine.entity_id,
                            "entity_type": "ManufacturingMachine",
                            "attributes": DEVICE_ATTRIBUTES,
                            "timestamp": True,
                        }
                    )
        return Setup(entities=entities, devices=devices, rules=_rules(params))

    # -- simulation -------------------------------------------------------------------------

    def step(self, now: datetime, dt: timedelta) -> list[Reading]:
        seconds = dt.total_seconds()
        every = float(self.params["report_seconds"])
        readings = []
        for machine in self.machines:
            self._advance(machine, seconds)
            slot = (now.timestamp() - machine.offset) // every
            last = machine.last_report
            if last is not None and (last.timestamp() - machine.offset) // every == slot:
                continue
            machine.last_report = now
            readings.append(Reading(machine.device_id, self._payload(machine, now)))
        return readings

    def _advance(self, m: Machine, dt: float) -> None:
        """Move one machine on by dt seconds."""
        p, rng = self.params, self.rng
        m.planned_s += dt
        if m.state == "down":
            m.repair_s -= dt
            if m.repair_s <= 0:
                m.state, m.fault, m.fault_s = "running", None, 0.0
        elif m.state == "idle":
            if rng.random() < dt / (float(p["idle_minutes"]) * 60):
                m.state = "running"
        else:
            m.run_s += dt
            m.progress += dt * m.pace / m.kind.ideal_cycle_s
            reject_p = float(p["reject_rate"]) * (5 if m.fault == "vibration" else 1)
            while m.progress >= 1:
                m.progress -= 1
                m.parts += 1
                m.cycle_count += 1
                if rng.random() < reject_p:
                    m.rejects += 1
                    m.reject_count += 1
            if m.fault is None and rng.random() < dt * float(p["fault_rate_per_day"]) / 86400:
                m.fault, m.fault_s = rng.choice(("temperature", "vibration")), 0.0
            if m.fault is not None:
                m.fault_s += dt
            if (m.fault == "temperature" and m.temperature >= float(p["trip_temperature"])) or (
                m.fault == "vibration" and m.fault_s >= VIBRATION_FAULT_S
            ):
                self._break(m)  # the fault trips it
            elif rng.random() < dt / (float(p["breakdown_mtbf_h"]) * 3600):
                self._break(m)  # a random breakdown
            elif rng.random() < dt / (float(p["idle_every_minutes"]) * 60):
                m.state = "idle"
        target = m.kind.temperature_c if m.state == "running" else AMBIENT_C
        if m.state == "running" and m.fault == "temperature":
            target += DRIFT_C_PER_S * m.fault_s
        m.temperature += (target - m.temperature) * (1 - math.exp(-dt / THERMAL_TAU_S))

    def _break(self, m: Machine) -> None:
        m.state = "down"
        m.repair_s = self.rng.expovariate(1 / (float(self.params["repair_minutes"]) * 60))

    def _payload(self, m: Machine, now: datetime) -> dict[str, Any]:
        rng = self.rng
        payload: dict[str, Any] = {
            "s": m.state,
            "t": round(m.temperature + rng.triangular(-0.3, 0.3, 0), 1),
            "cc": m.cycle_count,
            "rc": m.reject_count,
            "n": m.parts,
            "r": m.rejects,
            "rt": round(m.run_s, 1),
            "pt": round(m.planned_s, 1),
            "TimeInstant": iso_time(now.timestamp()),
        }
        if m.state == "running":
            rise = min(1.0, m.fault_s / VIBRATION_RAMP_S) * 1.5 if m.fault == "vibration" else 0
            base = m.kind.vibration * (1 + rise)
            payload["v"] = round(base + rng.triangular(-0.03, 0.03, 0) * m.kind.vibration, 3)
        m.parts = m.rejects = 0
        m.run_s = m.planned_s = 0.0
        return payload

    # -- KPIs -------------------------------------------------------------------------------

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        """OEE and its components per machine, line and factory (see the module docstring)."""
        window = timedelta(minutes=float(self.params["oee_window_minutes"]))
        since = now - window
        sums = {
            attr: _totals(city.aggregate("ManufacturingMachine", attr, "sum", since, now))
            for attr in ("plannedTime", "runTime", "partsProduced", "partsRejected")
        }
        names = {
            e["id"]: str(e.get("name", e["id"]))
            for kind in ("Factory", "ProductionLine")
            for e in city.entities(kind)
        }
        per_machine: dict[str, Oee] = {}
        per_line: dict[str, Oee] = {}
        per_factory: dict[str, Oee] = {}
        total = Oee()
        for machine in city.entities("ManufacturingMachine"):
            ident = machine["id"]
            ideal = machine.get("idealCycleTime")
            if not isinstance(ideal, int | float):
                continue
            parts = sums["partsProduced"].get(ident, 0.0)
            good = parts - sums["partsRejected"].get(ident, 0.0)
            one = Oee(
                sums["plannedTime"].get(ident, 0.0),
                sums["runTime"].get(ident, 0.0),
                ideal * parts,
                ideal * good,
            )
            per_machine[str(machine.get("name", ident))] = one
            line = names.get(str(machine.get("refProductionLine")), "(no line)")
            factory = names.get(str(machine.get("refFactory")), "(no factory)")
            per_line[line] = per_line.get(line, Oee()) + one
            per_factory[factory] = per_factory.get(factory, Oee()) + one
            total = total + one
        minutes = f"{window.total_seconds() / 60:g} minutes"
        down = city.count("ManufacturingMachine", 'status=="down"')
        per = {"factory": per_factory, "line": per_line, "machine": per_machine}
        shown = [
            ("oee", "OEE", "factory"),
            ("oee-line", "OEE per line", "line"),
            ("oee-machine", "OEE per machine", "machine"),
            ("availability", "Availability", "factory"),
            ("performance", "Performance", "factory"),
            ("quality", "Quality", "factory"),
        ]
        found = [_kpi(ident, name, total, per[by], minutes, by) for ident, name, by in shown]
        return [
            *found,
            Kpi(
                "machines-down",
                "Machines down",
                float(down),
                "machines",
                "Machines whose status is down now.",
            ),
        ]


@dataclass(frozen=True, slots=True)
class Oee:
    """OEE as sums of times (seconds): planned, running, net (ideal * parts) and fully
    productive (ideal * good parts); groups add up."""

    planned: float = 0.0
    run: float = 0.0
    net: float = 0.0
    full: float = 0.0

    def __add__(self, other: Oee) -> Oee:
        return Oee(
            self.planned + other.planned,
            self.run + other.run,
            self.net + other.net,
            self.full + other.full,
        )

    @property
    def availability(self) -> float | None:
        return _ratio(self.run, self.planned)

    @property
    def performance(self) -> float | None:
        return _ratio(self.net, self.run)

    @property
    def quality(self) -> float | None:
        return _ratio(self.full, self.net)

    @property
    def oee(self) -> float | None:
        return _ratio(self.full, self.planned)


PACK = ManufacturingPack


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _totals(series: dict[str, list[tuple[datetime, float | None]]]) -> dict[str, float]:
    return {ident: sum(v for _, v in points if v is not None) for ident, points in series.items()}


_WHAT = {
    "oee": "Overall equipment effectiveness (availability * performance * quality)",
    "availability": "Availability (run time / planned production time)",
    "performance": "Performance (ideal cycle time * parts / run time)",
    "quality": "Quality (good parts / parts, weighted by ideal cycle time)",
}


def _kpi(ident: str, name: str, total: Oee, parts: dict[str, Oee], window: str, per: str) -> Kpi:
    component = ident.split("-")[0]
    breakdown: dict[str, float | None] = {
        key: getattr(oee, component) for key, oee in sorted(parts.items())
    }
    return Kpi(
        ident,
        name,
        getattr(total, component),
        "ratio",
        f"{_WHAT[component]} over the last {window}, from the machines' history; "
        f"per {per}, summing times (weighted by planned time).",
        breakdown,
    )
