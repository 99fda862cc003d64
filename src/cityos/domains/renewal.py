"""Urban renewal pack (城市更新): old residential communities (老旧小区) of the central
districts, their buildings' condition, and the renewal projects that work on them.

`PACK` is `RenewalPack` (``renewal:`` in a scenario file); every param is optional
(defaults in `DEFAULTS`):

- ``districts``: Yuzhong, Jiangbei, Shapingba, Jiulongpo, Nan'an, Dadukou.
- ``communities_per_district`` (2), ``buildings_per_community`` ([4, 8], a range),
  ``standalone_per_district`` (2: old buildings that belong to no community and to no
  project).
- ``project_mix``: the chance that a community's project is ``completed`` (0.25),
  ``ongoing`` (0.45), ``planned`` (0.15, starting 5-60 days after the start) or that it has
  none yet (``none``, 0.15).
- ``slip_per_day`` (0.01): the chance that an ongoing project stalls on a given day (for
  3-20 days, with a reason); ``decay_per_year`` (2.0): condition points a building loses a
  year; ``damage_per_year`` (0.5): the rate of sudden damage (5-20 points).
- ``timezone`` (Asia/Shanghai): buildings and projects report once a local day.

**Everything is simulated** and labelled so (``dataProvider`` "cityos simulator",
"simulated" in names and descriptions): community names are invented, buildings stand at
random places in their district, and condition scores, safety flags, budgets, spending and
progress are made up. Only the construction years follow a real rule: the national
programme for old urban residential communities concentrates on those completed before the
end of 2000 (State Council General Office, Guiding Opinions of 2020, Guobanfa [2020]
No. 23), so buildings here date from 1975 to 2000.

Entity types:

- ``Building`` (FIWARE Smart Data Models dataModel.Building): category ["residential"],
  floorsAboveGround, floorsBelowGround, address, location (a Point, so that rule cases are
  located and routed to their district). Not in the model, named plainly: ``yearBuilt``,
  ``conditionScore`` (0-100), ``structuralSafety`` (sound / atRisk), ``renewalStatus``
  (awaiting / inRenewal / renewed), ``refCommunity``, ``refRenewalProject``, ``district``.
- ``ResidentialCommunity`` and ``RenewalProject``: no Smart Data Model fits
  (dataModel.Building's BuildingOperation is one operation on one building, without budget
  or milestones), so they are named plainly. A project: budget and spent (CNY, with
  ``currency``), progress (%), status (planned / ongoing / suspended / completed),
  startDate and plannedEndDate (local dates), milestones (a list of {name, due, done}),
  delayReason, refCommunity, refBuildings (a Relationship to the list of its buildings).

Rules: a building's conditionScore below 40 → a ``building-safety`` case (normal); its
structuralSafety turning atRisk → a ``building-safety`` case (high). Both are raised by the
building, which is how the KPIs link cases to projects. KPIs: see `RenewalPack.kpis`.

Rates at the defaults: about 80 buildings and 12 projects, each reporting once a simulated
day.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cityos.context.broker import iso_time
from cityos.domains.base import CityView, Kpi, Reading, Setup, SimContext
from cityos.domains.common import (
    SIMULATOR,
    district_named,
    invented_names,
    iot_device,
    label,
    local_midnight,
    mean_by,
    number,
    point,
    prop,
    random_point,
    random_point_near,
    rel,
    slug,
)
from cityos.governance.districts import District
from cityos.governance.model import FINISHED

BUILDING = "Building"
COMMUNITY = "ResidentialCommunity"
PROJECT = "RenewalProject"
CASE = "Case"
CASE_CATEGORY = "building-safety"
POOR_CONDITION = 40

DEFAULTS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "districts": ["Yuzhong", "Jiangbei", "Shapingba", "Jiulongpo", "Nan'an", "Dadukou"],
    "communities_per_district": 2,
    "buildings_per_community": [4, 8],
    "standalone_per_district": 2,
    "project_mix": {"completed": 0.25, "ongoing": 0.45, "planned": 0.15, "none": 0.15},
    "slip_per_day": 0.01,
    "decay_per_year": 2.0,
    "damage_per_year": 0.5,
}

COMMUNITY_NAMES = (
    ("Xinhua", "新华"),
    ("Hongqi", "红旗"),
    ("Jianshe", "建设"),
    ("Gongnong", "工农"),
    ("Heping", "和平"),
    ("Dongfeng", "东风"),
    ("Yanjiang", "沿江"),
    ("Shuguang", "曙光"),
    ("Jiefang", "解放"),
    ("Xingfu", "幸福"),
    ("Huaguang", "华光"),
    ("Minsheng", "民生"),
    ("Tiyu", "体育"),
    ("Changjiang", "长江"),
    ("Qingnian", "青年"),
    ("Wenhua", "文化"),
)
"""Common names of Chinese residential communities: the communities are invented."""

MILESTONES = (
    ("residents' consultation", 0.05),
    ("design approved", 0.15),
    ("pipes and wiring", 0.45),
    ("facades and roofs", 0.70),
    ("lifts and accessibility", 0.90),
    ("acceptance", 1.00),
)
"""A renewal project's milestones and the share of its duration at which each is due."""

