"""The manufacturing pack: setup, machine simulation, OEE from history on hand-worked
series, and the machine-fault rules."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cityos.context.broker import Broker, iso_time
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.domains.base import CityView, Kpi, Reading, SimContext
from cityos.domains.manufacturing import DEFAULTS, DEVICE_ATTRIBUTES, ManufacturingPack, _rules
from cityos.governance.districts import Districts
from cityos.ingest.devices import Measure, ingest, parse_device
from cityos.rules.model import compile_rules, load_documents
from cityos.store.sqlite import SQLiteStore
from tests.rules.world import world

RESOLVER = ContextResolver()
NOW = "2026-07-15T01:00:00.000000Z"
START = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)
DISTRICTS = Districts.packaged("chongqing")
TICK = timedelta(seconds=10)


def pack(seed: int = 1, **params: Any) -> tuple[ManufacturingPack, Any]:
    made = ManufacturingPack()
    ctx = SimContext(random.Random(seed), DISTRICTS, START, params, Path("."), "key")
    return made, made.setup(ctx)


def run(made: ManufacturingPack, steps: int) -> list[list[Reading]]:
    now, out = START, []
    for _ in range(steps):
        now += TICK
        out.append(made.step(now, TICK))
    return out


# -- setup ----------------------------------------------------------------------------------


def test_setup_entities_devices_and_rules_are_valid() -> None:
    _, setup = pack()
    for entity in setup.entities:
        parse_entity(entity, RESOLVER.core, NOW)
    for device in setup.devices:
        parse_device(device, "", RESOLVER.resolve, NOW)
    assert setup.rules is not None
    rules = compile_rules(load_documents(setup.rules), RESOLVER)
    assert [r.id for r in rules] == ["machine-overheat", "machine-vibration", "machine-down"]
    count = defaultdict(int)
    for entity in setup.entities:
        count[entity["type"]] += 1
    assert count == {"Factory": 3, "ProductionLine": 6, "ManufacturingMachine": 18}
    assert len(setup.devices) == 18


def test_factories_stand_in_their_districts() -> None:
    _, setup = pack()
    found = {}
    for entity in setup.entities:
        if entity["type"] == "Factory":
            district = DISTRICTS.locate(*entity["location"]["value"]["coordinates"])
            assert district is not None
            assert entity["refDistrict"]["object"] == f"urn:ngsi-ld:District:{district.code}"
            found[entity["industry"]["value"], district.name] = entity["name"]["value"]
    assert set(found) == {
        ("automotive", "Yubei"),
        ("electronics", "Shapingba"),
        ("automotive", "Jiangbei"),
    }
    assert all("(simulated)" in name for name in found.values())


# -- simulation -----------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_machines() -> None:
    a, b, c = pack(3)[0], pack(3)[0], pack(4)[0]
    first, second, other = run(a, 200), run(b, 200), run(c, 200)
    assert first == second
    assert first != other


def test_readings_are_physical_and_counters_consistent() -> None:
    made, _ = pack(fault_rate_per_day=6.0)
    last_count: dict[str, int] = {}
    statuses = set()
    total = 0
    for readings in run(made, 6 * 60 * 6):  # six hours
        total += len(readings)
        for reading in readings:
            p = reading.payload
            statuses.add(p["s"])
            assert p["s"] in ("running", "idle", "down")
            assert 20 <= p["t"] <= 95
            assert ("v" in p) == (p["s"] == "running")
            if "v" in p:
                assert 0 < p["v"] < 11
            assert 0 <= p["r"] <= p["n"]
            assert 0 <= p["rt"] <= p["pt"] <= 20
            assert p["cc"] >= last_count.get(reading.device_id, 0) + p["n"]
            assert p["rc"] <= p["cc"]
            last_count[reading.device_id] = p["cc"]
    assert statuses == {"running", "idle", "down"}
    # 18 machines every 12 s: 90 readings a simulated minute
    assert total / (6 * 60) == pytest.approx(90, rel=0.01)


def test_a_temperature_drift_trips_the_machine_which_is_repaired() -> None:
    made, _ = pack(breakdown_mtbf_h=1e9, idle_every_minutes=1e9, fault_rate_per_day=0.0)
    machine = made.machines[0]
    machine.fault = "temperature"
    over_limit = 0.0
    seen: list[str] = []
    now = START
    for _ in range(6 * 60 * 4):
        now += TICK
        made.step(now, TICK)
        if not seen or seen[-1] != machine.state:
            seen.append(machine.state)
        if machine.state == "running" and machine.temperature > DEFAULTS["temperature_limit"]:
            over_limit += TICK.total_seconds()
    assert seen[:3] == ["running", "down", "running"]
    assert over_limit >= 5 * 60  # long enough for the overheat rule
    assert machine.fault is None
    assert machine.temperature < DEFAULTS["temperature_limit"]


def test_a_vibration_fault_rises_well_beyond_the_noise() -> None:
    made, _ = pack(breakdown_mtbf_h=1e9, idle_every_minutes=1e9, fault_rate_per_day=0.0)
    machine = made.machines[0]
    values = [
        r.payload["v"] for step in run(made, 360) for r in step if r.device_id == machine.device_id
    ]
    healthy = max(abs(v - machine.kind.vibration) for v in values)
    assert healthy <= 0.03 * machine.kind.vibration + 1e-9  # bounded noise
    machine.fault = "vibration"
    later = [
        r.payload["v"] for step in run(made, 90) for r in step if r.device_id == machine.device_id
    ]
    assert max(later) > 2 * machine.kind.vibration


# -- OEE ------------------------------------------------------------------------------------


def oee_world(tmp_path: Path) -> tuple[SQLiteStore, Broker, datetime]:
    """Two machines on one line of one factory, an hour of one-minute readings each:

    M1: planned 60 min, running 45 min, ideal cycle 30 s, 80 parts, 4 rejects.
    M2: planned 60 min, running 60 min, ideal cycle 20 s, 150 parts, no reject.
    """
    store = SQLiteStore(tmp_path / "data", synchronous="OFF")
    broker = Broker(store)
    f, line = "urn:ngsi-ld:Factory:f", "urn:ngsi-ld:ProductionLine:f-l1"
    bodies = [
        {"id": f, "type": "Factory", "name": {"type": "Property", "value": "F"}},
        {"id": line, "type": "ProductionLine", "name": {"type": "Property", "value": "F: L1"},
         "refFactory": {"type": "Relationship", "object": f}},
    ]  # fmt: skip
    for number, ideal in ((1, 30.0), (2, 20.0)):
        bodies.append(
            {
                "id": f"urn:ngsi-ld:ManufacturingMachine:m{number}",
                "type": "ManufacturingMachine",
                "name": {"type": "Property", "value": f"M{number}"},
                "idealCycleTime": {"type": "Property", "value": ideal, "unitCode": "SEC"},
                "refFactory": {"type": "Relationship", "object": f},
                "refProductionLine": {"type": "Relationship", "object": line},
            }
        )
    for body in bodies:
        broker.create("", parse_entity(body, RESOLVER.core, NOW))
    now = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)
    devices = [
        parse_device(
            {
                "device_id": f"m{n}",
                "entity_name": f"urn:ngsi-ld:ManufacturingMachine:m{n}",
                "entity_type": "ManufacturingMachine",
                "attributes": DEVICE_ATTRIBUTES,
                "timestamp": True,
            },
            "",
            RESOLVER.resolve,
            NOW,
        )
        for n in (1, 2)
    ]
    measures = []
    for minute in range(60):
        at = iso_time((now - timedelta(minutes=60 - minute)).timestamp())
        m1_running = minute < 45
        measures.append(
            Measure(
                devices[0],
                {
                    "s": "running" if m1_running else "down",
                    "n": (2 if minute < 35 else 1) if m1_running else 0,  # 70 + 10 = 80
                    "r": 1 if minute in (3, 13, 23, 33) else 0,
                    "rt": 60 if m1_running else 0,
                    "pt": 60,
                    "TimeInstant": at,
                },
            )
        )
        measures.append(
            Measure(
                devices[1],
                {
                    "s": "running",
                    "n": 3 if minute < 30 else 2,
                    "r": 0,
                    "rt": 60,
                    "pt": 60,
                    "TimeInstant": at,
                },
            )
        )
    # a reading older than the window does not count
    old = iso_time((now - timedelta(minutes=90)).timestamp())
    measures.append(Measure(devices[0], {"n": 500, "rt": 60, "pt": 60, "TimeInstant": old}))
    ingest(broker, RESOLVER.resolve, measures, NOW, atomic=True)
    return store, broker, now


def test_oee_per_machine_line_and_factory_on_hand_worked_series(tmp_path: Path) -> None:
    store, broker, now = oee_world(tmp_path)
    try:
        found: dict[str, Kpi] = {k.id: k for k in ManufacturingPack().kpis(CityView(broker), now)}
    finally:
        store.close()
    machines = found["oee-machine"].breakdown
    # M1: A 45/60 = 0.75, P 30*80/2700 = 0.8889, Q 76/80 = 0.95, OEE 0.6333
    assert machines["M1"] == pytest.approx(0.75 * (30 * 80 / 2700) * 0.95, abs=1e-4)
    assert machines["M1"] == pytest.approx(0.6333, abs=1e-4)
    # M2: A 1, P 20*150/3600 = 0.8333, Q 1
    assert machines["M2"] == pytest.approx(0.8333, abs=1e-4)
    # the line and factory: (30*76 + 20*150) / 7200 = 5280/7200, the planned-weighted mean
    assert found["oee-line"].breakdown == {"F: L1": pytest.approx(5280 / 7200, abs=1e-4)}
    assert found["oee"].breakdown == {"F": pytest.approx(0.7333, abs=1e-4)}
    assert found["oee"].value == pytest.approx((0.6333 + 0.8333) / 2, abs=1e-3)
    assert found["availability"].value == pytest.approx(6300 / 7200, abs=1e-4)
    assert found["performance"].value == pytest.approx(5400 / 6300, abs=1e-4)
    assert found["quality"].value == pytest.approx(5280 / 5400, abs=1e-4)
    a, p, q = (found[k].value for k in ("availability", "performance", "quality"))
    assert a is not None and p is not None and q is not None
    assert a * p * q == pytest.approx(found["oee"].value, abs=1e-3)
    assert found["machines-down"].value == 1  # M1's last reading


def test_oee_without_history_is_none(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "data", synchronous="OFF")
    try:
        found = {k.id: k for k in ManufacturingPack().kpis(CityView(Broker(store)), START)}
    finally:
        store.close()
    assert found["oee"].value is None
    assert found["oee"].breakdown == {}


def test_simulated_readings_give_a_plausible_oee(tmp_path: Path) -> None:
    made, setup = pack()
    devices = {d["device_id"]: parse_device(d, "", RESOLVER.resolve, NOW) for d in setup.devices}
    store = SQLiteStore(tmp_path / "data", synchronous="OFF")
    try:
        broker = Broker(store)
        for body in setup.entities:
            broker.create("", parse_entity(body, RESOLVER.core, NOW))
        now = START
        for _ in range(6 * 30):  # half an hour
            now += TICK
            measures = [Measure(devices[r.device_id], r.payload) for r in made.step(now, TICK)]
            ingest(broker, RESOLVER.resolve, measures, NOW, atomic=True)
        found = {k.id: k for k in made.kpis(CityView(broker), now + TICK)}
    finally:
        store.close()
    assert len(found["oee-machine"].breakdown) == 18
    assert len(found["oee"].breakdown) == 3
    oee = found["oee"].value
    assert oee is not None and 0.5 < oee < 0.97


# -- rules ----------------------------------------------------------------------------------


def machine(**attrs: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "urn:ngsi-ld:ManufacturingMachine:x",
        "type": "ManufacturingMachine",
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [106.6, 29.7]},
        },
    }
    for name, value in attrs.items():
        body[name] = {"type": "Property", "value": value}
    return body


def test_overheating_for_five_minutes_opens_a_machine_fault_case(tmp_path: Path) -> None:
    with world(tmp_path / "data") as w:
        w.rules(_rules(DEFAULTS))
        w.create(machine(status="running", temperature=55.0))
        w.merge("urn:ngsi-ld:ManufacturingMachine:x", temperature=81.2)
        w.later(4 * 60)
        assert w.cases.reports == []
        w.later(61)
        [(_, report)] = w.cases.reports
        assert (report.category, report.priority) == ("machine-fault", "high")
        assert "81.2" in (report.description or "")


def test_vibration_off_its_baseline_opens_a_machine_fault_case(tmp_path: Path) -> None:
    with world(tmp_path / "data") as w:
        w.rules(_rules(DEFAULTS))
        w.create(machine(status="running", vibration=2.0))
        for i in range(40):
            w.clock.now += 12
            w.merge("urn:ngsi-ld:ManufacturingMachine:x", vibration=2.0 + 0.05 * (i % 3 - 1))
        assert w.cases.reports == []
        w.clock.now += 12
        w.merge("urn:ngsi-ld:ManufacturingMachine:x", vibration=3.0)
        [(_, report)] = w.cases.reports
        assert (report.category, report.priority) == ("machine-fault", "high")


def test_a_machine_down_for_fifteen_minutes_raises_an_alert(tmp_path: Path) -> None:
    with world(tmp_path / "data") as w:
        w.rules(_rules(DEFAULTS))
        w.create(machine(status="running"))
        w.merge("urn:ngsi-ld:ManufacturingMachine:x", status="down")
        w.later(14 * 60)
        view = CityView(w.broker)
        assert view.count("Alert") == 0
        w.later(61)
        [alert] = view.entities("Alert")
        assert alert["severity"] == "high"
        assert alert["alertSource"] == "urn:ngsi-ld:ManufacturingMachine:x"
