"""Mobility pack: transit vehicles running their timetable, road traffic, car parks.

`PACK` is `MobilityPack`, which the simulator instantiates per run (``mobility:`` in a
scenario file). Every param is optional (defaults in `DEFAULTS`):

- ``gtfs``: a GTFS feed (a path, relative to ``ctx.data`` unless absolute). Its agencies,
  stops, routes, shapes, services and trips are placed in the city as the GTFS importer
  makes them (`cityos.ingest.gtfs`), and vehicles run **its real timetable**. Without it
  (Chongqing has no public GTFS feed here) the pack generates a **simulated** bus network:
  ``bus_routes`` routes between the representative points of pairs of the central districts
  (the nearest pairs first), gently curved, with a stop every ``stop_spacing_m`` metres,
  served every ``headway_minutes`` from ``first_departure`` to ``last_departure`` at
  ``bus_speed_kmh``; every generated entity has ``dataProvider`` "cityos simulator".
- ``prefix``: the id prefix of the feed's entities (default: the file's name, ``cq-sim``).
- ``rail_network``: a rail network mapped as GeoJSON lines and stations (relative to
  ``ctx.data``; see `cityos.ingest.railnet`), placed in the city as GTFS routes, stops,
  shapes and one trip per line, with ``dataProvider`` ``rail_provider``, under the id
  prefix ``rail_prefix`` (``rail``), operated by ``rail_operator``. Nothing runs on it:
  it is the network as built, which the high-capacity KPI measures. The Chongqing
  scenario loads Chongqing Rail Transit (OpenStreetMap, ODbL).
- ``report_every_s`` (30): how often a vehicle in service publishes.
- ``late_share`` (0.15) and ``severe_share`` (0.03): the shares of trips that run 3-9 and
  10-20 minutes late; the others run between one minute early and two late. Each trip
  run's delay is drawn from the seed (so a run is repeatable), builds up over the trip's
  first minutes, and is **simulated**: nothing here is real punctuality.
- ``central_districts``: names of the districts that get traffic sensors and car parks
  (default: the nine districts of Chongqing's main urban area); names not found in the
  city's boundaries are skipped, so a city without boundaries gets none.
- ``sensors_per_district`` (3), ``car_parks_per_district`` (2), ``traffic_every_s`` (300),
  ``parking_every_s`` (300), ``congested_speed_kmh`` (20), ``incidents_per_sensor_day``
  (0.15): road incidents halve a sensor's capacity for 20-60 minutes.
- ``timezone``: the local time of the daily profiles (default: the feed's agency time zone,
  else Asia/Shanghai, Chongqing's).

A feed whose calendar has ended (the WKD feed runs 2024-07-15 to 2024-12-31) is replayed
on the day of its period that falls on the same weekday, shifted by whole weeks, so its
real timetable runs in a demo today; service days otherwise follow calendar.txt and
calendar_dates.txt.

Entity types:

- ``Vehicle`` (Smart Data Models, dataModel.Transportation): ``location``, ``speed`` (km/h,
  KMH), ``bearing`` (degrees from north, DD), ``serviceStatus`` (onRoute / parked),
  ``vehicleType`` (bus, tram, trolley or other by GTFS route_type), ``category``,
  ``fleetVehicleId``, ``name``. Not in the model, named plainly: ``currentTrip`` (a
  Relationship to the GtfsTrip), ``hasRoute`` (to the GtfsRoute, as GtfsTrip names it),
  ``delay`` (seconds behind the timetable, SEC; negative when early). Each route has a
  pool of vehicles, sized at setup from the feed's busiest day; a trip takes the
  lowest-numbered free one. Positions come from the timetable: between two stops the
  vehicle moves along the trip's shape at constant speed, the stops placed on the shape by
  ``shape_dist_traveled`` when the feed gives it, else by projecting them onto the shape.
- ``TrafficFlowObserved`` (dataModel.Transportation): ``intensity`` (vehicles in the
  period), ``averageVehicleSpeed`` (km/h), ``occupancy`` (0-1), ``congested``; plus
  ``laneDirection``, ``areaServed`` (the district). Simulated: demand follows a weekday
  rush-hour profile (lower and later at weekends) against each road's capacity; speed falls
  with the volume/capacity ratio (the BPR curve up to capacity, then steeply).
- ``OffStreetParking`` (dataModel.Parking): ``totalSpotNumber``, ``availableSpotNumber``,
  ``occupiedSpotNumber``, ``occupancy`` (0-1); plus ``areaServed``. Simulated office and
  shopping daily profiles; some car parks are in demand beyond their size at peak and fill.
- The GTFS types of `cityos.ingest.gtfs` (dataModel.UrbanMobility).

Rules (Alerts only: no governance category fits a late bus or a full car park; the pack
opens no cases): a road sensor congested for 15 minutes → Alert (traffic / trafficJam);
a car park with no free spot for 30 minutes → Alert; a vehicle in service more than 10
minutes late → Alert.

Rates at the defaults (Chongqing): about 30 buses in service at 2 readings a minute, 27
road sensors and 18 car parks every 5 minutes: about 70 readings per simulated minute.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import shapely
from shapely.geometry import LineString, Point, shape

from cityos.context.broker import iso_time
from cityos.context.geo import network_length_m
from cityos.domains.base import CityView, Kpi, Reading, Setup, SimContext
from cityos.domains.common import SIMULATOR, point, prop, random_point, slug
from cityos.governance.districts import District
from cityos.ingest import gtfs
from cityos.ingest.gtfs import (
    Agency,
    Calendar,
    Feed,
    Route,
    Shape,
    Stop,
    StopTime,
    Trip,
    default_prefix,
    entity_id,
    feed_entities,
    read_feed,
)
from cityos.ingest.railnet import read_line_network

CENTRAL_DISTRICTS = (
    "Yuzhong",
    "Dadukou",
    "Jiangbei",
    "Shapingba",
    "Jiulongpo",
    "Nan'an",
    "Beibei",
    "Yubei",
    "Banan",
)
"""Chongqing's main urban area (主城九区)."""