DELAY_REASONS = (
    "residents' consultation",
    "pipeline relocation",
    "rainy weather",
    "material delivery",
    "design change",
)

RENEWAL_STATUS = ("awaiting", "inRenewal", "renewed")


# -- simulation state -----------------------------------------------------------------------


@dataclass(slots=True)
class BuildingSim:
    id: str
    device: str
    score: float
    safety: str
    status: str
    project: int | None


@dataclass(slots=True)
class ProjectSim:
    id: str
    device: str
    start: date
    end: date
    budget: float
    overrun: float
    """Spending per unit of progress, relative to plan (0.95-1.12)."""
    progress: float
    spent: float
    status: str
    buildings: list[int] = field(default_factory=list)
    suspended_until: date | None = None
    delay_reason: str = "none"

    def milestones(self) -> list[dict[str, Any]]:
        days = (self.end - self.start).days
        return [
            {
                "name": name,
                "due": (self.start + timedelta(days=round(share * days))).isoformat(),
                "done": self.progress >= 100 * share - 1e-9,
            }
            for name, share in MILESTONES
        ]


# -- the pack -------------------------------------------------------------------------------


class RenewalPack:
    """Old residential buildings, their condition and the projects renewing them."""

    name = "renewal"
    entity_types = (BUILDING, COMMUNITY, PROJECT)
    case_categories = (CASE_CATEGORY,)

    def __init__(self) -> None:
        self.params: dict[str, Any] = dict(DEFAULTS)
        self.tz = ZoneInfo(DEFAULTS["timezone"])
        self.rng = random.Random(0)
        self.buildings: list[BuildingSim] = []
        self.projects: list[ProjectSim] = []
        self.reported: datetime | None = None
        """Local midnight of the last day reported."""

    # setup ------------------------------------------------------------------------------

    def setup(self, ctx: SimContext) -> Setup:
        self.params = {**DEFAULTS, **ctx.params}
        self.tz = ZoneInfo(self.params["timezone"])
        self.rng = ctx.rng
        today = ctx.start.astimezone(self.tz).date()
        self.buildings, self.projects, self.reported = [], [], None  # a new run
        out = Setup()
        names = iter(invented_names(ctx.rng, COMMUNITY_NAMES))
        for name in self.params["districts"]:
            district = district_named(ctx.districts, str(name), self.name)
            for _ in range(int(self.params["communities_per_district"])):
                self._community(ctx, district, next(names), today, out)
            for number_ in range(1, int(self.params["standalone_per_district"]) + 1):
                lon, lat = random_point(ctx.rng, district)
                key = f"cq-{slug(district.name)}-s{number_}"
                self._building(ctx, district, key, None, None, lon, lat, out)
        out.rules = RULES
        return out

    def _community(
        self, ctx: SimContext, district: District, names: tuple[str, str], today: date, out: Setup
    ) -> None:
        rng = ctx.rng
        key = f"cq-{slug(district.name)}-{slug(names[0])}"
        community_id = f"urn:ngsi-ld:{COMMUNITY}:{key}"
        lon, lat = random_point(rng, district)
        year = rng.randint(1975, 2000)
        community = f"{names[0]} Community (simulated)"
        out.entities.append(
            {
                "id": community_id,
                "type": COMMUNITY,
                "name": prop(community),
                "alternateName": prop(f"{names[1]}小区"),
                "description": prop(
                    f"Simulated old residential community (老旧小区) in {district.name}; "
                    "its name and place are invented."
                ),
                "yearBuilt": prop(year),
                "district": prop(district.name),
                "dataProvider": prop(SIMULATOR),
                "location": point(lon, lat),
            }
        )
        kind = _draw(rng, self.params["project_mix"])
        project = None if kind == "none" else self._project(rng, key, kind, today)
        low, high = (int(v) for v in self.params["buildings_per_community"])
        ids = []
        for number_ in range(1, rng.randint(low, high) + 1):
            blon, blat = random_point_near(rng, district, lon, lat, 250)
            ids.append(
                self._building(
                    ctx,
                    district,
                    f"{key}-b{number_}",
                    (community_id, community, year),
                    project,
                    blon,
                    blat,
                    out,
                )
            )
        if project is None:
            return
        sim = self.projects[project]
        out.entities.append(
            {
                "id": sim.id,
                "type": PROJECT,
                "name": prop(f"{names[0]} Community renewal (simulated)"),
                "description": prop(
                    f"Simulated renewal of {community}: budget, spending, progress and "
                    "milestones are made up."
                ),
                "district": prop(district.name),
                "refCommunity": rel(community_id),
                "refBuildings": {"type": "Relationship", "object": ids},
                "budget": prop(sim.budget),
                "currency": prop("CNY"),
                "spent": prop(round(sim.spent)),
                "progress": prop(round(sim.progress, 1), "P1"),
                "status": prop(sim.status),
                "startDate": prop(sim.start.isoformat()),
                "plannedEndDate": prop(sim.end.isoformat()),
                "milestones": prop(sim.milestones()),
                "delayReason": prop(sim.delay_reason),
                "dataProvider": prop(SIMULATOR),
                "location": point(lon, lat),
            }
        )
        out.devices.append(
            iot_device(
                sim.device,
                ctx.apikey,
                sim.id,
                PROJECT,
                [
                    ("pg", "progress", "Number", "P1"),
                    ("sp", "spent", "Number", None),
                    ("st", "status", "Text", None),
                    ("ms", "milestones", "Property", None),
                    ("dr", "delayReason", "Text", None),
                ],
            )
        )

    def _project(self, rng: random.Random, key: str, kind: str, today: date) -> int:
        """A project's dates and state at the start of the run; its index."""
        days = rng.randint(240, 540)
        if kind == "completed":
            start = today - timedelta(days=days + rng.randint(30, 400))
        elif kind == "ongoing":
            start = today - timedelta(days=rng.randint(20, days - 20))
        else:
            start = today + timedelta(days=rng.randint(5, 60))
        end = start + timedelta(days=days)
        planned = min(1.0, max(0.0, (today - start).days / days))
        progress = 100.0 if kind == "completed" else 0.0
        if kind == "ongoing":
            progress = min(99.0, max(1.0, 100 * planned * rng.uniform(0.85, 1.2)))
        budget = 0.0  # set once its buildings are known
        overrun = rng.uniform(0.95, 1.12)
        status = {"completed": "completed", "ongoing": "ongoing"}.get(kind, "planned")
        self.projects.append(
            ProjectSim(
                id=f"urn:ngsi-ld:{PROJECT}:{key}",
                device=f"renewal-project-{key}",
                start=start,
                end=end,
                budget=budget,
                overrun=overrun,
                progress=progress,
                spent=0.0,
                status=status,
            )
        )
        return len(self.projects) - 1

    def _building(
        self,
        ctx: SimContext,
        district: District,
        key: str,
        community: tuple[str, str, int] | None,
        project: int | None,
        lon: float,
        lat: float,
        out: Setup,
    ) -> str:
        rng = ctx.rng
        entity_id = f"urn:ngsi-ld:{BUILDING}:{key}"
        number_ = key.rsplit("-", 1)[1][1:]
        floors = rng.randint(4, 9)
        if community is not None:
            place = f"Building {number_}, {community[1]}"
            year = min(2000, max(1975, community[2] + rng.randint(-2, 2)))
        else:
            place = f"Old building {number_} in {district.name} (simulated)"
            year = rng.randint(1975, 2000)
        sim = self.projects[project] if project is not None else None
        if sim is not None and sim.status == "completed":
            score, status = rng.uniform(80, 95), "renewed"
        else:
            score = min(98.0, max(15.0, rng.gauss(54, 13)))
            status = "inRenewal" if sim is not None and sim.status == "ongoing" else "awaiting"
        safety = "atRisk" if score < 35 and rng.random() < 0.3 else "sound"
        if sim is not None:
            # A simulated budget: 0.8-1.6 million CNY a floor (not real costs).
            sim.budget += round(floors * rng.uniform(0.8e6, 1.6e6), -3)
            sim.spent = sim.budget * sim.progress / 100 * sim.overrun
            sim.buildings.append(len(self.buildings))
        entity: dict[str, Any] = {
            "id": entity_id,
            "type": BUILDING,
            "name": prop(place),
            "description": prop(
                "Simulated old residential building: its place, condition score and safety "
                "flag are made up; built before the end of 2000, as the national programme "
                "for old communities targets."
            ),
            "category": prop(["residential"]),
            "floorsAboveGround": prop(floors),
            "floorsBelowGround": prop(0),
            "yearBuilt": prop(year),
            "address": prop(
                {
                    "streetAddress": place,
                    "addressLocality": district.name,
                    "addressRegion": "Chongqing",
                    "addressCountry": "CN",
                }
            ),
            "conditionScore": prop(round(score, 1)),
            "structuralSafety": prop(safety),
            "renewalStatus": prop(status),
            "district": prop(district.name),
            "dataProvider": prop(SIMULATOR),
            "location": point(lon, lat),
        }
        if community is not None:
            entity["refCommunity"] = rel(community[0])
        if sim is not None:
            entity["refRenewalProject"] = rel(sim.id)
        out.entities.append(entity)
        device = f"renewal-building-{key}"
        out.devices.append(
            iot_device(
                device,
                ctx.apikey,
                entity_id,
                BUILDING,
                [
                    ("cs", "conditionScore", "Number", None),
                    ("ss", "structuralSafety", "Text", None),
                    ("rs", "renewalStatus", "Text", None),
                ],
            )
        )
        self.buildings.append(BuildingSim(entity_id, device, score, safety, status, project))
        return entity_id

    # step -------------------------------------------------------------------------------

    def step(self, now: datetime, dt: timedelta) -> list[Reading]:
        """At each new local day (and at the first tick): every project and building moves
        on by the days passed and reports, stamped at the local midnight."""
        today = local_midnight(now, self.tz)
        if self.reported is not None and today <= self.reported:
            return []
        days = 0 if self.reported is None else (today - self.reported).days
        self.reported = today
        for _ in range(days):
            self._day(today.date())
        stamp = iso_time(today.timestamp())
        readings = [
            Reading(
                p.device,
                {
                    "pg": round(p.progress, 1),
                    "sp": round(p.spent),
                    "st": p.status,
                    "ms": p.milestones(),
                    "dr": p.delay_reason,
                    "TimeInstant": stamp,
                },
            )
            for p in self.projects
        ]
        readings += [
            Reading(
                b.device,
                {"cs": round(b.score, 1), "ss": b.safety, "rs": b.status, "TimeInstant": stamp},
            )
            for b in self.buildings
        ]
        return readings

    def _day(self, today: date) -> None:
        rng = self.rng
        for project in self.projects:
            self._advance(project, today)
        decay = float(self.params["decay_per_year"]) / 365
        damage = float(self.params["damage_per_year"]) / 365
        for building in self.buildings:
            building.score = max(0.0, building.score - decay)
            if rng.random() < damage:
                drop = rng.uniform(5, 20)
                building.score = max(0.0, building.score - drop)
                if building.score < POOR_CONDITION and drop >= 15:
                    building.safety = "atRisk"

    def _advance(self, project: ProjectSim, today: date) -> None:
        """One day of a project: it starts on its start date, may stall (a slip), else
        advances about 1.1/duration a day (making up for slips); at 100 % its buildings
        are renewed."""
        rng = self.rng
        if project.status == "completed" or today < project.start:
            return
        if project.suspended_until is not None and today < project.suspended_until:
            project.status = "suspended"
            return
        project.suspended_until = None
        project.status, project.delay_reason = "ongoing", "none"
        for index in project.buildings:
            if self.buildings[index].status == "awaiting":
                self.buildings[index].status = "inRenewal"
        if rng.random() < float(self.params["slip_per_day"]):
            project.suspended_until = today + timedelta(days=rng.randint(3, 20))
            project.status, project.delay_reason = "suspended", rng.choice(DELAY_REASONS)
            return
        duration = max(1, (project.end - project.start).days)
        step = min(100.0 - project.progress, 100 / duration * rng.uniform(0.7, 1.5))
        project.progress += step
        project.spent += project.budget * step / 100 * project.overrun
        if project.progress >= 100.0 - 1e-9:
            project.progress, project.status = 100.0, "completed"
            for index in project.buildings:
                building = self.buildings[index]
                building.status, building.safety = "renewed", "sound"
                building.score = rng.uniform(85, 95)

    # kpis -------------------------------------------------------------------------------

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        """- ``renewal-buildings-renewed``, ``-in-renewal``, ``-awaiting``: buildings by
          renewalStatus, per district.
        - ``renewal-condition-score``: the mean current conditionScore, per district.
        - ``renewal-budget-execution``: Σ spent / Σ budget of the projects (%), per project.
        - ``renewal-projects-on-schedule``: of the projects under way (started, not
          completed), the share whose progress is at least the planned progress by date
          (linear from startDate to plannedEndDate, local days); per project, progress
          minus planned progress (points).
        - ``renewal-open-safety-cases``: open building-safety cases (state not closed,
          rejected or merged) raised by a building of a project (its refBuildings), per
          project; cases of buildings in no project appear as "no project"."""
        buildings = city.entities(BUILDING, q="renewalStatus")
        projects = city.entities(PROJECT)
        out = [self._status(buildings, s) for s in RENEWAL_STATUS]
        out.append(_condition(buildings))
        out.append(_budget(projects))
        out.append(self._schedule(projects, now))
        out.append(_cases(city, projects, buildings))
        return out

    def _status(self, buildings: list[dict[str, Any]], status: str) -> Kpi:
        per: dict[str, float | None] = defaultdict(float)
        for building in buildings:
            if building.get("renewalStatus") == status:
                district = str(building.get("district", ""))
                per[district] = (per[district] or 0.0) + 1
        words = {"awaiting": "awaiting renewal", "inRenewal": "in renewal", "renewed": "renewed"}
        ids = {"awaiting": "awaiting", "inRenewal": "in-renewal", "renewed": "renewed"}
        return Kpi(
            f"renewal-buildings-{ids[status]}",
            f"Old buildings {words[status]}",
            float(sum(v or 0.0 for v in per.values())),
            "buildings",
            f"Buildings of old residential communities {words[status]} (renewalStatus "
            f"{status}), per district.",
            dict(sorted(per.items())),
        )

    def _schedule(self, projects: list[dict[str, Any]], now: datetime) -> Kpi:
        today = now.astimezone(self.tz).date()
        breakdown: dict[str, float | None] = {}
        on = 0
        for project in projects:
            planned = planned_progress(project, today)
            progress = number(project.get("progress"))
            if planned is None or progress is None or project.get("status") == "completed":
                continue
            start = _date(project.get("startDate"))
            if start is None or today < start:
                continue
            breakdown[label(project)] = round(progress - planned, 1)
            on += progress >= planned
        return Kpi(
            "renewal-projects-on-schedule",
            "Renewal projects on schedule",
            round(100 * on / len(breakdown), 1) if breakdown else None,
            "%",
            "Share of the renewal projects under way whose progress is at least the progress "
            "planned by date (linear from start to planned end); per project, the gap in "
            "points.",
            dict(sorted(breakdown.items())),
        )


