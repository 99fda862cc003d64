"""Education pack: setup valid and plausible, school days and terms, KPIs by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely

from cityos.context.broker import iso_time
from cityos.domains.base import Reading, Setup
from cityos.domains.common import SIMULATOR
from cityos.domains.education import SCHOOL, EducationPack
from tests.domains.packcity import CHONGQING, check_setup, context, pack_city

CST = timedelta(hours=8)
MONDAY = datetime(2030, 10, 7, tzinfo=UTC) - CST  # Monday 7 October 2030, 00:00 local
TICK = timedelta(seconds=10)


def run(pack: EducationPack, start: datetime, span: timedelta, tick: timedelta = TICK) -> list[Any]:
    out: list[tuple[datetime, Reading]] = []
    now = start
    while now < start + span:
        now += tick
        out.extend((now, reading) for reading in pack.step(now, tick))
    return out


def test_setup_is_valid_and_plausible() -> None:
    pack = EducationPack()
    setup = pack.setup(context(MONDAY))
    devices, rules = check_setup(setup)
    assert len(setup.entities) == len(devices) == 4 * len(CHONGQING)
    assert [r.id for r in rules] == ["edu-attendance-low"]
    kinds = Counter(e["schoolType"]["value"] for e in setup.entities)
    assert kinds == {
        "primary": 2 * len(CHONGQING),
        "middle": len(CHONGQING),
        "high": len(CHONGQING),
    }
    for entity in setup.entities:
        assert entity["type"] == SCHOOL
        assert entity["dataProvider"]["value"] == SIMULATOR
        assert "(simulated)" in entity["name"]["value"]
        enrolment, teachers = entity["enrolment"]["value"], entity["teachers"]["value"]
        assert 300 <= enrolment <= entity["capacity"]["value"] <= 3600
        assert 12 <= enrolment / teachers <= 20
        district = CHONGQING.find(entity["district"]["value"])
        lon, lat = entity["location"]["value"]["coordinates"]
        assert district is not None and shapely.intersects_xy(district.geometry, lon, lat)


def test_attendance_once_per_school_day_within_the_window() -> None:
    pack = EducationPack()
    pack.setup(context(MONDAY, {"districts": ["Yuzhong", "Beibei"]}))
    week = run(pack, MONDAY, timedelta(days=7), timedelta(minutes=1))
    per_day = Counter((now + CST).date() for now, _ in week)
    assert per_day == {date(2030, 10, d): 8 for d in range(7, 12)}  # Mon-Fri, none at weekends
    for now, reading in week:
        local = now + CST
        assert 8 <= local.hour < 9 or (local.hour, local.minute) == (9, 0)
        assert 0.8 <= reading.payload["r"] <= 1.0
        assert reading.payload["p"] > 0


def test_a_run_is_deterministic_for_a_seed() -> None:
    def readings(seed: int) -> list[Any]:
        pack = EducationPack()
        pack.setup(context(MONDAY, {"districts": ["Yuzhong"]}, seed=seed))
        return run(pack, MONDAY, timedelta(days=1), timedelta(minutes=1))

    assert readings(5) == readings(5)
    assert readings(5) != readings(6)


def test_enrolment_changes_at_term_start_and_not_in_the_holidays() -> None:
    pack = EducationPack()
    setup = pack.setup(context(datetime(2030, 8, 30, tzinfo=UTC), {"districts": ["Yuzhong"]}))
    before = {e["id"]: e for e in setup.entities}
    readings = run(
        pack, datetime(2030, 8, 30, tzinfo=UTC), timedelta(days=3, hours=12), timedelta(minutes=5)
    )
    term = [r for _, r in readings if "e" in r.payload]
    assert len(term) == len(before)  # once, on 1 September (local)
    for reading in term:
        entity = before[f"urn:ngsi-ld:School:{reading.device_id.removeprefix('edu-')}"]
        old = entity["enrolment"]["value"]
        assert abs(reading.payload["e"] - old) <= 0.05 * old + 1
        assert reading.payload["e"] <= entity["capacity"]["value"]
    # 30-31 August: holidays; 1 September 2030 is a Sunday: no lessons, 2 September is a Monday
    attendance = [now + CST for now, r in readings if "p" in r.payload]
    assert {moment.date() for moment in attendance} == {date(2030, 9, 2)}


def test_school_days() -> None:
    pack = EducationPack()
    assert pack.school_day(date(2031, 1, 15))  # a Wednesday at the end of the autumn term
    assert not pack.school_day(date(2031, 1, 16))
    assert not pack.school_day(date(2030, 10, 12))  # Saturday
    assert pack.term_starts(date(2031, 3, 1))
    assert not pack.school_day(date(2030, 7, 20))


# -- KPIs on a real broker -----------------------------------------------------------------


def school(key: str, district: str, capacity: int, enrolment: int, teachers: int) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:School:{key}",
        "type": SCHOOL,
        "district": {"type": "Property", "value": district},
        "capacity": {"type": "Property", "value": capacity},
        "enrolment": {"type": "Property", "value": enrolment},
        "teachers": {"type": "Property", "value": teachers},
    }


def device(key: str) -> dict[str, Any]:
    return {
        "device_id": key,
        "entity_name": f"urn:ngsi-ld:School:{key}",
        "entity_type": SCHOOL,
        "timestamp": True,
        "attributes": [{"object_id": "p", "name": "studentsPresent", "type": "Number"}],
    }


def test_kpis_from_what_the_broker_holds(tmp_path: Path) -> None:
    setup = Setup(
        entities=[
            school("a", "Yuzhong", 1000, 900, 60),
            school("b", "Yuzhong", 2000, 1500, 100),
            school("c", "Beibei", 1200, 1200, 75),
        ],
        devices=[device("a"), device("b"), device("c")],
    )
    today = datetime(2030, 10, 8, tzinfo=UTC) - CST  # local midnight
    now = today + timedelta(hours=10)

    def present(key: str, count: int, at: datetime) -> Reading:
        return Reading(key, {"p": count, "TimeInstant": iso_time(at.timestamp())})

    with pack_city(tmp_path, setup) as city:
        city.publish([present("c", 1000, today - timedelta(hours=15))])  # yesterday: ignored
        city.publish([present("a", 855, today + timedelta(hours=8)),
                      present("b", 1470, today + timedelta(hours=8, minutes=30))])  # fmt: skip
        kpis = {k.id: k for k in EducationPack().kpis(city.view, now)}

    ratio = kpis["students-per-teacher"]
    assert ratio.value == pytest.approx(15.3)  # (900 + 1500 + 1200) / (60 + 100 + 75) = 15.32
    assert ratio.breakdown == {"Beibei": 16.0, "Yuzhong": 15.0}  # 1200/75; 2400/160
    used = kpis["school-capacity-utilisation"]
    assert used.value == pytest.approx(85.7)  # 3600 / 4200
    assert used.breakdown == {"Beibei": 100.0, "Yuzhong": 80.0}
    attendance = kpis["attendance-today"]
    assert attendance.value == pytest.approx(96.9)  # (855 + 1470) / (900 + 1500) = 0.96875
    assert attendance.breakdown == {"Beibei": None, "Yuzhong": 96.9}


def test_low_attendance_raises_an_alert(tmp_path: Path) -> None:
    from cityos.domains.base import CityView
    from tests.rules.world import world

    pack = EducationPack()
    setup = pack.setup(context(MONDAY, {"districts": ["Yuzhong"]}))
    with world(tmp_path) as w:
        w.rules(setup.rules or "")
        w.create(setup.entities[0])
        w.merge(setup.entities[0]["id"], attendanceRate=0.97)
        assert CityView(w.broker).count("Alert") == 0
        w.merge(setup.entities[0]["id"], attendanceRate=0.82)
        w.later(1)
        assert CityView(w.broker).count("Alert") == 1
        assert w.cases.reports == []
