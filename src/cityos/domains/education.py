"""Education pack: schools in every district, their enrolment, teachers and attendance.

`PACK` is `EducationPack`, which the simulator instantiates per run (``education:`` in a
scenario file); every param is optional (defaults in `DEFAULTS`):

- ``districts``: district names to place schools in (None: every district of the city).
- ``schools_per_district``: how many of each kind, ``{primary: 2, middle: 1, high: 1}``.
- ``terms``: the two terms as ``[[MM-DD, MM-DD], …]`` (default 1 Sep-15 Jan, 1 Mar-5 Jul,
  an approximation of the Chinese school year); lessons Monday to Friday within a term.
- ``attendance_window``: local hours ``[8, 9]`` within which each school reports (each at
  its own minute, so 150 schools do not all publish in one tick).
- ``outbreaks_per_school_year``: how often a school has an illness outbreak (attendance
  falls to 80-90 % for 3-7 school days); ``timezone`` (Asia/Shanghai).

Every school is **simulated**: names ("Yuzhong Primary School 1 (simulated)"), places,
capacities, enrolment, teachers and attendance are made up, labelled so in ``name``,
``description`` and ``dataProvider``. The figures are chosen to be plausible for a Chinese
district school: capacity 800-2,400 (primary), 900-3,000 (middle), 1,200-3,600 (high);
enrolment 85-100 % of capacity; 15-19 students per teacher in primary schools and 12-15 in
middle and high schools; everyday attendance 95-99 %.

Entity type ``School``: FIWARE Smart Data Models has **no school model** (no
dataModel.Education; dataModel.PointOfInterest covers beaches, museums, stores and generic
points of interest), so the type and its attributes are named plainly here: ``name``,
``description``, ``schoolType`` (primary, middle, high), ``capacity``, ``enrolment``,
``teachers``, ``studentsPresent`` and ``attendanceRate`` (each school day), ``district``,
``dataProvider``, ``location``.

Measures: enrolment and teachers at the start of each term (``e``, ``t``), attendance once
per school day (``p`` students present, ``r`` rate). About 150 readings per simulated school
day at the defaults, spread over an hour: 2.5 per simulated minute in that hour.

Rule: a school's attendance rate below 85 % raises an Alert (a possible outbreak for the
health authorities to look at); it opens no governance case, since no case category fits.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cityos.context.broker import iso_time
from cityos.domains.base import CityView, Kpi, Reading, Setup, SimContext
from cityos.domains.common import SIMULATOR, local_midnight, point, prop, random_point, slug
from cityos.governance.districts import District

SCHOOL = "School"

KINDS: dict[str, dict[str, Any]] = {
    "primary": {"label": "Primary School", "capacity": (800, 2400), "ratio": (15.0, 19.0)},
    "middle": {"label": "Middle School", "capacity": (900, 3000), "ratio": (12.0, 15.0)},
    "high": {"label": "High School", "capacity": (1200, 3600), "ratio": (12.0, 15.0)},
}
"""Simulated ranges: capacity (students) and students per teacher, by kind of school."""

DEFAULTS: dict[str, Any] = {
    "districts": None,
    "schools_per_district": {"primary": 2, "middle": 1, "high": 1},
    "terms": [["09-01", "01-15"], ["03-01", "07-05"]],
    "attendance_window": [8, 9],
    "outbreaks_per_school_year": 0.5,
    "timezone": "Asia/Shanghai",
}

ATTENDANCE_ALERT = 0.85


@dataclass(slots=True)
class School:
    id: str
    device: str
    district: str
    capacity: int
    enrolment: int
    teachers: int
    ratio: float
    report_minute: int
    """Minutes after the window's start at which the school reports attendance."""
    outbreak_days: int = 0
    """School days of outbreak left."""
    last_day: date | None = None
    """The last school day it reported attendance."""


