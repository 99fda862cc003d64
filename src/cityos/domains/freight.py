"""Freight corridor: the China-Europe Railway Express (Yuxinou) from Tuanjiecun, Chongqing,
to Duisburg. Trains leave on a timetable, cross five borders and two breaks of gauge, and
report where they are, how late they will be and when they will arrive.

Facts used, all from shared/data/railway-express-facts.md (sources as cited there):

- Origin Tuanjiecun station, Shapingba District; exit from China at Alashankou, then
  Kazakhstan, Russia, Belarus, Poland, Germany (ecns.cn, 2021-03-22).
- Chongqing → Duisburg 11,179 km, about 16 days (ichongqing.info, 2024-03-28).
- Break of gauge 1,435 → 1,520 mm at Dostyk (Dostyk Trans Terminal) and 1,520 → 1,435 mm at
  Małaszewicze, opposite Brest; Małaszewicze → Duisburg-Rheinhausen took 25 hours
  (namiary.pl, 2012).
- 2020: 2,603 Yuxinou trains and more than 220,000 TEU (ecns.cn): about 50 trains a week
  and 84.5 TEU a train, the centre of the simulated train size.

Everything else is a labelled simulation parameter (`DEFAULTS`): dwell times at borders
(the facts give none for Dostyk or Małaszewicze; Khorgos's 47 minutes is another
crossing), the chance and length of unplanned holds, speed variation, the cargo labels (the
facts give goods value, not kinds).

The line. `WAYPOINTS` are named places with coordinates placed by hand from general maps,
approximate to some 10-20 km, joined by straight segments; the intermediate places are
rail junctions on a plausible path through the countries the facts list, not the
operator's published routing. The polyline's great-circle length is about 9,030 km, some
19 % shorter than the cited 11,179 km (a straight chord between junctions is shorter than
the track), so kilometres along the line are scaled to the cited length: a train at
"5,000 km" is 5,000/11,179 of the way. The two border points the facts do not name
(Kazakhstan-Russia near Petropavl, Russia-Belarus between Smolensk and Orsha) and the
Polish-German crossing at Frankfurt (Oder) are assumptions, marked as such on the entities.

The timetable. A train runs the main line (Tuanjiecun → Małaszewicze) at the speed that
makes the whole trip take `transit_days` (16, cited) with the scheduled dwells, and the
last leg Małaszewicze → Duisburg in the cited 25 h (so no stop at the Polish-German border,
inside the EU). Each train's actual run: per leg a speed factor (gauss around 1,
`speed_sd`), at each border stop the scheduled dwell plus, with `hold_probability`, an
unplanned hold (exponential, mean `hold_mean_h`, at most `hold_max_h`).

The prediction. `estimatedArrival` = now + the remaining legs at their scheduled speeds
divided by the train's recent pace (scheduled ÷ actual time over the kilometres it ran in
the last `eta_window_h`) + the scheduled dwells still ahead (the unspent part of the
current one); `delay` = estimatedArrival - scheduled arrival, in hours (final: actual -
scheduled). Status: `departed` (running), `atBorder`, `gaugeChange` (dwelling at Dostyk or
Małaszewicze), `arrived`.

Entity types (no FIWARE Smart Data Model fits any of them; named plainly):
- `FreightCorridor` — the line (LineString `location`, cited length and time).
- `BorderCrossing` — five, with `gaugeChange` {from, to} in mm where the gauge breaks.
- `RailwayTerminal` — Tuanjiecun and Duisburg (the sample city already names
  `urn:ngsi-ld:RailwayTerminal:Tuanjiecun`).
- `Train` — one freight train run (dataModel.Transportation's `Vehicle` is a road-oriented
  single vehicle and dataModel.ERA's `Vehicle` a registered rail vehicle; neither holds a
  train run with TEU, timetable and ETA). Created by its device's first reading, with
  `dataProvider` "cityos simulator".

Devices: one per train of the timetable from `warm_days` before the start (those already
on the way or arrived when the city starts) to `horizon_days` after it; no train departs
after the horizon (the Pack protocol provisions devices once, at setup). A train reports
every `report_minutes` from departure to arrival.

Rules: a predicted delay over 12 h opens a freight-delay case (normal), over 24 h another
(high), over 48 h another (urgent): a case action has a fixed priority, so "priority by
delay" is three rules, each escalation a new case. KPIs: see `FreightPack.kpis`.

Use: `PACK` is the class; `FreightPack().setup(ctx)` with `ctx.params` overriding DEFAULTS.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cityos.context.broker import iso_time
from cityos.context.geo import haversine_m
from cityos.domains.base import CityView, Kpi, Reading, Setup, SimContext
from cityos.domains.common import SIMULATOR, local_midnight, point, prop, rel

FACTS = "shared/data/railway-express-facts.md"
CITED_KM = 11_179.0
"""Chongqing → Duisburg (ichongqing.info, 2024-03-28)."""
CITED_DAYS = 16.0
"""About 16 days (ichongqing.info, 2024-03-28; ecns.cn, 2021-03-22: the first train)."""
LAST_LEG_H = 25.0
"""Małaszewicze → Duisburg-Rheinhausen (namiary.pl, 2012)."""
TEU_PER_TRAIN = 220_000 / 2_603
"""2020: more than 220,000 TEU on 2,603 trains (ecns.cn): about 84.5."""
CHINA = timezone(timedelta(hours=8))
"""Months of departure are counted in Chongqing time (China has no summer time)."""

SOURCE_ROUTE = (
    "ichongqing.info 2024-03-28 (11,179 km, about 16 days); ecns.cn 2021-03-22 (Tuanjiecun, "
    "Alashankou, countries); geometry approximate, placed by hand by cityos"
)
SOURCE_GAUGE = "Dostyk Trans Terminal (Dostyk); namiary.pl 2012 (Małaszewicze)"

DEFAULTS: dict[str, Any] = {
    "trains_per_week": 21,  # demo rate, 3 a day; 2020 averaged ~50 a week (2,603 trains)
    "transit_days": CITED_DAYS,
    "gauge_change_dwell_h": 8.0,  # simulated: the facts give no dwell at Dostyk/Małaszewicze
    "border_dwell_h": 2.0,  # simulated: other border stops
    "hold_probability": 0.25,  # simulated: chance of an unplanned hold at a border stop
    "hold_mean_h": 10.0,  # simulated
    "hold_max_h": 72.0,  # simulated
    "speed_sd": 0.015,  # simulated: spread of the per-leg speed factor
    "teu_spread": 12,  # simulated: TEU drawn uniformly in 84 ± this
    "report_minutes": 5.0,
    "eta_window_h": 6.0,
    "warm_days": 30.0,  # trains of the last 30 days exist at the start (some arrived)
    "horizon_days": 30.0,  # no departures are provisioned beyond this
}

CARGO = (
    "laptops",
    "printers",
    "LCD panels",
    "automotive parts",
    "machinery",
    "consumer electronics",
)
"""Simulated cargo labels: the facts give the goods' value, not their kinds."""