PACK = RenewalPack

RULES = f"""rules:
  - id: renewal-poor-condition
    description: An old residential building's condition score below {POOR_CONDITION}
    type: {BUILDING}
    when:
      q: conditionScore<{POOR_CONDITION}
      for: 0
    cooldown: 30d
    then:
      - case: {{category: {CASE_CATEGORY}, priority: normal, description: '{{id}}: condition
          score {{value}} (below {POOR_CONDITION}): inspect the building'}}
  - id: renewal-structural-risk
    description: An old residential building flagged at structural risk
    type: {BUILDING}
    when:
      q: structuralSafety=="atRisk"
      for: 0
    cooldown: 30d
    then:
      - case: {{category: {CASE_CATEGORY}, priority: high, description: '{{id}}: flagged at
          structural risk: inspect and secure the building'}}
"""


def planned_progress(project: dict[str, Any], today: date) -> float | None:
    """The progress (%) planned by `today`: linear from startDate to plannedEndDate."""
    start, end = _date(project.get("startDate")), _date(project.get("plannedEndDate"))
    if start is None or end is None or end <= start:
        return None
    return 100 * min(1.0, max(0.0, (today - start).days / (end - start).days))


def _condition(buildings: list[dict[str, Any]]) -> Kpi:
    mean, per_district = mean_by(buildings, "conditionScore", "district")
    return Kpi(
        "renewal-condition-score",
        "Condition of old buildings",
        mean,
        "score",
        "Mean condition score (0-100) of the old residential buildings, per district.",
        per_district,
    )