DEFAULTS: dict[str, Any] = {
    "gtfs": None,
    "prefix": None,
    "rail_network": None,
    "rail_prefix": "rail",
    "rail_operator": "Rail transit",
    "rail_provider": "© OpenStreetMap contributors (ODbL)",
    "bus_routes": 6,
    "headway_minutes": 15,
    "first_departure": "06:00",
    "last_departure": "22:00",
    "bus_speed_kmh": 22.0,
    "stop_spacing_m": 700.0,
    "dwell_s": 20,
    "report_every_s": 30,
    "late_share": 0.15,
    "severe_share": 0.03,
    "central_districts": list(CENTRAL_DISTRICTS),
    "sensors_per_district": 3,
    "car_parks_per_district": 2,
    "traffic_every_s": 300,
    "parking_every_s": 300,
    "congested_speed_kmh": 20.0,
    "incidents_per_sensor_day": 0.15,
    "timezone": None,
}

ON_TIME_S = 180
"""A vehicle within three minutes of its timetable is on time."""
MAX_DELAY_S = 20 * 60
"""The largest simulated delay (severe trips run 10-20 minutes late)."""

RULES = """\
rules:
  - id: mobility-congestion
    description: A road sensor has reported congestion for 15 minutes
    type: TrafficFlowObserved
    when: {q: congested==true, for: 15m}
    cooldown: 1h
    then:
      - notify: {severity: medium, category: traffic, subCategory: trafficJam,
                 description: "{id}: congested for 15 minutes"}
  - id: mobility-car-park-full
    description: A car park has had no free spot for 30 minutes
    type: OffStreetParking
    when: {q: availableSpotNumber==0, for: 30m}
    cooldown: 2h
    then:
      - notify: {severity: low, category: traffic, subCategory: carParkFull,
                 description: "{id}: full for 30 minutes"}
  - id: mobility-vehicle-late
    description: A vehicle in service more than 10 minutes behind its timetable
    type: Vehicle
    when: {q: delay>600;serviceStatus=="onRoute", for: 0}
    cooldown: 30m
    then:
      - notify: {severity: medium, category: traffic, subCategory: vehicleDelay,
                 description: "{id} is {value} s late"}
"""

_WEEKDAY_TRAFFIC = (
    0.08, 0.05, 0.04, 0.04, 0.07, 0.18, 0.45, 0.88, 0.97, 0.75, 0.62, 0.62,
    0.60, 0.60, 0.63, 0.70, 0.82, 0.97, 0.92, 0.72, 0.56, 0.45, 0.30, 0.15,
)  # fmt: skip
"""Share of a road's capacity demanded, per local hour of a working day (simulated)."""
_WEEKEND_TRAFFIC = (
    0.12, 0.08, 0.05, 0.04, 0.04, 0.08, 0.15, 0.28, 0.45, 0.60, 0.70, 0.74,
    0.72, 0.70, 0.72, 0.74, 0.75, 0.74, 0.70, 0.62, 0.52, 0.42, 0.30, 0.20,
)  # fmt: skip
_OFFICE_PARKING = (
    0.08, 0.06, 0.05, 0.05, 0.05, 0.07, 0.15, 0.45, 0.85, 0.97, 1.00, 1.00,
    0.95, 0.97, 1.00, 0.98, 0.90, 0.60, 0.35, 0.22, 0.16, 0.12, 0.10, 0.09,
)  # fmt: skip
"""Share of a car park's demand present, per local hour of a working day (simulated)."""
_SHOPPING_PARKING = (
    0.05, 0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.25, 0.45, 0.65, 0.80,
    0.85, 0.85, 0.88, 0.90, 0.92, 0.95, 1.00, 1.00, 0.90, 0.60, 0.30, 0.12,
)  # fmt: skip

_VEHICLE_TYPES = {0: "tram", 3: "bus", 5: "tram", 11: "trolley"}
"""GTFS route_type → Vehicle vehicleType (the model has no train or metro: "other")."""


# -- geometry -------------------------------------------------------------------------------


class _Path:
    """A line in local metres (equirectangular about its middle: exact enough for a city)."""

    def __init__(self, lonlat: Sequence[tuple[float, float]]) -> None:
        lat0 = math.radians(sum(p[1] for p in lonlat) / len(lonlat))
        self.kx, self.ky = 111_320.0 * math.cos(lat0), 110_540.0
        self.line = LineString([(lon * self.kx, lat * self.ky) for lon, lat in lonlat])
        self.length = float(self.line.length)
        cumulative = [0.0]
        coords = list(self.line.coords)
        for (x0, y0), (x1, y1) in itertools.pairwise(coords):
            cumulative.append(cumulative[-1] + math.hypot(x1 - x0, y1 - y0))
        self.cumulative = cumulative

    def project(self, lon: float, lat: float) -> float:
        return float(self.line.project(Point(lon * self.kx, lat * self.ky)))

    def at(self, distance: float) -> tuple[float, float, float]:
        """(lon, lat, bearing in degrees from north) `distance` metres along."""
        d = min(max(distance, 0.0), self.length)
        here = self.line.interpolate(d)
        ahead, behind = min(d + 5.0, self.length), max(d - 5.0, 0.0)
        a, b = (
            (here, self.line.interpolate(ahead))
            if ahead > d
            else (
                self.line.interpolate(behind),
                here,
            )
        )
        bearing = math.degrees(math.atan2(b.x - a.x, b.y - a.y)) % 360.0
        return round(here.x / self.kx, 6), round(here.y / self.ky, 6), round(bearing, 1)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat0 = math.radians((a[1] + b[1]) / 2)
    return math.hypot((b[0] - a[0]) * 111_320.0 * math.cos(lat0), (b[1] - a[1]) * 110_540.0)