STATUSES = ("departed", "atBorder", "gaugeChange", "arrived")


@dataclass(frozen=True, slots=True)
class Waypoint:
    name: str
    lon: float
    lat: float
    country: str


WAYPOINTS: tuple[Waypoint, ...] = (
    Waypoint("Tuanjiecun", 106.33, 29.63, "CN"),
    Waypoint("Dazhou", 107.47, 31.21, "CN"),
    Waypoint("Ankang", 109.03, 32.68, "CN"),
    Waypoint("Xi'an", 108.94, 34.34, "CN"),
    Waypoint("Baoji", 107.14, 34.36, "CN"),
    Waypoint("Lanzhou", 103.83, 36.06, "CN"),
    Waypoint("Wuwei", 102.64, 37.93, "CN"),
    Waypoint("Jiayuguan", 98.29, 39.77, "CN"),
    Waypoint("Hami", 93.51, 42.82, "CN"),
    Waypoint("Turpan", 89.19, 42.95, "CN"),
    Waypoint("Urumqi", 87.62, 43.83, "CN"),
    Waypoint("Kuytun", 84.90, 44.43, "CN"),
    Waypoint("Jinghe", 82.89, 44.61, "CN"),
    Waypoint("Alashankou", 82.57, 45.17, "CN"),
    Waypoint("Dostyk", 82.49, 45.25, "KZ"),
    Waypoint("Aktogay", 79.63, 46.95, "KZ"),
    Waypoint("Karaganda", 73.10, 49.80, "KZ"),
    Waypoint("Astana", 71.43, 51.13, "KZ"),
    Waypoint("Kokshetau", 69.39, 53.28, "KZ"),
    Waypoint("Petropavl", 69.15, 54.87, "KZ"),
    Waypoint("Kazakhstan-Russia border", 68.50, 55.10, "KZ"),
    Waypoint("Kurgan", 65.34, 55.44, "RU"),
    Waypoint("Yekaterinburg", 60.60, 56.84, "RU"),
    Waypoint("Kazan", 49.11, 55.79, "RU"),
    Waypoint("Nizhny Novgorod", 44.00, 56.33, "RU"),
    Waypoint("Moscow", 37.62, 55.76, "RU"),
    Waypoint("Smolensk", 32.05, 54.78, "RU"),
    Waypoint("Russia-Belarus border", 31.00, 54.60, "RU"),
    Waypoint("Orsha", 30.42, 54.51, "BY"),
    Waypoint("Minsk", 27.56, 53.90, "BY"),
    Waypoint("Baranovichi", 26.00, 53.13, "BY"),
    Waypoint("Brest", 23.69, 52.10, "BY"),
    Waypoint("Małaszewicze", 23.53, 52.04, "PL"),
    Waypoint("Warsaw", 21.01, 52.23, "PL"),
    Waypoint("Poznań", 16.93, 52.41, "PL"),
    Waypoint("Frankfurt (Oder)", 14.55, 52.34, "DE"),
    Waypoint("Berlin", 13.40, 52.52, "DE"),
    Waypoint("Hannover", 9.73, 52.37, "DE"),
    Waypoint("Dortmund", 7.47, 51.51, "DE"),
    Waypoint("Duisburg", 6.72, 51.40, "DE"),
)
"""Approximate (±10-20 km), placed by hand; see the module docstring."""