def _budget(projects: list[dict[str, Any]]) -> Kpi:
    budget = spent = 0.0
    breakdown: dict[str, float | None] = {}
    for project in projects:
        b, s = number(project.get("budget")), number(project.get("spent"))
        if b is None or s is None or b <= 0:
            continue
        budget, spent = budget + b, spent + s
        breakdown[label(project)] = round(100 * s / b, 1)
    return Kpi(
        "renewal-budget-execution",
        "Renewal budget execution",
        round(100 * spent / budget, 1) if budget else None,
        "%",
        "Money spent on the renewal projects as a share of their budgets; per project.",
        dict(sorted(breakdown.items())),
    )


def _cases(city: CityView, projects: list[dict[str, Any]], buildings: list[dict[str, Any]]) -> Kpi:
    owner: dict[str, str] = {}
    for project in projects:
        targets = project.get("refBuildings")
        for target in targets if isinstance(targets, list) else [targets]:
            if isinstance(target, str):
                owner[target] = label(project)
    known = {str(b["id"]) for b in buildings} | set(owner)
    breakdown: dict[str, float | None] = {label(p): 0.0 for p in projects}
    finished = {state.value for state in FINISHED}
    for case in city.entities(CASE, q=f'category=="{CASE_CATEGORY}"'):
        source = case.get("raisedBy")
        if case.get("state") in finished or not isinstance(source, str) or source not in known:
            continue
        key = owner.get(source, "no project")
        breakdown[key] = (breakdown.get(key) or 0.0) + 1
    return Kpi(
        "renewal-open-safety-cases",
        "Open building-safety cases in renewal projects",
        float(sum(v or 0.0 for k, v in breakdown.items() if k != "no project")),
        "cases",
        "Open building-safety cases raised by buildings of a renewal project, per project "
        "(cases of old buildings in no project under 'no project').",
        dict(sorted(breakdown.items())),
    )


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _draw(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[float(weights[n]) for n in names])[0]