# -- timetable ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    """One trip ready to run: stop times and the stops' distances along its path."""

    trip: Trip
    path: _Path
    arrivals: list[int]
    departures: list[int]
    distances: list[float]

    @property
    def start(self) -> int:
        return self.departures[0]

    @property
    def end(self) -> int:
        return self.arrivals[-1]

    def position(self, seconds: float) -> tuple[float, float, float, float]:
        """(lon, lat, bearing, speed km/h) at `seconds` of the service day's timetable."""
        i = bisect_right(self.departures, seconds) - 1
        if i < 0:
            return (*self.path.at(self.distances[0]), 0.0)
        if i >= len(self.arrivals) - 1 or seconds < self.arrivals[i]:
            return (*self.path.at(self.distances[min(i, len(self.distances) - 1)]), 0.0)
        leave, reach = self.departures[i], self.arrivals[i + 1]
        if seconds >= reach:  # dwelling at stop i + 1
            return (*self.path.at(self.distances[i + 1]), 0.0)
        span = self.distances[i + 1] - self.distances[i]
        fraction = (seconds - leave) / max(reach - leave, 1)
        speed = span / max(reach - leave, 1) * 3.6
        return (*self.path.at(self.distances[i] + fraction * span), round(speed, 1))


def _plans(feed: Feed) -> list[_Plan]:
    """Every trip with at least two timed stops, placed on its shape (or its stops' line)."""
    paths: dict[str, _Path] = {}
    placed: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    plans = []
    for trip in feed.trips.values():
        times = feed.stop_times.get(trip.id, [])
        if len(times) < 2 or times[0].departure is None or times[-1].arrival is None:
            continue
        stops = [feed.stops[t.stop] for t in times]
        shape_ = feed.shapes.get(trip.shape) if trip.shape else None
        key = (trip.shape or "", tuple(t.stop for t in times))
        if shape_ is not None:
            path = paths.get(shape_.id)
            if path is None:
                path = paths[shape_.id] = _Path(shape_.points)
            distances = placed.get(key)
            if distances is None:
                distances = placed[key] = _place(path, shape_, times, stops)
        else:
            path = _Path([(s.lon, s.lat) for s in stops])
            distances = [path.project(s.lon, s.lat) for s in stops]
            distances = _monotonic(distances)
        arrivals, departures = _filled(times, distances)
        plans.append(_Plan(trip, path, arrivals, departures, distances))
    return plans


def _place(path: _Path, shape_: Shape, times: list[StopTime], stops: list[Stop]) -> list[float]:
    """Stops' distances (metres) along the shape: by shape_dist_traveled when the feed
    gives it for the shape and every stop, else by projection (never going backwards)."""
    given = [t.distance for t in times]
    if shape_.distances is not None and all(d is not None for d in given):
        metres = []
        for value in given:
            assert value is not None
            j = bisect_right(shape_.distances, value) - 1
            j = min(max(j, 0), len(shape_.distances) - 2)
            d0, d1 = shape_.distances[j], shape_.distances[j + 1]
            f = 0.0 if d1 == d0 else min(max((value - d0) / (d1 - d0), 0.0), 1.0)
            metres.append(path.cumulative[j] + f * (path.cumulative[j + 1] - path.cumulative[j]))
        return _monotonic(metres)
    return _monotonic([path.project(s.lon, s.lat) for s in stops])