@dataclass(frozen=True, slots=True)
class Border:
    slug: str
    name: str
    countries: tuple[str, str]
    waypoint: str
    """Where trains stop (the gauge-change yard where there is one)."""
    gauge: tuple[int, int] | None
    """(from, to) track gauge in mm, where the gauge breaks."""
    cited: bool
    """Whether the facts name this crossing; otherwise its place is assumed."""
    stop: bool = True
    """Whether the timetable stops there."""


BORDERS: tuple[Border, ...] = (
    Border("alashankou-dostyk", "Alashankou-Dostyk", ("CN", "KZ"), "Dostyk", (1435, 1520), True),
    Border("kazakhstan-russia", "Kazakhstan-Russia", ("KZ", "RU"), "Kazakhstan-Russia border",
           None, False),
    Border("russia-belarus", "Russia-Belarus", ("RU", "BY"), "Russia-Belarus border", None, False),
    Border("brest-malaszewicze", "Brest-Małaszewicze", ("BY", "PL"), "Małaszewicze",
           (1520, 1435), True),
    Border("frankfurt-oder", "Poland-Germany at Frankfurt (Oder)", ("PL", "DE"),
           "Frankfurt (Oder)", None, False, stop=False),
)  # fmt: skip

ROUTE_ID = "urn:ngsi-ld:FreightCorridor:yuxinou"
ORIGIN_ID = "urn:ngsi-ld:RailwayTerminal:Tuanjiecun"
DESTINATION_ID = "urn:ngsi-ld:RailwayTerminal:Duisburg"


def border_id(border: Border) -> str:
    return f"urn:ngsi-ld:BorderCrossing:{border.slug}"


# -- the line -------------------------------------------------------------------------------


