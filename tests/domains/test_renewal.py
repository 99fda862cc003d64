"""Renewal pack: setup valid and consistent, projects advancing day by day and renewing
their buildings, the condition rule opening cases, KPIs by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely

from cityos.domains.base import Reading
from cityos.domains.common import SIMULATOR, point, prop
from cityos.domains.renewal import (
    BUILDING,
    COMMUNITY,
    PROJECT,
    RenewalPack,
    planned_progress,
)
from cityos.governance.config import load_config
from cityos.governance.model import Actor, Report, Source
from cityos.governance.service import CaseService
from tests.domains.packcity import CHONGQING, check_setup, context, pack_city
from tests.rules.world import world

TICK = timedelta(seconds=10)
CST = timedelta(hours=8)
START = datetime(2030, 7, 15, 1, tzinfo=UTC)  # 09:00 in Chongqing
OPERATOR = Actor("op", frozenset({"admin"}))
CENTRAL = {"Yuzhong", "Jiangbei", "Shapingba", "Jiulongpo", "Nan'an", "Dadukou"}


def days(pack: RenewalPack, count: int, start: datetime = START) -> list[list[Reading]]:
    """The readings of each tick that had any, over `count` days at an hourly tick."""
    out = []
    now = start
    for _ in range(count * 24):
        now += timedelta(hours=1)
        readings = pack.step(now, timedelta(hours=1))
        if readings:
            out.append(readings)
    return out


def test_setup_is_valid_and_consistent() -> None:
    pack = RenewalPack()
    setup = pack.setup(context(START))
    devices, rules = check_setup(setup)
    kinds = Counter(e["type"] for e in setup.entities)
    assert kinds[COMMUNITY] == 12 and 12 * 4 + 12 <= kinds[BUILDING] <= 12 * 8 + 12
    assert len(devices) == kinds[BUILDING] + kinds[PROJECT]
    assert {r.id for r in rules} == {"renewal-poor-condition", "renewal-structural-risk"}
    by_id = {e["id"]: e for e in setup.entities}
    for entity in setup.entities:
        assert entity["dataProvider"]["value"] == SIMULATOR
        assert "imulated" in entity["name"]["value"] + entity["description"]["value"]
        assert entity["district"]["value"] in CENTRAL
        district = CHONGQING.find(entity["district"]["value"])
        lon, lat = entity["location"]["value"]["coordinates"]
        assert district is not None and shapely.intersects_xy(district.geometry, lon, lat)
    buildings = [e for e in setup.entities if e["type"] == BUILDING]
    for building in buildings:
        assert building["category"]["value"] == ["residential"]
        assert 1975 <= building["yearBuilt"]["value"] <= 2000
        assert 0 <= building["conditionScore"]["value"] <= 100
    assert sum("refCommunity" not in b for b in buildings) == 12  # 2 standalone a district
    for project in (e for e in setup.entities if e["type"] == PROJECT):
        members = project["refBuildings"]["object"]
        assert members and all(
            by_id[m]["refRenewalProject"]["object"] == project["id"] for m in members
        )
        statuses = {by_id[m]["renewalStatus"]["value"] for m in members}
        expected = {"completed": "renewed", "ongoing": "inRenewal", "planned": "awaiting"}
        assert statuses == {expected[project["status"]["value"]]}
        assert project["budget"]["value"] > 0 and 0 <= project["progress"]["value"] <= 100
        assert [m["name"] for m in project["milestones"]["value"]][-1] == "acceptance"


def test_a_run_is_deterministic_and_reports_once_a_day() -> None:
    first, second, other = RenewalPack(), RenewalPack(), RenewalPack()
    for pack, seed in ((first, 1), (second, 1), (other, 2)):
        pack.setup(context(START, seed=seed))
    runs = [days(p, 20) for p in (first, second, other)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    # the first tick, then each local midnight (16:00 UTC), stamped at the local midnight
    assert len(runs[0]) == 21
    devices = len(first.buildings) + len(first.projects)
    for readings in runs[0]:
        assert len(readings) == devices
        stamps = {r.payload["TimeInstant"] for r in readings}
        assert len(stamps) == 1 and stamps.pop().endswith("T16:00:00.000000Z")


def test_projects_advance_slip_and_renew_their_buildings() -> None:
    pack = RenewalPack()
    pack.setup(context(START, {"slip_per_day": 0.05, "damage_per_year": 0}, seed=3))
    previous: dict[str, tuple[float, float]] = {}
    statuses: set[str] = set()
    for readings in days(pack, 600):
        for reading in readings:
            payload = reading.payload
            if reading.device_id.startswith("renewal-project-"):
                progress, spent = payload["pg"], payload["sp"]
                assert 0 <= progress <= 100
                last = previous.get(reading.device_id, (0.0, 0.0))
                assert progress >= last[0] and spent >= last[1]
                previous[reading.device_id] = (progress, spent)
                statuses.add(payload["st"])
                done = [m["done"] for m in payload["ms"]]
                assert done == sorted(done, reverse=True)  # milestones in order
            else:
                assert 0 <= payload["cs"] <= 100
    assert {"ongoing", "suspended", "completed"} <= statuses
    # after 600 days every project is done and its buildings renewed and sound
    assert all(p.status == "completed" and p.progress == 100 for p in pack.projects)
    for building in pack.buildings:
        if building.project is not None:
            assert building.status == "renewed" and building.safety == "sound"
        else:
            assert building.status == "awaiting"


def test_a_planned_project_starts_on_its_start_date() -> None:
    pack = RenewalPack()
    pack.setup(context(START, {"project_mix": {"planned": 1.0}}))
    first = min(p.start for p in pack.projects)
    today = START.astimezone(pack.tz).date()
    days(pack, (first - today).days - 1)
    assert all(p.status == "planned" for p in pack.projects)
    days(pack, 2, start=START + timedelta(days=(first - today).days - 1))
    started = [p for p in pack.projects if p.start == first]
    assert all(p.status in ("ongoing", "suspended") for p in started)
    assert all(pack.buildings[i].status == "inRenewal" for p in started for i in p.buildings)


def test_the_poor_condition_rule_opens_a_case(tmp_path: Path) -> None:
    pack = RenewalPack()
    setup = pack.setup(context(START))
    building = next(e for e in setup.entities if e["type"] == BUILDING)
    with world(tmp_path) as w:
        w.rules(setup.rules or "")
        w.create({**building, "conditionScore": prop(55.0), "structuralSafety": prop("sound")})
        w.merge(building["id"], conditionScore=38.5)
        w.later(1)
        assert len(w.cases.reports) == 1
        _, report = w.cases.reports[0]
        assert report.category == "building-safety" and report.raised_by == building["id"]
        assert report.priority is not None and report.priority.value == "normal"
        assert report.location == tuple(building["location"]["value"]["coordinates"])
        w.merge(building["id"], structuralSafety="atRisk")
        w.later(1)
        assert [r.priority.value for _, r in w.cases.reports if r.priority] == ["normal", "high"]


def test_the_governance_service_takes_the_rules_building_safety_case(tmp_path: Path) -> None:
    with pack_city(tmp_path) as city:
        service = CaseService(city.broker, load_config(), lambda: START)
        report = Report(
            category="building-safety",
            source=Source.RULE,
            location=(106.57, 29.56),
            raised_by="urn:ngsi-ld:Building:x",
            case_id="urn:ngsi-ld:Case:rule:renewal-poor-condition:x:1",
        )
        assert service.open_for_rule("", report)


def test_planned_progress_is_linear_between_the_dates() -> None:
    project = {"startDate": "2030-01-01", "plannedEndDate": "2030-01-11"}
    assert planned_progress(project, date(2029, 12, 1)) == 0
    assert planned_progress(project, date(2030, 1, 4)) == 30
    assert planned_progress(project, date(2031, 1, 1)) == 100
    assert planned_progress({"startDate": "soon"}, date(2030, 1, 4)) is None


# -- KPIs on what the broker holds ---------------------------------------------------------


def building(key: str, district: str, status: str, score: float) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:{BUILDING}:{key}",
        "type": BUILDING,
        "district": prop(district),
        "renewalStatus": prop(status),
        "conditionScore": prop(score),
        "location": point(106.57, 29.56),
    }


def project(key: str, budget: float, spent: float, progress: float, status: str,
            start: str, end: str, members: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "id": f"urn:ngsi-ld:{PROJECT}:{key}",
        "type": PROJECT,
        "name": prop(key),
        "budget": prop(budget),
        "spent": prop(spent),
        "progress": prop(progress),
        "status": prop(status),
        "startDate": prop(start),
        "plannedEndDate": prop(end),
        "refBuildings": {
            "type": "Relationship",
            "object": [f"urn:ngsi-ld:{BUILDING}:{m}" for m in members],
        },
    }


def open_case(
    service: CaseService, key: str, raised_by: str, category: str = "building-safety"
) -> str:
    """A case raised by a building, through the governance service."""
    report = Report(
        category=category,
        source=Source.RULE,
        location=(106.5 + int(key) / 100, 29.5),  # apart, so that none is a duplicate
        raised_by=f"urn:ngsi-ld:{BUILDING}:{raised_by}",
        case_id=f"urn:ngsi-ld:Case:{key}",
    )
    return service.open_for_rule("", report)


def test_kpis_from_what_the_broker_holds(tmp_path: Path) -> None:
    now = datetime(2030, 1, 5, 4, tzinfo=UTC)  # 12:00 on 5 January in Chongqing
    with pack_city(tmp_path) as city:
        for body in (
            building("y1", "Yuzhong", "renewed", 90),
            building("y2", "Yuzhong", "inRenewal", 50),
            building("y3", "Yuzhong", "inRenewal", 35),
            building("j1", "Jiangbei", "awaiting", 30),
            building("j2", "Jiangbei", "awaiting", 45),
            {"id": "urn:ngsi-ld:Building:school", "type": BUILDING},  # not an old building
            # started 1 Jan, 10 days: 40 % planned by the 5th
            project("A", 1e6, 250_000, 45, "ongoing", "2030-01-01", "2030-01-11", ["y2", "y3"]),
            project("B", 3e6, 600_000, 30, "suspended", "2030-01-01", "2030-01-11", ["j1"]),
            project("C", 1e6, 1_150_000, 100, "completed", "2029-01-01", "2029-06-01", ["y1"]),
            project("D", 2e6, 0, 0, "planned", "2030-02-01", "2030-12-01", ["j2"]),
        ):  # fmt: skip
            city.create(body)
        service = CaseService(city.broker, load_config(), lambda: now)
        for key, raised_by in (("1", "y3"), ("2", "y3"), ("3", "y2"), ("4", "j1"), ("5", "j2")):
            open_case(service, key, raised_by)
        open_case(service, "6", "y2", category="pothole")
        open_case(service, "7", "nowhere")
        service.act("", "urn:ngsi-ld:Case:1", "accept", OPERATOR)
        service.act("", "urn:ngsi-ld:Case:3", "reject", OPERATOR, note="not a safety issue")
        kpis = {k.id: k for k in RenewalPack().kpis(city.view, now)}
    assert kpis["renewal-buildings-renewed"].value == 1
    assert kpis["renewal-buildings-in-renewal"].breakdown == {"Yuzhong": 2}
    assert kpis["renewal-buildings-awaiting"].breakdown == {"Jiangbei": 2}
    condition = kpis["renewal-condition-score"]
    assert condition.value == 50.0  # (90 + 50 + 35 + 30 + 45) / 5
    assert condition.breakdown == {"Yuzhong": round(175 / 3, 1), "Jiangbei": 37.5}
    budget = kpis["renewal-budget-execution"]
    assert budget.value == round(100 * 2_000_000 / 7_000_000, 1)
    assert budget.breakdown == {"A": 25.0, "B": 20.0, "C": 115.0, "D": 0.0}
    schedule = kpis["renewal-projects-on-schedule"]  # A ahead, B behind; C done, D not started
    assert schedule.value == 50.0 and schedule.breakdown == {"A": 5.0, "B": -10.0}
    cases = kpis["renewal-open-safety-cases"]  # 1, 2 → A; 4 → B; 5 → D; 3 rejected; 6 pothole
    assert cases.breakdown == {"A": 2, "B": 1, "C": 0, "D": 1}
    assert cases.value == 4


def test_kpis_without_data_say_none(tmp_path: Path) -> None:
    with pack_city(tmp_path) as city:
        kpis = {k.id: k for k in RenewalPack().kpis(city.view, START)}
    assert kpis["renewal-buildings-renewed"].value == 0
    assert kpis["renewal-condition-score"].value is None
    assert kpis["renewal-budget-execution"].value is None
    assert kpis["renewal-projects-on-schedule"].value is None
    assert kpis["renewal-open-safety-cases"].value == 0