def _monotonic(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in values:
        out.append(max(value, out[-1]) if out else value)
    return out


def _filled(times: list[StopTime], distances: list[float]) -> tuple[list[int], list[int]]:
    """Arrivals and departures with untimed stops interpolated by distance."""
    arrivals: list[int | None] = [t.arrival for t in times]
    departures: list[int | None] = [t.departure for t in times]
    known = [i for i, a in enumerate(arrivals) if a is not None and departures[i] is not None]
    for k0, k1 in itertools.pairwise(known):
        t0, t1 = departures[k0], arrivals[k1]
        assert t0 is not None and t1 is not None
        span = distances[k1] - distances[k0]
        for i in range(k0 + 1, k1):
            f = (distances[i] - distances[k0]) / span if span > 0 else (i - k0) / (k1 - k0)
            arrivals[i] = departures[i] = round(t0 + f * (t1 - t0))
    return [int(a or 0) for a in arrivals], [int(d or 0) for d in departures]


# -- the generated network ------------------------------------------------------------------


def generated_feed(
    districts: Sequence[District], params: dict[str, Any], rng: random.Random, start: date
) -> Feed:
    """A simulated bus network between district representative points (see the module)."""
    feed = Feed()
    feed.agencies.append(
        Agency("cq-sim-bus", "Simulated buses (cityos simulator)", timezone="Asia/Shanghai")
    )
    feed.calendars["daily"] = Calendar(
        "daily", (True,) * 7, start - timedelta(days=1), start + timedelta(days=3650)
    )
    points = {d.name: d.centroid() for d in districts}
    pairs = sorted(
        (_metres(points[a], points[b]), a, b)
        for i, a in enumerate(points)
        for b in list(points)[i + 1 :]
    )
    speed = float(params["bus_speed_kmh"]) / 3.6
    headway = int(float(params["headway_minutes"]) * 60)
    first = gtfs.parse_time(f"{params['first_departure']}:00") or 6 * 3600
    last = gtfs.parse_time(f"{params['last_departure']}:00") or 22 * 3600
    for number, (_, a, b) in enumerate(pairs[: int(params["bus_routes"])], start=1):
        route_id = f"S{number}"
        feed.routes[route_id] = Route(
            route_id,
            3,
            agency="cq-sim-bus",
            short_name=route_id,
            long_name=f"{a} - {b} (simulated)",
        )
        line = _curve(points[a], points[b], rng.uniform(-0.15, 0.15))
        path = _Path(line)
        count = max(2, round(path.length / float(params["stop_spacing_m"])) + 1)
        stops = []
        for j in range(count):
            lon, lat, _ = path.at(path.length * j / (count - 1))
            stop = Stop(f"{route_id}-{j + 1}", f"{route_id} stop {j + 1} (simulated)", lon, lat)
            feed.stops[stop.id] = stop
            stops.append(stop)
        pace = speed * rng.uniform(0.85, 1.15)
        for direction in (0, 1):
            shape_id = f"{route_id}-{direction}"
            ordered = stops if direction == 0 else stops[::-1]
            feed.shapes[shape_id] = Shape(shape_id, line if direction == 0 else line[::-1])
            offset = rng.randrange(0, max(headway, 1), 60)
            for k, leave in enumerate(range(first + offset, last + 1, headway)):
                trip_id = f"{route_id}-{direction}-{k + 1}"
                feed.trips[trip_id] = Trip(
                    trip_id,
                    route_id,
                    "daily",
                    headsign=ordered[-1].name,
                    direction=direction,
                    shape=shape_id,
                )
                feed.stop_times[trip_id] = _timed(ordered, leave, pace, int(params["dwell_s"]))
    return feed


def _curve(
    a: tuple[float, float], b: tuple[float, float], bend: float
) -> list[tuple[float, float]]:
    """A quadratic Bézier from a to b bowed sideways by `bend` x its length: a road is not
    a ruler line, and the route is simulated anyway."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    cx, cy = mx - (b[1] - a[1]) * bend, my + (b[0] - a[0]) * bend
    out = []
    for i in range(31):
        t = i / 30
        x = (1 - t) ** 2 * a[0] + 2 * (1 - t) * t * cx + t**2 * b[0]
        y = (1 - t) ** 2 * a[1] + 2 * (1 - t) * t * cy + t**2 * b[1]
        out.append((round(x, 6), round(y, 6)))
    return out


def _timed(stops: list[Stop], leave: int, pace: float, dwell: int) -> list[StopTime]:
    out, now = [], float(leave)
    for j, stop in enumerate(stops):
        if j:
            now += _metres((stops[j - 1].lon, stops[j - 1].lat), (stop.lon, stop.lat)) / pace
        arrival = round(now)
        departure = arrival + (dwell if 0 < j < len(stops) - 1 else 0)
        out.append(StopTime(stop.id, j + 1, arrival, departure))
        now = float(departure)
    return out


# -- simulated devices ----------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """One trip on one service day, with the vehicle running it."""

    plan: _Plan
    day: date
    target: float
    """The delay (s) it builds up to."""
    vehicle: str
    last_report: datetime | None = None


@dataclass(slots=True)
class _Sensor:
    device: str
    lanes: int
    free_speed: float
    demand: float
    noise: float = 0.0
    incident_until: datetime | None = None
    last: datetime | None = None


@dataclass(slots=True)
class _CarPark:
    device: str
    total: int
    demand: float
    profile: tuple[float, ...]
    occupied: float = 0.0
    last: datetime | None = None


@dataclass(slots=True)
class _Pool:
    devices: list[str] = field(default_factory=list)
    busy: set[str] = field(default_factory=set)

    def take(self) -> str | None:
        for device in self.devices:
            if device not in self.busy:
                self.busy.add(device)
                return device
        return None


class MobilityPack:
    """Transit vehicles on their timetable, traffic sensors and car parks (see the module)."""

    name = "mobility"
    entity_types: Sequence[str] = (
        "Vehicle",
        "TrafficFlowObserved",
        "OffStreetParking",
        *gtfs.ENTITY_TYPES,
    )
    case_categories: Sequence[str] = ()

    def __init__(self) -> None:
        self.params: dict[str, Any] = dict(DEFAULTS)
        self.feed = Feed()
        self.prefix = "cq-sim"
        self.plans: list[_Plan] = []
        self.by_service: dict[str, list[_Plan]] = defaultdict(list)
        self.pools: dict[str, _Pool] = {}
        self.runs: dict[tuple[date, str], _Run] = {}
        self.sensors: list[_Sensor] = []
        self.car_parks: list[_CarPark] = []
        self.zone = ZoneInfo("Asia/Shanghai")
        self.rng = random.Random(0)
        self.seed = 0
        self.skipped = 0
        """Trip runs that found no free vehicle in their route's pool."""
        self._services: dict[date, set[str]] = {}

    # -- setup ----------------------------------------------------------------------------

    def setup(self, ctx: SimContext) -> Setup:
        self.params = {**DEFAULTS, **ctx.params}
        self.rng = ctx.rng
        self.seed = ctx.rng.getrandbits(64)
        central = self._central(ctx)
        setup = Setup(rules=RULES)
        if self.params["gtfs"]:
            path = Path(self.params["gtfs"])
            path = path if path.is_absolute() else ctx.data / path
            self.feed, _ = read_feed(path)
            self.prefix = self.params["prefix"] or default_prefix(path)
            provider = None
        else:
            self.feed = generated_feed(central, self.params, ctx.rng, ctx.start.date())
            self.prefix = self.params["prefix"] or "cq-sim"
            provider = SIMULATOR
        self.zone = _zone(self.params["timezone"] or self.feed.timezone() or "Asia/Shanghai")
        self.plans = _plans(self.feed)
        for plan in self.plans:
            self.by_service[plan.trip.service].append(plan)
        setup.entities.extend(feed_entities(self.feed, self.prefix, provider))
        if self.params["rail_network"]:
            path = Path(self.params["rail_network"])
            rail = read_line_network(
                path if path.is_absolute() else ctx.data / path,
                str(self.params["rail_operator"]),
                self.zone.key,
            )
            setup.entities.extend(
                feed_entities(rail, self.params["rail_prefix"], self.params["rail_provider"])
            )
        setup.devices.extend(self._vehicles(ctx.apikey))
        for district in central:
            for n in range(int(self.params["sensors_per_district"])):
                setup.entities.append(self._sensor(ctx, district, n + 1))
            for n in range(int(self.params["car_parks_per_district"])):
                setup.entities.append(self._car_park(ctx, district, n + 1))
        setup.devices.extend(self._static_devices(ctx.apikey, setup.entities))
        return setup

    def _central(self, ctx: SimContext) -> list[District]:
        found = []
        for name in self.params["central_districts"] or ():
            district = ctx.districts.find(name)
            if district is not None and district not in found:
                found.append(district)
        return found

    def _vehicles(self, apikey: str) -> list[dict[str, Any]]:
        """A pool per route, as large as the route's most vehicles at once on any day of
        the feed (every trip held up to the largest delay), plus one."""
        need = self._pool_sizes()
        devices = []
        for index, route in enumerate(self.feed.routes.values()):
            pool = self.pools[route.id] = _Pool()
            for n in range(1, need.get(route.id, 0) + 1):
                device = f"mob-{slug(self.prefix)}-r{index}-v{n}"
                pool.devices.append(device)
                devices.append(self._vehicle_device(device, route, n, apikey))
        return devices

    def _pool_sizes(self) -> dict[str, int]:
        period = self.feed.period()
        if period is None:
            return {}
        seen: set[frozenset[str]] = set()
        need: dict[str, int] = {}
        day = period[0]
        while day <= period[1]:
            services = frozenset(self.feed.services_on(day))
            day += timedelta(days=1)
            if services in seen:
                continue
            seen.add(services)
            events: dict[str, list[tuple[int, int]]] = defaultdict(list)
            for service in services:
                for plan in self.by_service.get(service, ()):
                    events[plan.trip.route].append((plan.start, 1))
                    events[plan.trip.route].append((plan.end + MAX_DELAY_S, -1))
            for route, changes in events.items():
                level = peak = 0
                for _, change in sorted(changes, key=lambda e: (e[0], e[1])):
                    level += change
                    peak = max(peak, level)
                need[route] = max(need.get(route, 0), peak + 1)
        return need

    def _vehicle_device(self, device: str, route: Route, n: int, apikey: str) -> dict[str, Any]:
        label = route.short_name or route.long_name or route.id
        kind = _VEHICLE_TYPES.get(route.route_type, "other")
        return {
            "device_id": device,
            "apikey": apikey,
            "entity_name": entity_id("Vehicle", self.prefix, f"{slug(route.id) or 'route'}-{n}"),
            "entity_type": "Vehicle",
            "timestamp": True,
            "attributes": [
                {"object_id": "location", "name": "location", "type": "GeoProperty"},
                {"object_id": "speed", "name": "speed", "type": "Number", "unitCode": "KMH"},
                {"object_id": "bearing", "name": "bearing", "type": "Number", "unitCode": "DD"},
                {"object_id": "delay", "name": "delay", "type": "Number", "unitCode": "SEC"},
                {"object_id": "serviceStatus", "name": "serviceStatus", "type": "Text"},
                {"object_id": "currentTrip", "name": "currentTrip", "type": "Relationship"},
            ],
            "static_attributes": [
                {"name": "name", "type": "Text", "value": f"{label} vehicle {n} (simulated)"},
                {"name": "vehicleType", "type": "Text", "value": kind},
                {
                    "name": "category",
                    "type": "Property",
                    "value": ["public", "nonTracked" if kind == "bus" else "tracked"],
                },
                {"name": "fleetVehicleId", "type": "Text", "value": f"{label}-{n}"},
                {
                    "name": "hasRoute",
                    "type": "Relationship",
                    "value": entity_id("GtfsRoute", self.prefix, route.id),
                },
                {"name": "dataProvider", "type": "Text", "value": SIMULATOR},
            ],
        }

    def _sensor(self, ctx: SimContext, district: District, n: int) -> dict[str, Any]:
        lon, lat = random_point(ctx.rng, district)
        key = f"{slug(district.name)}-{n}"
        lanes = ctx.rng.choice((2, 3, 3, 4))
        self.sensors.append(
            _Sensor(
                f"mob-traffic-{key}",
                lanes,
                free_speed=round(ctx.rng.uniform(40, 60)),
                demand=ctx.rng.uniform(0.8, 1.12),
            )
        )
        return {
            "id": f"urn:ngsi-ld:TrafficFlowObserved:cq-{key}",
            "type": "TrafficFlowObserved",
            "name": prop(f"{district.name} road sensor {n} (simulated)"),
            "location": point(lon, lat),
            "laneDirection": prop(ctx.rng.choice(("forward", "backward"))),
            "areaServed": prop(district.name),
            "dataProvider": prop(SIMULATOR),
        }

    def _car_park(self, ctx: SimContext, district: District, n: int) -> dict[str, Any]:
        lon, lat = random_point(ctx.rng, district)
        key = f"{slug(district.name)}-{n}"
        total = ctx.rng.randrange(150, 810, 10)
        shopping = ctx.rng.random() < 0.5
        self.car_parks.append(
            _CarPark(
                f"mob-parking-{key}",
                total,
                demand=ctx.rng.uniform(0.75, 1.15),
                profile=_SHOPPING_PARKING if shopping else _OFFICE_PARKING,
            )
        )
        return {
            "id": f"urn:ngsi-ld:OffStreetParking:cq-{key}",
            "type": "OffStreetParking",
            "name": prop(f"{district.name} car park {n} (simulated)"),
            "location": point(lon, lat),
            "totalSpotNumber": prop(total),
            "category": prop(["public", "feeCharged"]),
            "allowedVehicleType": prop(["car"]),
            "description": prop("shopping" if shopping else "offices"),
            "areaServed": prop(district.name),
            "dataProvider": prop(SIMULATOR),
        }

    def _static_devices(self, apikey: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = {e["id"] for e in entities}
        devices = []
        for sensor in self.sensors:
            entity = "urn:ngsi-ld:TrafficFlowObserved:cq-" + sensor.device.removeprefix(
                "mob-traffic-"
            )
            assert entity in ids
            devices.append(
                {
                    "device_id": sensor.device,
                    "apikey": apikey,
                    "entity_name": entity,
                    "entity_type": "TrafficFlowObserved",
                    "timestamp": True,
                    "attributes": [
                        {"object_id": "intensity", "name": "intensity", "type": "Number"},
                        {
                            "object_id": "averageVehicleSpeed",
                            "name": "averageVehicleSpeed",
                            "type": "Number",
                            "unitCode": "KMH",
                        },
                        {"object_id": "occupancy", "name": "occupancy", "type": "Number"},
                        {"object_id": "congested", "name": "congested", "type": "Boolean"},
                    ],
                }
            )
        for park in self.car_parks:
            entity = "urn:ngsi-ld:OffStreetParking:cq-" + park.device.removeprefix("mob-parking-")
            devices.append(
                {
                    "device_id": park.device,
                    "apikey": apikey,
                    "entity_name": entity,
                    "entity_type": "OffStreetParking",
                    "timestamp": True,
                    "attributes": [
                        {"object_id": name, "name": name, "type": "Number"}
                        for name in ("availableSpotNumber", "occupiedSpotNumber", "occupancy")
                    ],
                }
            )
        return devices

    # -- step -----------------------------------------------------------------------------

    def step(self, now: datetime, dt: timedelta) -> list[Reading]:
        readings = self._vehicle_readings(now)
        local = now.astimezone(self.zone)
        for sensor in self.sensors:
            reading = self._traffic(sensor, now, local)
            if reading is not None:
                readings.append(reading)
        for park in self.car_parks:
            reading = self._parking(park, now, local)
            if reading is not None:
                readings.append(reading)
        return readings

    def feed_day(self, day: date) -> date:
        """The day of the feed's period whose timetable runs on `day` (see the module)."""
        period = self.feed.period()
        if period is None or period[0] <= day <= period[1]:
            return day
        if day > period[1]:
            return day - timedelta(weeks=math.ceil((day - period[1]).days / 7))
        return day + timedelta(weeks=math.ceil((period[0] - day).days / 7))

    def services(self, day: date) -> set[str]:
        found = self._services.get(day)
        if found is None:
            found = self._services[day] = self.feed.services_on(self.feed_day(day))
        return found

    def _vehicle_readings(self, now: datetime) -> list[Reading]:
        local = now.astimezone(self.zone)
        active: dict[tuple[date, str], tuple[_Plan, float]] = {}
        for back in (0, 1):
            day = local.date() - timedelta(days=back)
            midnight = datetime.combine(day, time(), tzinfo=self.zone)
            seconds = (local - midnight).total_seconds()
            for service in self.services(day):
                for plan in self.by_service.get(service, ()):
                    if plan.start <= seconds <= plan.end + 2 * MAX_DELAY_S:
                        active[(day, plan.trip.id)] = (plan, seconds)
        readings: list[Reading] = []
        every = timedelta(seconds=float(self.params["report_every_s"]))
        for key, (plan, seconds) in sorted(active.items(), key=lambda item: item[0]):
            run = self.runs.get(key)
            target = run.target if run else self._target(key)
            delay = _delay(target, seconds - plan.start)
            scheduled = seconds - delay
            if scheduled > plan.end:
                continue  # finished; closed below
            if run is None:
                vehicle = (
                    self.pools[plan.trip.route].take() if plan.trip.route in self.pools else None
                )
                if vehicle is None:
                    self.skipped += 1
                    continue
                run = self.runs[key] = _Run(plan, key[0], target, vehicle)
            if run.last_report is None or now - run.last_report >= every:
                run.last_report = now
                readings.append(self._vehicle_reading(run, now, scheduled, delay))
        for key in [k for k in self.runs if k not in active or self._finished(k, active)]:
            run = self.runs.pop(key)
            self.pools[run.plan.trip.route].busy.discard(run.vehicle)
            readings.append(self._parked(run, now))
        return readings

    def _finished(
        self, key: tuple[date, str], active: dict[tuple[date, str], tuple[_Plan, float]]
    ) -> bool:
        plan, seconds = active[key]
        run = self.runs[key]
        return seconds - _delay(run.target, seconds - plan.start) > plan.end

    def _target(self, key: tuple[date, str]) -> float:
        """The delay a trip run builds up to: drawn from the seed, the day and the trip."""
        rng = random.Random(f"{self.seed}:{key[0].isoformat()}:{key[1]}")
        draw = rng.random()
        severe, late = float(self.params["severe_share"]), float(self.params["late_share"])
        if draw < severe:
            return rng.uniform(600, MAX_DELAY_S)
        if draw < severe + late:
            return rng.uniform(180, 540)
        return rng.uniform(-60, 120)

    def _vehicle_reading(self, run: _Run, now: datetime, scheduled: float, delay: float) -> Reading:
        lon, lat, bearing, speed = run.plan.position(scheduled)
        return Reading(
            run.vehicle,
            {
                "location": [lon, lat],
                "speed": speed,
                "bearing": bearing,
                "delay": round(delay),
                "serviceStatus": "onRoute",
                "currentTrip": entity_id("GtfsTrip", self.prefix, run.plan.trip.id),
                "TimeInstant": iso_time(now.timestamp()),
            },
        )

    def _parked(self, run: _Run, now: datetime) -> Reading:
        lon, lat, bearing, _ = run.plan.position(run.plan.end)
        return Reading(
            run.vehicle,
            {
                "location": [lon, lat],
                "speed": 0.0,
                "bearing": bearing,
                "serviceStatus": "parked",
                "TimeInstant": iso_time(now.timestamp()),
            },
        )

    def _traffic(self, sensor: _Sensor, now: datetime, local: datetime) -> Reading | None:
        every = timedelta(seconds=float(self.params["traffic_every_s"]))
        if sensor.last is not None and now - sensor.last < every:
            return None
        sensor.last = now
        per_day = float(self.params["incidents_per_sensor_day"])
        if sensor.incident_until is None or now >= sensor.incident_until:
            sensor.incident_until = None
            if self.rng.random() < per_day * every.total_seconds() / 86_400:
                sensor.incident_until = now + timedelta(minutes=self.rng.uniform(20, 60))
        sensor.noise = 0.8 * sensor.noise + self.rng.gauss(0, 0.06)
        capacity = sensor.lanes * 1800.0 * every.total_seconds() / 3600  # vehicles per period
        demand = (
            capacity
            * _profile(_traffic_table(local), local)
            * sensor.demand
            * math.exp(sensor.noise)
        )
        if sensor.incident_until is not None:
            capacity *= 0.5
        ratio = demand / capacity
        flow = min(demand, capacity)
        free = sensor.free_speed
        if ratio <= 1:
            speed = free / (1 + 0.15 * ratio**4)
        else:
            speed = free / 1.15 * max(0.12, 1 - 1.6 * (ratio - 1))
        per_lane_hour = flow * 3600 / every.total_seconds() / sensor.lanes
        occupancy = min(0.95, per_lane_hour / speed * 0.0065)  # density x 6.5 m per vehicle
        return Reading(
            sensor.device,
            {
                "intensity": round(flow),
                "averageVehicleSpeed": round(speed, 1),
                "occupancy": round(occupancy, 3),
                "congested": speed < float(self.params["congested_speed_kmh"]),
                "TimeInstant": iso_time(now.timestamp()),
            },
        )

    def _parking(self, park: _CarPark, now: datetime, local: datetime) -> Reading | None:
        every = timedelta(seconds=float(self.params["parking_every_s"]))
        if park.last is not None and now - park.last < every:
            return None
        first = park.last is None
        park.last = now
        share = _profile(park.profile, local) * park.demand
        if local.weekday() >= 5 and park.profile is _OFFICE_PARKING:
            share *= 0.35
        wanted = share * park.total
        if first:
            park.occupied = wanted
        park.occupied += 0.35 * (wanted - park.occupied) + self.rng.gauss(0, 0.01 * park.total)
        park.occupied = min(max(park.occupied, 0.0), float(park.total))
        occupied = park.total if share >= 1.0 else round(park.occupied)
        return Reading(
            park.device,
            {
                "availableSpotNumber": park.total - occupied,
                "occupiedSpotNumber": occupied,
                "occupancy": round(occupied / park.total, 3),
                "TimeInstant": iso_time(now.timestamp()),
            },
        )

    # -- KPIs -----------------------------------------------------------------------------

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        return [
            *vehicle_kpis(city),
            stop_coverage(city),
            traffic_speed(city, now),
            car_park_occupancy(city),
            high_capacity_network(city),
        ]


PACK = MobilityPack


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _delay(target: float, elapsed: float) -> float:
    """The delay `elapsed` seconds after the trip's scheduled start: it builds up linearly
    over max(10 min, 2 x |target|), so the vehicle never runs backwards (the timetable
    clock advances at least half as fast as the real one)."""
    ramp = max(600.0, 2 * abs(target))
    return target * min(1.0, max(elapsed, 0.0) / ramp)


def _traffic_table(local: datetime) -> tuple[float, ...]:
    return _WEEKEND_TRAFFIC if local.weekday() >= 5 else _WEEKDAY_TRAFFIC


def _profile(table: tuple[float, ...], local: datetime) -> float:
    """The table's value at the local time, linear between the hours' middles."""
    hour = local.hour + local.minute / 60 + local.second / 3600 - 0.5
    i = math.floor(hour) % 24
    f = hour - math.floor(hour)
    return table[i] * (1 - f) + table[(i + 1) % 24] * f


# -- KPI functions (on what the broker holds) ----------------------------------------------


def _route_label(route_id: object) -> str:
    text = str(route_id or "")
    return unquote(text.rsplit(":", 1)[-1]) if text else "unknown"


def vehicle_kpis(city: CityView) -> list[Kpi]:
    """Vehicles in service (serviceStatus onRoute) and the share of those reporting a delay
    that are within three minutes of the timetable (a vehicle with no delay attribute says
    nothing about punctuality and is left out of the share)."""
    moving = city.entities("Vehicle", q='serviceStatus=="onRoute"')
    per_route: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, float | None] = defaultdict(float)
    for vehicle in moving:
        route = _route_label(vehicle.get("hasRoute"))
        counts[route] = (counts[route] or 0) + 1
        delay = vehicle.get("delay")
        if isinstance(delay, int | float) and not isinstance(delay, bool):
            per_route[route].append(float(delay))
    delays = [d for values in per_route.values() for d in values]
    on_time = sum(1 for d in delays if abs(d) <= ON_TIME_S)
    return [
        Kpi(
            "mobility.vehicles-in-service",
            "Vehicles in service",
            float(len(moving)),
            "vehicles",
            "Vehicle entities whose serviceStatus is onRoute now.",
            dict(sorted(counts.items())),
        ),
        Kpi(
            "mobility.on-time-share",
            "On-time share",
            round(100 * on_time / len(delays), 1) if delays else None,
            "%",
            "Share of vehicles in service whose delay is within ±3 minutes.",
            {
                route: round(100 * sum(1 for d in values if abs(d) <= ON_TIME_S) / len(values), 1)
                for route, values in sorted(per_route.items())
            },
        ),
    ]


def stop_coverage(city: CityView) -> Kpi:
    """GtfsStop entities inside each District entity's boundary: the share of districts
    with at least one stop, and the count per district."""
    districts = []
    for district in city.entities("District"):
        geometry = district.get("boundary") or district.get("location")
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            continue
        districts.append((_district_name(district), shape(geometry)))
    if not districts:
        return Kpi(
            "mobility.stop-coverage",
            "Districts with a stop",
            None,
            "%",
            "Share of districts with at least one GtfsStop inside (no District boundaries).",
        )
    counts = dict.fromkeys((name for name, _ in districts), 0)
    for stop in city.entities("GtfsStop"):
        where = stop.get("location")
        if not isinstance(where, dict) or where.get("type") != "Point":
            continue
        lon, lat = where["coordinates"][:2]
        for name, geometry in districts:
            if shapely.intersects_xy(geometry, lon, lat):
                counts[name] += 1
                break
    covered = sum(1 for c in counts.values() if c > 0)
    return Kpi(
        "mobility.stop-coverage",
        "Districts with a stop",
        round(100 * covered / len(counts), 1),
        "%",
        "Share of districts with at least one GtfsStop inside; breakdown: stops per district.",
        {name: float(c) for name, c in counts.items()},
    )


def _district_name(district: dict[str, Any]) -> str:
    name = district.get("name")
    if isinstance(name, dict):
        name = name.get("en") or next(iter(name.values()), None)
    return str(name or district.get("id"))


def traffic_speed(city: CityView, now: datetime, window: timedelta = timedelta(hours=1)) -> Kpi:
    """The mean over road sensors of each one's average speed in the last hour (from the
    history store); breakdown per district (areaServed)."""
    history = city.aggregate("TrafficFlowObserved", "averageVehicleSpeed", "avg", now - window, now)
    means = {
        entity: values[0][1]
        for entity, values in history.items()
        if values and values[0][1] is not None
    }
    areas = {
        e["id"]: str(e.get("areaServed") or "unknown") for e in city.entities("TrafficFlowObserved")
    }
    per_area: dict[str, list[float]] = defaultdict(list)
    for entity, speed in means.items():
        assert speed is not None
        per_area[areas.get(entity, "unknown")].append(speed)
    values = list(means.values())
    return Kpi(
        "mobility.traffic-speed",
        "Average traffic speed",
        round(sum(v for v in values if v is not None) / len(values), 1) if values else None,
        "km/h",
        "Mean over road sensors of their average speed in the last hour.",
        {area: round(sum(v) / len(v), 1) for area, v in sorted(per_area.items())},
    )


def car_park_occupancy(city: CityView) -> Kpi:
    """Occupied spots over all spots of the car parks reporting both numbers now."""
    total = occupied = 0.0
    per_area: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for park in city.entities("OffStreetParking"):
        spots, free = park.get("totalSpotNumber"), park.get("availableSpotNumber")
        if not isinstance(spots, int | float) or not isinstance(free, int | float) or spots <= 0:
            continue
        total += spots
        occupied += spots - free
        area = per_area[str(park.get("areaServed") or "unknown")]
        area[0] += spots - free
        area[1] += spots
    return Kpi(
        "mobility.car-park-occupancy",
        "Car park occupancy",
        round(100 * occupied / total, 1) if total else None,
        "%",
        "Occupied spots over total spots of the car parks, now.",
        {name: round(100 * o / t, 1) for name, (o, t) in sorted(per_area.items())},
    )


def high_capacity_route(route_type: str) -> bool:
    """Metro, subway and rail (GTFS route_type 1, 2, 12, and the extended railway and urban
    railway types 100-199 and 400-499): what ISO 37120 counts as high capacity; trams,
    buses, ferries and cable cars are not."""
    try:
        kind = int(route_type)
    except ValueError:
        return False
    return kind in (1, 2, 12) or 100 <= kind < 200 or 400 <= kind < 500


def high_capacity_network(city: CityView) -> Kpi:
    """Route length of the high-capacity lines loaded: the shapes their trips follow, each
    stretch of track once (see `network_length_m`); per route in the breakdown. None when
    no high-capacity route is loaded: a bus operator's feed says nothing of a metro, so
    "no data", never 0. A lower bound of the city's system (`lower_bound`): it counts only
    the lines the data hold."""
    routes = {
        str(r["id"]): str(r.get("shortName") or r.get("name") or r["id"])
        for r in city.entities("GtfsRoute")
        if high_capacity_route(str(r.get("routeType", "")))
    }
    shape_ids: dict[str, set[str]] = defaultdict(set)
    if routes:
        for trip in city.entities("GtfsTrip"):
            route, trip_shape = trip.get("hasRoute"), trip.get("hasShape")
            if route in routes and isinstance(trip_shape, str):
                shape_ids[str(route)].add(trip_shape)
    lines: dict[str, list[list[float]]] = {}
    if shape_ids:
        for found in city.entities("GtfsShape"):
            geometry = found.get("location")
            if isinstance(geometry, dict) and geometry.get("type") == "LineString":
                lines[str(found["id"])] = geometry["coordinates"]
    per_route = {
        routes[route]: [lines[s] for s in sorted(ids) if s in lines]
        for route, ids in shape_ids.items()
    }
    every = [(name, line) for name, drawn in per_route.items() for line in drawn]
    value = (
        network_length_m([line for _, line in every], routes=[name for name, _ in every]) / 1000
        if routes
        else None
    )
    return Kpi(
        "mobility.high-capacity-km",
        "High-capacity transit network",
        None if value is None else round(value, 2),
        "km",
        "Route length of the metro, monorail and rail lines loaded (GTFS or a mapped network), "
        "from their shapes; track shared by directions or routes counted once. A lower bound: "
        "lines missing from the data are not counted.",
        {
            name: round(network_length_m(drawn) / 1000, 2)
            for name, drawn in sorted(per_route.items())
        },
        lower_bound=True,
    )


__all__ = ["DEFAULTS", "PACK", "MobilityPack", "generated_feed"]