class Route:
    """The polyline, with kilometres along it scaled to the cited length."""

    def __init__(self, waypoints: Sequence[Waypoint] = WAYPOINTS, length_km: float = CITED_KM):
        self.waypoints = tuple(waypoints)
        cumulative = [0.0]
        for a, b in zip(self.waypoints, self.waypoints[1:], strict=False):
            cumulative.append(cumulative[-1] + haversine_m(a.lon, a.lat, b.lon, b.lat) / 1000)
        self.geodesic_km = cumulative[-1]
        """Great-circle length of the polyline (mean-radius sphere)."""
        self.length_km = length_km
        scale = length_km / self.geodesic_km
        self.km = [c * scale for c in cumulative]
        """Scaled kilometre of each waypoint."""

    def km_at(self, name: str) -> float:
        for waypoint, km in zip(self.waypoints, self.km, strict=True):
            if waypoint.name == name:
                return km
        raise KeyError(name)

    def position(self, km: float) -> tuple[float, float]:
        """(lon, lat) at `km` along the line (linear between waypoints)."""
        km = min(max(km, 0.0), self.length_km)
        i = min(bisect_right(self.km, km), len(self.km) - 1)
        a, b = self.waypoints[i - 1], self.waypoints[i]
        span = self.km[i] - self.km[i - 1]
        f = (km - self.km[i - 1]) / span if span > 0 else 0.0
        return (round(a.lon + f * (b.lon - a.lon), 5), round(a.lat + f * (b.lat - a.lat), 5))

    def coordinates(self) -> list[list[float]]:
        return [[w.lon, w.lat] for w in self.waypoints]


# -- timetable and runs ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    """Part of a run: moving from km0 to km1, or dwelling (km0 == km1) at a border."""

    start: float
    """Seconds since departure."""
    end: float
    km0: float
    km1: float
    border: Border | None = None
    scheduled_speed: float = 0.0
    """km/h the timetable gives this stretch (moving phases)."""

    @property
    def moving(self) -> bool:
        return self.border is None


@dataclass(frozen=True, slots=True)
class Timetable:
    """The scheduled run: phases with scheduled times and speeds."""

    phases: tuple[Phase, ...]
    dwell_h: dict[str, float]
    """Scheduled dwell per border slug."""

    @property
    def duration_s(self) -> float:
        return self.phases[-1].end


def timetable(route: Route, params: dict[str, Any]) -> Timetable:
    """Main line at the speed that fits `transit_days`; the last leg in the cited 25 h."""
    stops = [b for b in BORDERS if b.stop]
    dwell = {
        b.slug: float(params["gauge_change_dwell_h"] if b.gauge else params["border_dwell_h"])
        for b in stops
    }
    split = route.km_at("Małaszewicze")
    main_h = float(params["transit_days"]) * 24 - LAST_LEG_H - sum(dwell.values())
    if main_h <= 0:
        raise ValueError("transit_days leaves no running time after the dwells and last leg")
    v_main, v_last = split / main_h, (route.length_km - split) / LAST_LEG_H
    phases: list[Phase] = []
    t, km = 0.0, 0.0
    for border in stops:
        at = route.km_at(border.waypoint)
        speed = v_main if at <= split else v_last
        run_s = (at - km) / speed * 3600
        phases.append(Phase(t, t + run_s, km, at, None, speed))
        t += run_s
        phases.append(Phase(t, t + dwell[border.slug] * 3600, at, at, border))
        t += dwell[border.slug] * 3600
        km = at
    run_s = (route.length_km - km) / v_last * 3600
    phases.append(Phase(t, t + run_s, km, route.length_km, None, v_last))
    return Timetable(tuple(phases), dwell)


def actual_run(plan: Timetable, rng: random.Random, params: dict[str, Any]) -> tuple[Phase, ...]:
    """One train's run: each leg at a random speed factor, each stop with a possible hold."""
    phases: list[Phase] = []
    t = 0.0
    sd = float(params["speed_sd"])
    for phase in plan.phases:
        length = phase.end - phase.start
        if phase.moving:
            factor = min(1.15, max(0.85, rng.gauss(1.0, sd))) if sd > 0 else 1.0
            length /= factor
        elif rng.random() < float(params["hold_probability"]):
            hold_h = rng.expovariate(1 / float(params["hold_mean_h"]))
            length += min(hold_h, float(params["hold_max_h"])) * 3600
        phases.append(
            Phase(t, t + length, phase.km0, phase.km1, phase.border, phase.scheduled_speed)
        )
        t += length
    return tuple(phases)


