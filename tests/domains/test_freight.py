"""The freight-corridor pack: its setup, its trains' runs and predictions, its KPIs on
hand-worked data, its delay rules, and its readings landing on entities."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cityos.context.broker import Broker, iso_time
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.domains.base import CityView, Kpi, Reading, SimContext
from cityos.domains.freight import (
    BORDERS,
    CITED_KM,
    DEFAULTS,
    LAST_LEG_H,
    RULES,
    FreightPack,
    Route,
    state,
    timetable,
)
from cityos.governance.districts import Districts
from cityos.ingest.devices import Measure, ingest, parse_device
from cityos.rules.model import compile_rules, load_documents
from cityos.store.sqlite import SQLiteStore
from tests.rules.world import world

RESOLVER = ContextResolver()
NOW = "2026-07-15T01:00:00.000000Z"
START = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)
DISTRICTS = Districts.packaged("chongqing")
TICK = timedelta(minutes=5)


def pack(seed: int = 1, **params: Any) -> tuple[FreightPack, Any]:
    made = FreightPack()
    ctx = SimContext(random.Random(seed), DISTRICTS, START, params, Path("."), "key")
    return made, made.setup(ctx)


def run(made: FreightPack, steps: int, dt: timedelta = TICK) -> list[list[Reading]]:
    now, out = START, []
    for _ in range(steps):
        now += dt
        out.append(made.step(now, dt))
    return out


# -- setup ----------------------------------------------------------------------------------


def test_setup_entities_devices_and_rules_are_valid() -> None:
    _, setup = pack()
    for entity in setup.entities:
        parse_entity(entity, RESOLVER.core, NOW)
    for device in setup.devices:
        parsed = parse_device(device, "", RESOLVER.resolve, NOW)
        assert parsed.entity_type == "Train"
    assert setup.rules is not None
    rules = compile_rules(load_documents(setup.rules), RESOLVER)
    assert [r.id for r in rules] == ["freight-delay-12h", "freight-delay-24h", "freight-delay-48h"]
    types = {e["type"] for e in setup.entities}
    assert types == {"FreightCorridor", "BorderCrossing", "RailwayTerminal"}
    # 21 trains a week from 30 days before the start to 30 days after it
    assert 175 <= len(setup.devices) <= 183


def test_route_length_against_the_cited_11179_km(capsys: pytest.CaptureFixture[str]) -> None:
    route = Route()
    difference = route.geodesic_km - CITED_KM
    with capsys.disabled():
        print(
            f"\nroute polyline {route.geodesic_km:,.0f} km (great circle) vs cited "
            f"{CITED_KM:,.0f} km: {difference:+,.0f} km ({difference / CITED_KM:+.1%})"
        )
    # a chord between junctions is shorter than the track, but not wildly so
    assert -0.25 < difference / CITED_KM < 0
    assert route.km[-1] == pytest.approx(CITED_KM)
    assert route.position(0) == (106.33, 29.63)
    assert route.position(CITED_KM) == (6.72, 51.4)
    origin = DISTRICTS.locate(*route.position(0))
    assert origin is not None and origin.name == "Shapingba"


def test_border_crossings_and_the_two_breaks_of_gauge() -> None:
    _, setup = pack()
    borders = [e for e in setup.entities if e["type"] == "BorderCrossing"]
    assert [tuple(b["countries"]["value"]) for b in borders] == [
        ("CN", "KZ"),
        ("KZ", "RU"),
        ("RU", "BY"),
        ("BY", "PL"),
        ("PL", "DE"),
    ]
    gauges = {b["name"]["value"]: b["gaugeChange"]["value"] for b in borders if "gaugeChange" in b}
    assert gauges == {
        "Alashankou-Dostyk": {"from": 1435, "to": 1520, "at": "Dostyk"},
        "Brest-Małaszewicze": {"from": 1520, "to": 1435, "at": "Małaszewicze"},
    }
    distances = [b["distanceFromOrigin"]["value"] for b in borders]
    assert distances == sorted(distances)


def test_the_timetable_takes_16_days_with_25_hours_for_the_last_leg() -> None:
    plan = timetable(Route(), DEFAULTS)
    assert plan.duration_s == pytest.approx(16 * 86400)
    last_dwell = max(i for i, p in enumerate(plan.phases) if not p.moving)
    assert plan.phases[last_dwell].border is BORDERS[3]
    assert plan.phases[-1].end - plan.phases[last_dwell].end == pytest.approx(LAST_LEG_H * 3600)
    assert plan.dwell_h == {
        "alashankou-dostyk": 8.0,
        "kazakhstan-russia": 2.0,
        "russia-belarus": 2.0,
        "brest-malaszewicze": 8.0,
    }


# -- simulation -----------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_trains() -> None:
    first, _ = pack(5)
    second, _ = pack(5)
    other, _ = pack(6)
    a, b, c = run(first, 50), run(second, 50), run(other, 50)
    assert a == b
    assert a != c


def test_readings_stay_within_physical_bounds() -> None:
    made, setup = pack()
    keys = {a["object_id"] for a in setup.devices[0]["attributes"]} | {"TimeInstant"}
    seen: set[str] = set()
    for readings in run(made, 3 * 24 * 12):  # three days
        for reading in readings:
            p = reading.payload
            assert set(p) <= keys
            assert p["st"] in ("departed", "atBorder", "gaugeChange", "arrived")
            assert 0 <= p["km"] <= CITED_KM
            assert 0 <= p["v"] <= 80  # km/h: slow main line, faster last leg
            assert -48 < p["dl"] < 200
            lon, lat = p["loc"]
            assert 6.7 <= lon <= 109.1 and 29.6 <= lat <= 56.9
            seen.add(p["st"])
    assert seen == {"departed", "atBorder", "gaugeChange", "arrived"}


def test_a_train_on_time_runs_through_every_state_in_order() -> None:
    made, _ = pack(hold_probability=0.0, speed_sd=0.0, warm_days=0.0, horizon_days=0.5)
    train = made.trains[0]
    statuses: list[str] = []
    now = train.departure
    while not train.done:
        now += timedelta(minutes=10)
        for reading in made.step(now, timedelta(minutes=10)):
            if reading.device_id != train.device_id:
                continue
            p = reading.payload
            assert p["dl"] == pytest.approx(0, abs=0.01)
            if not statuses or statuses[-1] != p["st"]:
                statuses.append(p["st"])
    assert statuses == [
        "departed",
        "gaugeChange",
        "departed",
        "atBorder",
        "departed",
        "atBorder",
        "departed",
        "gaugeChange",
        "departed",
        "arrived",
    ]
    assert train.arrival - train.departure == timedelta(days=16)


def test_a_hold_at_the_border_shows_as_predicted_delay() -> None:
    route = Route()
    plan = timetable(route, DEFAULTS)
    hold = 20 * 3600.0
    run_: list[Any] = []
    shift = 0.0
    for phase in plan.phases:
        extra = hold if phase.border is BORDERS[0] else 0.0
        run_.append(replace(phase, start=phase.start + shift, end=phase.end + shift + extra))
        shift += extra
    dostyk = next(p for p in run_ if p.border is BORDERS[0])
    departure = START

    def delay_after(hours_at_border: float) -> float:
        now = departure + timedelta(seconds=dostyk.start + hours_at_border * 3600)
        return state(plan, run_, departure, now, 6.0).delay_h

    assert delay_after(4) == pytest.approx(0)  # within the scheduled 8 h dwell
    assert delay_after(10) == pytest.approx(2)
    assert delay_after(20) == pytest.approx(12)
    assert delay_after(40) == pytest.approx(20)  # moving again, 20 h behind
    at_dostyk = state(plan, run_, departure, departure + timedelta(seconds=dostyk.start + 60), 6)
    assert at_dostyk.status == "gaugeChange" and at_dostyk.speed == 0


# -- KPIs -----------------------------------------------------------------------------------


def train(number: int, departed: str, teu: int, status: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Train:t{number}",
        "type": "Train",
        "departureDate": {"type": "Property", "value": departed},
        "teu": {"type": "Property", "value": teu},
        "status": {"type": "Property", "value": status},
    }
    for name, value in extra.items():
        body[name] = {"type": "Property", "value": value}
    return body


def kpis_of(entities: list[dict[str, Any]], now: datetime, tmp_path: Path) -> dict[str, Kpi]:
    store = SQLiteStore(tmp_path / "data", synchronous="OFF")
    try:
        broker = Broker(store)
        for body in entities:
            broker.create("", parse_entity(body, RESOLVER.core, NOW))
        return {k.id: k for k in FreightPack().kpis(CityView(broker), now)}
    finally:
        store.close()


def test_kpis_on_hand_worked_trains(tmp_path: Path) -> None:
    entities = [
        # June: 16 days, on time
        train(1, "2026-06-03T02:00:00Z", 80, "arrived", arrivedAt="2026-06-19T02:00:00Z",
              scheduledArrival="2026-06-19T02:00:00Z"),
        # June: 17.5 days, 1.5 days after its scheduled arrival: late
        train(2, "2026-06-10T00:00:00Z", 90, "arrived", arrivedAt="2026-06-27T12:00:00Z",
              scheduledArrival="2026-06-26T00:00:00Z"),
        # 30 June 20:00 UTC is 1 July 04:00 in Chongqing: a July departure, 13 h late
        train(3, "2026-06-30T20:00:00Z", 85, "departed", delay=13.0),
        train(4, "2026-07-05T00:00:00Z", 100, "gaugeChange", delay=2.0),
    ]  # fmt: skip
    found = kpis_of(entities, datetime(2026, 7, 10, tzinfo=UTC), tmp_path)
    assert found["trains-per-month"].value == 2
    assert found["trains-per-month"].breakdown == {"2026-06": 2, "2026-07": 2}
    assert found["teu-per-month"].value == 185
    assert found["teu-per-month"].breakdown == {"2026-06": 170, "2026-07": 185}
    assert found["transit-days"].value == pytest.approx((16 + 17.5) / 2)
    assert found["on-time-share"].value == 50.0
    assert found["trains-on-corridor"].value == 2
    assert found["trains-delayed"].value == 1


def test_kpis_without_arrivals_are_none(tmp_path: Path) -> None:
    found = kpis_of(
        [train(1, "2026-07-05T00:00:00Z", 80, "departed")], datetime(2026, 7, 10, tzinfo=UTC),
        tmp_path,
    )  # fmt: skip
    assert found["transit-days"].value is None
    assert found["on-time-share"].value is None
    assert found["trains-on-corridor"].value == 1


def test_readings_land_on_train_entities_and_feed_the_kpis(tmp_path: Path) -> None:
    made, setup = pack()
    devices = {d["device_id"]: parse_device(d, "", RESOLVER.resolve, NOW) for d in setup.devices}
    store = SQLiteStore(tmp_path / "data", synchronous="OFF")
    try:
        broker = Broker(store)
        for body in setup.entities:
            broker.create("", parse_entity(body, RESOLVER.core, NOW))
        now = START + TICK
        readings = made.step(now, TICK)
        measures = [Measure(devices[r.device_id], r.payload) for r in readings]
        assert ingest(broker, RESOLVER.resolve, measures, iso_time(now.timestamp()), atomic=True)
        view = CityView(broker)
        trains = view.entities("Train")
        assert len(trains) == len(readings)
        one = trains[0]
        assert one["dataProvider"] == "cityos simulator"
        assert one["location"]["type"] == "Point"
        found = {k.id: k for k in made.kpis(view, now)}
        running = sum(r.payload["st"] != "arrived" for r in readings)
        assert found["trains-on-corridor"].value == running
        assert found["transit-days"].value is not None
        assert 15 < found["transit-days"].value < 19
    finally:
        store.close()


# -- rules ----------------------------------------------------------------------------------


def test_a_train_predicted_late_opens_freight_delay_cases_by_priority(tmp_path: Path) -> None:
    with world(tmp_path / "data") as w:
        w.rules(RULES)
        body = train(9, "2026-07-01T00:00:00Z", 84, "departed", delay=3.0)
        body["location"] = {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [75.0, 49.0]},
        }
        w.create(body)
        w.merge(body["id"], delay=13.5)
        w.later(20 * 60)
        assert w.cases.reports == []  # not yet held for 30 minutes
        w.later(11 * 60)
        assert [(r.category, r.priority) for _, r in w.cases.reports] == [
            ("freight-delay", "normal")
        ]
        assert "13.5 h late" in (w.cases.reports[0][1].description or "")
        w.merge(body["id"], delay=30.0)
        w.later(31 * 60)
        assert [r.priority for _, r in w.cases.reports] == ["normal", "high"]
        w.merge(body["id"], status="arrived")
        w.merge(body["id"], delay=60.0)
        w.later(31 * 60)
        assert len(w.cases.reports) == 2  # an arrived train opens nothing more