class EducationPack:
    """Simulated schools: slow enrolment changes at term start, daily attendance."""

    name = "education"
    entity_types = (SCHOOL,)
    case_categories: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.params: dict[str, Any] = dict(DEFAULTS)
        self.tz = ZoneInfo(DEFAULTS["timezone"])
        self.rng = random.Random(0)
        self.schools: list[School] = []
        self.previous: datetime | None = None

    def setup(self, ctx: SimContext) -> Setup:
        self.params = {**DEFAULTS, **ctx.params}
        self.tz = ZoneInfo(self.params["timezone"])
        self.rng = ctx.rng
        out = Setup()
        names = self.params["districts"]
        districts = list(ctx.districts) if names is None else [_find(ctx, n) for n in names]
        window = self.params["attendance_window"]
        minutes = max(1, int((float(window[1]) - float(window[0])) * 60))
        for district in districts:
            for kind, count in self.params["schools_per_district"].items():
                for number in range(1, int(count) + 1):
                    self._add(ctx, district, kind, number, minutes, out)
        out.rules = RULES
        return out

    def _add(
        self, ctx: SimContext, district: District, kind: str, number: int, minutes: int, out: Setup
    ) -> None:
        spec = KINDS[kind]
        rng = ctx.rng
        capacity = 50 * round(rng.randint(*spec["capacity"]) / 50)
        enrolment = round(capacity * rng.uniform(0.85, 1.0))
        ratio = rng.uniform(*spec["ratio"])
        teachers = max(1, int(enrolment / ratio))
        key = f"cq-{slug(district.name)}-{kind}-{number}"
        entity_id = f"urn:ngsi-ld:{SCHOOL}:{key}"
        lon, lat = random_point(rng, district)
        out.entities.append(
            {
                "id": entity_id,
                "type": SCHOOL,
                "name": prop(f"{district.name} {spec['label']} {number} (simulated)"),
                "description": prop(
                    f"Simulated {kind} school in {district.name} "
                    f"({district.name_zh or district.name}); its place, capacity, enrolment, "
                    "teachers and attendance are made up by the cityos simulator."
                ),
                "schoolType": prop(kind),
                "capacity": prop(capacity),
                "enrolment": prop(enrolment),
                "teachers": prop(teachers),
                "district": prop(district.name),
                "dataProvider": prop(SIMULATOR),
                "location": point(lon, lat),
            }
        )
        device = f"edu-{key}"
        out.devices.append(
            {
                "device_id": device,
                "apikey": ctx.apikey,
                "entity_name": entity_id,
                "entity_type": SCHOOL,
                "timestamp": True,
                "attributes": [
                    {"object_id": "e", "name": "enrolment", "type": "Number"},
                    {"object_id": "t", "name": "teachers", "type": "Number"},
                    {"object_id": "p", "name": "studentsPresent", "type": "Number"},
                    {"object_id": "r", "name": "attendanceRate", "type": "Number"},
                ],
                "static_attributes": [],
            }
        )
        self.schools.append(
            School(
                entity_id,
                device,
                district.name,
                capacity,
                enrolment,
                teachers,
                ratio,
                rng.randrange(minutes),
            )
        )

    # step -------------------------------------------------------------------------------

    def step(self, now: datetime, dt: timedelta) -> list[Reading]:
        local = now.astimezone(self.tz)
        before = (self.previous or now - dt).astimezone(self.tz)
        self.previous = now
        readings: list[Reading] = []
        if before.date() != local.date() and self.term_starts(local.date()):
            readings += self._new_term(now, local.date())
        if not self.school_day(local.date()):
            return readings
        start = local_midnight(now, self.tz) + timedelta(
            hours=float(self.params["attendance_window"][0])
        )
        for school in self.schools:
            due = start + timedelta(minutes=school.report_minute)
            if school.last_day != local.date() and now >= due:
                school.last_day = local.date()
                readings.append(self._attendance(school, now, local.date()))
        return readings

    def _terms(self, year: int) -> list[tuple[date, date]]:
        """The terms that touch `year`: a term whose end precedes its start runs into the
        next year (1 Sep - 15 Jan)."""
        out = []
        for first, last in self.params["terms"]:
            for start_year in (year - 1, year):
                begin = _day(start_year, first)
                end = _day(start_year, last)
                if end < begin:
                    end = _day(start_year + 1, last)
                out.append((begin, end))
        return out

    def term_starts(self, day: date) -> bool:
        return any(begin == day for begin, _ in self._terms(day.year))

    def school_day(self, day: date) -> bool:
        """Monday to Friday within a term (public holidays are not modelled)."""
        return day.weekday() < 5 and any(b <= day <= e for b, e in self._terms(day.year))

    def _new_term(self, now: datetime, day: date) -> list[Reading]:
        """Term start: enrolment moves a little (more in September, when a new year
        group arrives), capped by capacity; teachers follow at the school's ratio."""
        spread = 0.05 if day.month == 9 else 0.01
        stamp = iso_time(now.timestamp())
        out = []
        for school in self.schools:
            change = self.rng.uniform(-spread, spread)
            school.enrolment = min(school.capacity, max(0, round(school.enrolment * (1 + change))))
            school.teachers = max(1, int(school.enrolment / school.ratio))
            payload = {"e": school.enrolment, "t": school.teachers, "TimeInstant": stamp}
            out.append(Reading(school.device, payload))
        return out

    def _attendance(self, school: School, now: datetime, day: date) -> Reading:
        yearly = float(self.params["outbreaks_per_school_year"])
        if school.outbreak_days == 0 and self.rng.random() < yearly / 190:
            school.outbreak_days = self.rng.randint(3, 7)  # ~190 school days a year
        if school.outbreak_days > 0:
            school.outbreak_days -= 1
            rate = self.rng.uniform(0.80, 0.90)
        else:
            winter = day.month in (11, 12, 1, 2)  # a flu season lowers attendance a little
            rate = self.rng.uniform(0.95, 0.98 if winter else 0.99)
        present = round(school.enrolment * rate)
        real_rate = round(present / school.enrolment, 4) if school.enrolment else 0.0
        payload = {"p": present, "r": real_rate, "TimeInstant": iso_time(now.timestamp())}
        return Reading(school.device, payload)

    # kpis -------------------------------------------------------------------------------

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        """- ``students-per-teacher``: Σ enrolment / Σ teachers of the schools (per district
          in the breakdown), from the current entities.
        - ``school-capacity-utilisation``: Σ enrolment / Σ capacity, in %.
        - ``attendance-today``: Σ students present / Σ enrolment of the schools that reported
          attendance since local midnight (their day's average, from the history), in %;
          None on a day without lessons."""
        schools = city.entities(SCHOOL)
        since = local_midnight(now, self.tz)
        present = {
            eid: points[0][1]
            for eid, points in city.aggregate(SCHOOL, "studentsPresent", "avg", since, now).items()
            if points and points[0][1] is not None
        }
        sums: dict[str | None, dict[str, float]] = {None: _zero()}
        """Per district, and for the whole city under None."""
        for school in schools:
            enrolment = _number(school.get("enrolment"))
            if enrolment is None:
                continue
            for key in (str(school.get("district", "")), None):
                bucket = sums.setdefault(key, _zero())
                bucket["enrolment"] += enrolment
                bucket["teachers"] += _number(school.get("teachers")) or 0.0
                bucket["capacity"] += _number(school.get("capacity")) or 0.0
                if school["id"] in present:
                    bucket["present"] += present[school["id"]]
                    bucket["reporting"] += enrolment
        city_sums = sums.pop(None)
        districts = {d: sums[d] for d in sorted(k for k in sums if k is not None)}
        return [
            Kpi(
                "students-per-teacher",
                "Students per teacher",
                _ratio(city_sums, "enrolment", "teachers", 1),
                "students/teacher",
                "Enrolled students per teacher (sum of enrolment over sum of teachers).",
                {d: _ratio(s, "enrolment", "teachers", 1) for d, s in districts.items()},
            ),
            Kpi(
                "school-capacity-utilisation",
                "School capacity utilisation",
                _ratio(city_sums, "enrolment", "capacity", 100),
                "%",
                "Enrolled students as a share of the schools' capacity.",
                {d: _ratio(s, "enrolment", "capacity", 100) for d, s in districts.items()},
            ),
            Kpi(
                "attendance-today",
                "School attendance today",
                _ratio(city_sums, "present", "reporting", 100),
                "%",
                "Students present today as a share of the enrolment of the schools that "
                "reported attendance today.",
                {d: _ratio(s, "present", "reporting", 100) for d, s in districts.items()},
            ),
        ]


PACK = EducationPack

RULES = f"""\
rules:
  - id: edu-attendance-low
    description: Attendance below {ATTENDANCE_ALERT:.0%} at a school (a possible outbreak)
    type: {SCHOOL}
    when:
      q: attendanceRate<{ATTENDANCE_ALERT}
      for: 0
    cooldown: 1d
    then:
      - notify: {{severity: medium, category: health, subCategory: schoolAttendance,
                 description: "{{id}}: attendance {{value}}, below {ATTENDANCE_ALERT:.0%}"}}
"""


def _zero() -> dict[str, float]:
    return dict.fromkeys(("enrolment", "teachers", "capacity", "present", "reporting"), 0.0)


def _ratio(sums: Mapping[str, float], top: str, bottom: str, scale: float) -> float | None:
    return round(scale * sums[top] / sums[bottom], 1) if sums[bottom] else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _day(year: int, month_day: str) -> date:
    month, day = (int(part) for part in str(month_day).split("-"))
    return date(year, month, day)


def _find(ctx: SimContext, name: str) -> District:
    found = ctx.districts.find(name)
    if found is None:
        raise ValueError(f"education: no district {name!r} in this city")
    return found