@dataclass(slots=True)
class Train:
    entity_id: str
    device_id: str
    number: str
    departure: datetime
    run: tuple[Phase, ...]
    teu: int
    cargo: str
    next_report: float = 0.0
    """Seconds since departure of the next report."""
    done: bool = False

    @property
    def arrival(self) -> datetime:
        return self.departure + timedelta(seconds=self.run[-1].end)


@dataclass(frozen=True, slots=True)
class State:
    """Where a train is at a moment, and what it predicts."""

    km: float
    speed: float
    status: str
    border: Border | None
    eta: datetime
    delay_h: float


def phase_at(run: Sequence[Phase], elapsed: float) -> Phase | None:
    """The phase holding `elapsed` seconds since departure; None once arrived."""
    for phase in run:
        if phase.start <= elapsed < phase.end:
            return phase
    return None


def km_at(run: Sequence[Phase], elapsed: float) -> float:
    phase = phase_at(run, elapsed)
    if phase is None:
        return run[-1].km1 if elapsed >= run[-1].end else 0.0
    if not phase.moving:
        return phase.km0
    f = (elapsed - phase.start) / (phase.end - phase.start)
    return phase.km0 + f * (phase.km1 - phase.km0)


def state(
    plan: Timetable, run: Sequence[Phase], departure: datetime, now: datetime, window_h: float
) -> State:
    """The train's position, status and predicted arrival at `now` (see module docstring)."""
    elapsed = (now - departure).total_seconds()
    scheduled_arrival = departure + timedelta(seconds=plan.duration_s)
    phase = phase_at(run, elapsed)
    if phase is None:  # arrived
        arrival = departure + timedelta(seconds=run[-1].end)
        delay = (arrival - scheduled_arrival).total_seconds() / 3600
        return State(run[-1].km1, 0.0, "arrived", None, arrival, round(delay, 2))
    km = km_at(run, elapsed)
    pace = _pace(plan, run, elapsed, window_h)
    remaining_run = 0.0
    remaining_dwell = 0.0
    for sched in plan.phases:
        if sched.moving and sched.km1 > km:
            remaining_run += (sched.km1 - max(sched.km0, km)) / sched.scheduled_speed * 3600
        elif not sched.moving and sched.km0 > km:
            remaining_dwell += sched.end - sched.start
    if not phase.moving and phase.border is not None:
        spent = elapsed - phase.start
        remaining_dwell += max(0.0, plan.dwell_h[phase.border.slug] * 3600 - spent)
    eta = now + timedelta(seconds=remaining_run / pace + remaining_dwell)
    delay = (eta - scheduled_arrival).total_seconds() / 3600
    if phase.moving:
        speed = (phase.km1 - phase.km0) / (phase.end - phase.start) * 3600
        status = "departed"
    else:
        speed = 0.0
        status = "gaugeChange" if phase.border and phase.border.gauge else "atBorder"
    return State(km, speed, status, phase.border, eta, round(delay, 2))


def _pace(plan: Timetable, run: Sequence[Phase], elapsed: float, window_h: float) -> float:
    """Scheduled ÷ actual time for the kilometres run in the last `window_h` (1: no data)."""
    since = max(0.0, elapsed - window_h * 3600)
    actual = scheduled = 0.0
    for phase in run:
        if not phase.moving or phase.end <= since or phase.start >= elapsed:
            continue
        a, b = max(phase.start, since), min(phase.end, elapsed)
        actual += b - a
        km = (b - a) / (phase.end - phase.start) * (phase.km1 - phase.km0)
        scheduled += km / phase.scheduled_speed * 3600
    return scheduled / actual if actual >= 60 else 1.0


# -- the pack -------------------------------------------------------------------------------


DEVICE_ATTRIBUTES: list[dict[str, Any]] = [
    {"object_id": "loc", "name": "location", "type": "GeoProperty"},
    {"object_id": "st", "name": "status", "type": "Text"},
    {"object_id": "km", "name": "distanceTravelled", "type": "Number", "unitCode": "KMT"},
    {"object_id": "v", "name": "speed", "type": "Number", "unitCode": "KMH"},
    {"object_id": "dl", "name": "delay", "type": "Number", "unitCode": "HUR"},
    {"object_id": "eta", "name": "estimatedArrival", "type": "DateTime"},
    {"object_id": "arr", "name": "arrivedAt", "type": "DateTime"},
]

DELAY_RULES = ((12, "normal"), (24, "high"), (48, "urgent"))
"""Predicted delay (h) → the priority of its case: a rule's case has one fixed priority, so
"priority by delay" is one rule per band."""

RULES = "rules:\n" + "".join(
    f"""\
  - id: freight-delay-{hours}h
    description: A Railway Express train predicted more than {hours} hours behind its timetable
    type: Train
    when: {{q: 'delay>{hours};status!="arrived"', for: 30m}}
    cooldown: 1d
    then:
      - case: {{category: freight-delay, priority: {priority},
               description: "{{id}} is predicted {{value}} h late at Duisburg (over {hours} h)"}}
"""
    for hours, priority in DELAY_RULES
)


@dataclass
class FreightPack:
    """The corridor pack (see the module docstring)."""

    name: str = "freight"
    entity_types: Sequence[str] = ("FreightCorridor", "BorderCrossing", "RailwayTerminal", "Train")
    case_categories: Sequence[str] = ("freight-delay",)
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    route: Route = field(default_factory=Route)
    plan: Timetable | None = None
    trains: list[Train] = field(default_factory=list)

    def setup(self, ctx: SimContext) -> Setup:
        unknown = set(ctx.params) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"freight: unknown parameter(s) {', '.join(sorted(unknown))}")
        self.params = {**DEFAULTS, **ctx.params}
        if float(self.params["trains_per_week"]) <= 0:
            raise ValueError("freight: trains_per_week must be positive")
        rng = random.Random(ctx.rng.getrandbits(64))
        self.plan = plan = timetable(self.route, self.params)
        self.trains = self._schedule(ctx.start, plan, rng)
        origin = ctx.districts.locate(WAYPOINTS[0].lon, WAYPOINTS[0].lat)
        entities = [self._route_entity(), *self._terminals(origin.code if origin else None)]
        entities += [self._border_entity(b) for b in BORDERS]
        devices = [self._device(t, ctx.apikey) for t in self.trains]
        return Setup(entities=entities, devices=devices, rules=RULES)

    def _schedule(self, start: datetime, plan: Timetable, rng: random.Random) -> list[Train]:
        every = timedelta(days=7) / float(self.params["trains_per_week"])
        anchor = local_midnight(start, "Asia/Shanghai").astimezone(UTC)
        warm = timedelta(days=float(self.params["warm_days"]))
        horizon = start + timedelta(days=float(self.params["horizon_days"]))
        spread, base = int(self.params["teu_spread"]), round(TEU_PER_TRAIN)
        trains: list[Train] = []
        k = -math.floor(warm / every)
        while (departure := anchor + k * every) <= horizon:
            k += 1
            local = departure.astimezone(CHINA)
            number = f"X{local:%Y%m%d}-{local:%H%M}"
            trains.append(
                Train(
                    entity_id=f"urn:ngsi-ld:Train:yuxinou-{local:%Y%m%d-%H%M}",
                    device_id=f"train-yuxinou-{local:%Y%m%d-%H%M}",
                    number=number,
                    departure=departure,
                    run=actual_run(plan, rng, self.params),
                    teu=rng.randint(base - spread, base + spread),
                    cargo=rng.choice(CARGO),
                )
            )
        return trains

    def step(self, now: datetime, dt: timedelta) -> list[Reading]:
        assert self.plan is not None, "setup() first"
        every = float(self.params["report_minutes"]) * 60
        readings: list[Reading] = []
        for train in self.trains:
            if train.done or train.departure > now:
                continue
            elapsed = (now - train.departure).total_seconds()
            if elapsed < train.next_report:
                continue
            current = state(
                self.plan, train.run, train.departure, now, float(self.params["eta_window_h"])
            )
            train.next_report = (elapsed // every + 1) * every
            payload: dict[str, Any] = {
                "loc": list(self.route.position(current.km)),
                "st": current.status,
                "km": round(current.km, 1),
                "v": round(current.speed, 1),
                "dl": current.delay_h,
                "eta": _iso(current.eta),
                "TimeInstant": _iso(now),
            }
            if current.status == "arrived":
                payload["arr"] = _iso(train.arrival)
                train.done = True
            readings.append(Reading(train.device_id, payload))
        return readings

    # -- entities ---------------------------------------------------------------------------

    def _route_entity(self) -> dict[str, Any]:
        return {
            "id": ROUTE_ID,
            "type": "FreightCorridor",
            "name": prop("China-Europe Railway Express (Yuxinou): Chongqing Tuanjiecun - Duisburg"),
            "location": {
                "type": "GeoProperty",
                "value": {"type": "LineString", "coordinates": self.route.coordinates()},
            },
            "routeLength": prop(CITED_KM, "KMT"),
            "geometryLength": prop(round(self.route.geodesic_km, 1), "KMT"),
            "scheduledTransitTime": prop(float(self.params["transit_days"]), "DAY"),
            "waypoints": prop([w.name for w in WAYPOINTS]),
            "countries": prop(["CN", "KZ", "RU", "BY", "PL", "DE"]),
            "refOrigin": rel(ORIGIN_ID),
            "refDestination": rel(DESTINATION_ID),
            "description": prop(
                "Line approximate: named places placed by hand and joined by straight "
                "segments; its great-circle length is geometryLength, kilometres along it "
                "are scaled to the cited routeLength."
            ),
            "source": prop(SOURCE_ROUTE),
        }

    def _terminals(self, origin_district: str | None) -> list[dict[str, Any]]:
        first, last = WAYPOINTS[0], WAYPOINTS[-1]
        origin: dict[str, Any] = {
            "id": ORIGIN_ID,
            "type": "RailwayTerminal",
            "name": {
                "type": "LanguageProperty",
                "languageMap": {"en": "Tuanjiecun", "zh": "团结村"},
            },
            "description": prop(
                "Origin of the China-Europe Railway Express (Yuxinou) to Duisburg; "
                "Chongqing international logistics hub."
            ),
            "location": point(first.lon, first.lat),
            "source": prop("ecns.cn 2021-03-22; location approximate"),
        }
        if origin_district:
            origin["refDistrict"] = rel(f"urn:ngsi-ld:District:{origin_district}")
        destination = {
            "id": DESTINATION_ID,
            "type": "RailwayTerminal",
            "name": prop("Duisburg"),
            "description": prop("Destination of the Yuxinou line (Duisburg-Rheinhausen)."),
            "location": point(last.lon, last.lat),
            "source": prop("ichongqing.info 2024-03-28; namiary.pl 2012; location approximate"),
        }
        return [origin, destination]

    def _border_entity(self, border: Border) -> dict[str, Any]:
        waypoint = next(w for w in WAYPOINTS if w.name == border.waypoint)
        body: dict[str, Any] = {
            "id": border_id(border),
            "type": "BorderCrossing",
            "name": prop(border.name),
            "countries": prop(list(border.countries)),
            "location": point(waypoint.lon, waypoint.lat),
            "distanceFromOrigin": prop(round(self.route.km_at(border.waypoint), 1), "KMT"),
            "refRoute": rel(ROUTE_ID),
            "scheduledDwell": prop(
                self.plan.dwell_h.get(border.slug, 0.0) if self.plan else 0.0, "HUR"
            ),
            "source": prop(
                SOURCE_GAUGE
                if border.gauge
                else "ecns.cn 2021-03-22 (countries); crossing point assumed by cityos"
                if not border.cited
                else FACTS
            ),
        }
        if border.gauge:
            body["gaugeChange"] = prop(
                {"from": border.gauge[0], "to": border.gauge[1], "at": border.waypoint},
                "MMT",
            )
        return body

    def _device(self, train: Train, apikey: str) -> dict[str, Any]:
        assert self.plan is not None
        scheduled = train.departure + timedelta(seconds=self.plan.duration_s)
        statics: list[dict[str, Any]] = [
            {"name": "name", "type": "Text", "value": f"Yuxinou {train.number} (simulated)"},
            {"name": "trainNumber", "type": "Text", "value": train.number},
            {"name": "teu", "type": "Number", "value": train.teu},
            {"name": "cargo", "type": "Text", "value": train.cargo},
            {"name": "departureDate", "type": "DateTime", "value": _iso(train.departure)},
            {"name": "scheduledArrival", "type": "DateTime", "value": _iso(scheduled)},
            {"name": "refRoute", "type": "Relationship", "value": ROUTE_ID},
            {"name": "refOrigin", "type": "Relationship", "value": ORIGIN_ID},
            {"name": "refDestination", "type": "Relationship", "value": DESTINATION_ID},
            {"name": "dataProvider", "type": "Text", "value": SIMULATOR},
            {
                "name": "source",
                "type": "Text",
                "value": f"simulated run on the timetable of {FACTS} (16 days, 25 h last leg)",
            },
        ]
        return {
            "device_id": train.device_id,
            "apikey": apikey,
            "entity_name": train.entity_id,
            "entity_type": "Train",
            "attributes": DEVICE_ATTRIBUTES,
            "static_attributes": statics,
            "timestamp": True,
        }

    # -- KPIs -------------------------------------------------------------------------------

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        """From the Train entities:

        - trains-per-month / teu-per-month: trains (TEU) by calendar month of departure in
          Chongqing time; value: the month holding `now`, breakdown: every month.
        - transit-days: mean (arrivedAt - departureDate) in days over arrived trains.
        - on-time-share: % of arrived trains with arrivedAt ≤ scheduledArrival + 1 day.
        - trains-on-corridor: trains whose status is not `arrived`.
        - trains-delayed: of those, trains predicted more than 12 h late.
        """
        trains = city.entities("Train")
        per_month: Counter[str] = Counter()
        teu_month: Counter[str] = Counter()
        transit: list[float] = []
        on_time = 0
        for train in trains:
            departed = _time(train.get("departureDate"))
            if departed is None:
                continue
            month = f"{departed.astimezone(CHINA):%Y-%m}"
            per_month[month] += 1
            teu = train.get("teu")
            teu_month[month] += int(teu) if isinstance(teu, int | float) else 0
            arrived = _time(train.get("arrivedAt"))
            if train.get("status") == "arrived" and arrived is not None:
                transit.append((arrived - departed).total_seconds() / 86400)
                scheduled = _time(train.get("scheduledArrival"))
                if scheduled is not None and arrived <= scheduled + timedelta(days=1):
                    on_time += 1
        this_month = f"{now.astimezone(CHINA):%Y-%m}"
        months = sorted(per_month)
        running = city.count("Train", 'status!="arrived"')
        delayed = city.count("Train", 'status!="arrived";delay>12')
        return [
            Kpi(
                "trains-per-month",
                "Trains per month",
                float(per_month.get(this_month, 0)),
                "trains",
                "Railway Express departures from Tuanjiecun in the calendar month (Chongqing "
                "time), by month of departure.",
                {m: float(per_month[m]) for m in months},
            ),
            Kpi(
                "teu-per-month",
                "TEU per month",
                float(teu_month.get(this_month, 0)),
                "TEU",
                "Twenty-foot equivalent units on the month's departures, by month of departure.",
                {m: float(teu_month[m]) for m in months},
            ),
            Kpi(
                "transit-days",
                "Average transit time",
                round(sum(transit) / len(transit), 2) if transit else None,
                "days",
                "Mean departure-to-arrival time of the trains that have arrived in Duisburg.",
            ),
            Kpi(
                "on-time-share",
                "On-time arrivals",
                round(100 * on_time / len(transit), 1) if transit else None,
                "%",
                "Share of arrived trains that reached Duisburg no more than one day after "
                "their scheduled arrival.",
            ),
            Kpi(
                "trains-on-corridor",
                "Trains on the corridor",
                float(running),
                "trains",
                "Trains that have left Tuanjiecun and not yet arrived in Duisburg.",
            ),
            Kpi(
                "trains-delayed",
                "Trains delayed over 12 h",
                float(delayed),
                "trains",
                "Trains on the corridor predicted to arrive more than 12 hours late.",
            ),
        ]


PACK = FreightPack


def _iso(moment: datetime) -> str:
    return iso_time(moment.timestamp())


def _time(value: object) -> datetime | None:
    """A date-time from an attribute value (ISO text, or the NGSI-LD DateTime object)."""
    if isinstance(value, dict):
        value = value.get("@value")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
