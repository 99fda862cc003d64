"""GTFS feeds into cityos: read with partridge, check, and load as NGSI-LD entities.

The files are read by the established GTFS library partridge (`load_raw_feed`: every
column as text, no row dropped), so this module only decides what each row means and
whether it is sound. Problems are reported per file and data row (row 1 is the first row
after the header) and never stop the import: a bad row is left out, the rest loads.
Only a feed that cannot be read at all raises `GtfsError`.

Entities follow the Smart Data Models of dataModel.UrbanMobility: `GtfsAgency`,
`GtfsStop` (location_type 0), `GtfsStation` (1), `GtfsAccessPoint` (2), `GtfsRoute`,
`GtfsTrip`, `GtfsShape` (a LineString with `distanceTravelled` when the feed gives it),
`GtfsService`, `GtfsCalendarRule` and `GtfsCalendarDateRule`. Stop times are *not* made
into `GtfsStopTime` entities: New York's subway alone has 86,150 of them, which would
dwarf the rest of the city. Each trip instead carries its stop times in `stopTimes`, a
JsonProperty (not part of the GtfsTrip model) listing objects with the GtfsStopTime
attribute names `hasStop`, `stopSequence`, `arrivalTime`, `departureTime` and, when
given, `distanceTravelled`.

Ids are `urn:ngsi-ld:<Type>:<prefix>:<GTFS id>` (the GTFS id percent-encoded where a URI
needs it), so two feeds with different prefixes never collide.
"""

from __future__ import annotations

import itertools
import math
import warnings
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import partridge as ptg

from cityos.context.broker import Broker, utc_now
from cityos.context.errors import NgsiError
from cityos.context.jsonld import Terms, core_terms
from cityos.context.normalize import BatchItem, parse_entity

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
"""Besides these, a feed needs calendar.txt or calendar_dates.txt (GTFS reference)."""

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_name", "agency_url", "agency_timezone"),
    "stops.txt": ("stop_id",),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence"),
    "shapes.txt": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
    "calendar.txt": ("service_id", *DAYS, "start_date", "end_date"),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
}

ENTITY_TYPES = (
    "GtfsAgency",
    "GtfsStop",
    "GtfsStation",
    "GtfsAccessPoint",
    "GtfsRoute",
    "GtfsShape",
    "GtfsService",
    "GtfsCalendarRule",
    "GtfsCalendarDateRule",
    "GtfsTrip",
)
_STOP_TYPES = {0: "GtfsStop", 1: "GtfsStation", 2: "GtfsAccessPoint"}
"""location_type → entity type; generic nodes (3) and boarding areas (4) are not loaded."""


class GtfsError(Exception):
    """The feed cannot be read at all (not a file, not a zip or folder, unreadable)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the feed; `row` is the data row (1 = first after the header),
    None when the problem is with the whole file."""

    file: str
    row: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        return f"{where}: {self.message}"


@dataclass(slots=True)
class Agency:
    id: str
    name: str
    url: str | None = None
    timezone: str | None = None
    lang: str | None = None
    phone: str | None = None


@dataclass(slots=True)
class Stop:
    id: str
    name: str
    lon: float
    lat: float
    location_type: int = 0
    parent: str | None = None
    code: str | None = None
    description: str | None = None
    zone: str | None = None
    url: str | None = None
    wheelchair: int | None = None


@dataclass(slots=True)
class Route:
    id: str
    route_type: int
    agency: str | None = None
    short_name: str | None = None
    long_name: str | None = None
    color: str | None = None
    text_color: str | None = None
    url: str | None = None
    description: str | None = None


@dataclass(slots=True)
class Trip:
    id: str
    route: str
    service: str
    headsign: str | None = None
    short_name: str | None = None
    direction: int | None = None
    shape: str | None = None
    block: str | None = None
    wheelchair: int | None = None
    bikes: int | None = None


@dataclass(slots=True)
class StopTime:
    stop: str
    sequence: int
    arrival: int | None
    """Seconds after the service day's noon minus 12 h (GTFS time); may exceed 24 h."""
    departure: int | None
    distance: float | None = None
    """shape_dist_traveled, in the feed's own unit."""


@dataclass(slots=True)
class Shape:
    id: str
    points: list[tuple[float, float]]
    """(lon, lat) in sequence order."""
    distances: list[float] | None = None


@dataclass(slots=True)
class Calendar:
    service: str
    days: tuple[bool, ...]
    start: date
    end: date


@dataclass(slots=True)
class CalendarDate:
    service: str
    day: date
    exception: int
    """1: service added on that day; 2: removed."""


@dataclass(slots=True)
class Feed:
    """A GTFS feed as checked Python objects (what the importer and the mobility pack use)."""

    agencies: list[Agency] = field(default_factory=list)
    stops: dict[str, Stop] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    trips: dict[str, Trip] = field(default_factory=dict)
    stop_times: dict[str, list[StopTime]] = field(default_factory=dict)
    """Per trip, in stop_sequence order."""
    shapes: dict[str, Shape] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    calendar_dates: list[CalendarDate] = field(default_factory=list)

    def services(self) -> list[str]:
        """Every service id the calendars or the trips name, in first-seen order."""
        found = dict.fromkeys(self.calendars)
        found.update(dict.fromkeys(d.service for d in self.calendar_dates))
        found.update(dict.fromkeys(t.service for t in self.trips.values()))
        return list(found)

    def services_on(self, day: date) -> set[str]:
        """The services running on `day`: calendar.txt's weekdays within its dates, then
        calendar_dates.txt's additions and removals (GTFS reference semantics)."""
        running = {
            c.service
            for c in self.calendars.values()
            if c.start <= day <= c.end and c.days[day.weekday()]
        }
        for exception in self.calendar_dates:
            if exception.day == day:
                if exception.exception == 1:
                    running.add(exception.service)
                else:
                    running.discard(exception.service)
        return running

    def period(self) -> tuple[date, date] | None:
        """First and last day any calendar entry covers; None without calendars."""
        days = [c.start for c in self.calendars.values()] + [d.day for d in self.calendar_dates]
        ends = [c.end for c in self.calendars.values()] + [d.day for d in self.calendar_dates]
        return (min(days), max(ends)) if days else None

    def timezone(self) -> str | None:
        """The agencies' time zone, in which every GTFS time of day is written."""
        return next((a.timezone for a in self.agencies if a.timezone), None)


# -- reading --------------------------------------------------------------------------------


def read_feed(path: Path | str) -> tuple[Feed, list[Problem]]:
    """A feed and the problems found in it; `GtfsError` only if it cannot be read."""
    source = Path(path)
    if not source.exists():
        raise GtfsError(f"{source}: no such file or folder")
    if source.is_file() and not zipfile.is_zipfile(source):
        raise GtfsError(f"{source}: not a zip archive")
    try:
        with warnings.catch_warnings():
            # partridge 1.1 calls DataFrame.rename(inplace=True), deprecated in pandas 3.1
            warnings.filterwarnings("ignore", message="The inplace keyword")
            raw = ptg.load_raw_feed(str(source))
            tables = {name: _table(raw, name) for name in REQUIRED_COLUMNS}
    except (OSError, ValueError, UnicodeError, pd.errors.ParserError, zipfile.BadZipFile) as error:
        raise GtfsError(f"{source}: {error}") from error
    problems: list[Problem] = []
    usable = {name: _check_columns(name, df, problems) for name, df in tables.items()}
    if not usable["calendar.txt"] and not usable["calendar_dates.txt"]:
        problems.append(
            Problem("calendar.txt", None, "neither calendar.txt nor calendar_dates.txt")
        )
    feed = Feed()
    _read_agencies(feed, tables["agency.txt"], usable["agency.txt"], problems)
    _read_stops(feed, tables["stops.txt"], usable["stops.txt"], problems)
    _read_routes(feed, tables["routes.txt"], usable["routes.txt"], problems)
    _read_calendars(feed, tables, usable, problems)
    _read_shapes(feed, tables["shapes.txt"], usable["shapes.txt"], problems)
    _read_trips(feed, tables["trips.txt"], usable["trips.txt"], problems)
    _read_stop_times(feed, tables["stop_times.txt"], usable["stop_times.txt"], problems)
    return feed, problems


def _table(raw: Any, name: str) -> pd.DataFrame:
    frame: pd.DataFrame = raw.get(name)
    return frame


def _check_columns(name: str, frame: pd.DataFrame, problems: list[Problem]) -> bool:
    """Whether the file can be read row by row; missing files and columns are reported."""
    if len(frame.columns) == 0:
        if name in REQUIRED_FILES:
            problems.append(Problem(name, None, "required file is missing or empty"))
        return False
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        problems.append(Problem(name, None, f"required column(s) missing: {', '.join(missing)}"))
        return False
    return True


def _rows(frame: pd.DataFrame) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(data row number from 1, the row with empty cells as None)."""
    for index, record in enumerate(frame.to_dict("records"), start=1):
        yield index, {str(k): _cell(v) for k, v in record.items()}


def _cell(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_time(value: str | None) -> int | None:
    """A GTFS time H:MM:SS (hours may pass 24) in seconds; None when blank or malformed."""
    if value is None:
        return None
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds = (int(p) for p in parts)
    if minutes > 59 or seconds > 59:
        return None
    return hours * 3600 + minutes * 60 + seconds


def format_time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def _coordinates(
    row: dict[str, str | None], lat_key: str, lon_key: str
) -> tuple[float, float] | None:
    lat, lon = _float(row.get(lat_key)), _float(row.get(lon_key))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:
        return None  # "null island": a placeholder, not a place
    return lon, lat


def _read_agencies(feed: Feed, frame: pd.DataFrame, ok: bool, problems: list[Problem]) -> None:
    if not ok:
        return
    for row_number, row in _rows(frame):
        name = row.get("agency_name")
        if name is None:
            problems.append(Problem("agency.txt", row_number, "agency_name is empty"))
            continue
        feed.agencies.append(
            Agency(
                id=row.get("agency_id") or name,
                name=name,
                url=row.get("agency_url"),
                timezone=row.get("agency_timezone"),
                lang=row.get("agency_lang"),
                phone=row.get("agency_phone"),
            )
        )


def _read_stops(feed: Feed, frame: pd.DataFrame, ok: bool, problems: list[Problem]) -> None:
    if not ok:
        return
    for row_number, row in _rows(frame):
        stop_id = row.get("stop_id")
        if stop_id is None:
            problems.append(Problem("stops.txt", row_number, "stop_id is empty"))
            continue
        if stop_id in feed.stops:
            problems.append(Problem("stops.txt", row_number, f"stop_id {stop_id!r} is repeated"))
            continue
        kind = _int(row.get("location_type")) or 0
        where = _coordinates(row, "stop_lat", "stop_lon")
        if where is None:
            if kind in (3, 4):  # generic nodes and boarding areas may have no position
                continue
            lat, lon = row.get("stop_lat"), row.get("stop_lon")
            problems.append(
                Problem("stops.txt", row_number, f"stop {stop_id!r}: bad coordinates {lat}, {lon}")
            )
            continue
        feed.stops[stop_id] = Stop(
            id=stop_id,
            name=row.get("stop_name") or stop_id,
            lon=where[0],
            lat=where[1],
            location_type=kind,
            parent=row.get("parent_station"),
            code=row.get("stop_code"),
            description=row.get("stop_desc"),
            zone=row.get("zone_id"),
            url=row.get("stop_url"),
            wheelchair=_int(row.get("wheelchair_boarding")),
        )
    for stop in feed.stops.values():
        if stop.parent is not None and stop.parent not in feed.stops:
            problems.append(
                Problem(
                    "stops.txt", None, f"stop {stop.id!r}: unknown parent_station {stop.parent!r}"
                )
            )
            stop.parent = None


def _read_routes(feed: Feed, frame: pd.DataFrame, ok: bool, problems: list[Problem]) -> None:
    if not ok:
        return
    agencies = {a.id for a in feed.agencies}
    for row_number, row in _rows(frame):
        route_id, route_type = row.get("route_id"), _int(row.get("route_type"))
        if route_id is None or route_type is None:
            problems.append(
                Problem("routes.txt", row_number, "route_id or route_type is empty or bad")
            )
            continue
        agency = row.get("agency_id")
        if agency is not None and agencies and agency not in agencies:
            problems.append(
                Problem(
                    "routes.txt", row_number, f"route {route_id!r}: unknown agency_id {agency!r}"
                )
            )
        feed.routes[route_id] = Route(
            id=route_id,
            route_type=route_type,
            agency=agency if agency in agencies else None,
            short_name=row.get("route_short_name"),
            long_name=row.get("route_long_name"),
            color=row.get("route_color"),
            text_color=row.get("route_text_color"),
            url=row.get("route_url"),
            description=row.get("route_desc"),
        )


def _read_calendars(
    feed: Feed, tables: dict[str, pd.DataFrame], usable: dict[str, bool], problems: list[Problem]
) -> None:
    if usable["calendar.txt"]:
        for row_number, row in _rows(tables["calendar.txt"]):
            service, start, end = (
                row.get("service_id"),
                _date(row.get("start_date")),
                _date(row.get("end_date")),
            )
            flags = [row.get(day) for day in DAYS]
            if (
                service is None
                or start is None
                or end is None
                or any(f not in ("0", "1") for f in flags)
            ):
                problems.append(
                    Problem("calendar.txt", row_number, "bad service_id, weekday flag or date")
                )
                continue
            if end < start:
                problems.append(
                    Problem(
                        "calendar.txt", row_number, f"service {service!r} ends before it starts"
                    )
                )
                continue
            feed.calendars[service] = Calendar(service, tuple(f == "1" for f in flags), start, end)
    if usable["calendar_dates.txt"]:
        for row_number, row in _rows(tables["calendar_dates.txt"]):
            service, day = row.get("service_id"), _date(row.get("date"))
            exception = _int(row.get("exception_type"))
            if service is None or day is None or exception not in (1, 2):
                problems.append(
                    Problem(
                        "calendar_dates.txt", row_number, "bad service_id, date or exception_type"
                    )
                )
                continue
            feed.calendar_dates.append(CalendarDate(service, day, exception))


def _read_shapes(feed: Feed, frame: pd.DataFrame, ok: bool, problems: list[Problem]) -> None:
    if not ok:
        return
    points: dict[str, list[tuple[int, float, float, float | None]]] = defaultdict(list)
    for row_number, row in _rows(frame):
        shape_id, sequence = row.get("shape_id"), _int(row.get("shape_pt_sequence"))
        where = _coordinates(row, "shape_pt_lat", "shape_pt_lon")
        if shape_id is None or sequence is None or where is None:
            problems.append(
                Problem("shapes.txt", row_number, "bad shape_id, shape_pt_sequence or coordinates")
            )
            continue
        distance = _float(row.get("shape_dist_traveled"))
        points[shape_id].append((sequence, where[0], where[1], distance))
    for shape_id, found in points.items():
        found.sort()
        if len(found) < 2:
            problems.append(
                Problem(
                    "shapes.txt",
                    None,
                    f"shape {shape_id!r} has {len(found)} point: at least 2 needed",
                )
            )
            continue
        distances = [p[3] for p in found]
        known = [d for d in distances if d is not None]
        usable = len(known) == len(found) and all(b >= a for a, b in itertools.pairwise(known))
        feed.shapes[shape_id] = Shape(
            shape_id, [(p[1], p[2]) for p in found], known if usable else None
        )


def _read_trips(feed: Feed, frame: pd.DataFrame, ok: bool, problems: list[Problem]) -> None:
    if not ok:
        return
    services = set(feed.calendars) | {d.service for d in feed.calendar_dates}
    for row_number, row in _rows(frame):
        trip_id, route, service = row.get("trip_id"), row.get("route_id"), row.get("service_id")
        if trip_id is None or route is None or service is None:
            problems.append(
                Problem("trips.txt", row_number, "trip_id, route_id or service_id is empty")
            )
            continue
        if route not in feed.routes:
            problems.append(
                Problem("trips.txt", row_number, f"trip {trip_id!r}: unknown route_id {route!r}")
            )
            continue
        if service not in services:
            problems.append(
                Problem(
                    "trips.txt",
                    row_number,
                    f"trip {trip_id!r}: service_id {service!r} has no calendar",
                )
            )
        shape = row.get("shape_id")
        if shape is not None and shape not in feed.shapes:
            problems.append(
                Problem(
                    "trips.txt",
                    row_number,
                    f"trip {trip_id!r}: unknown or unusable shape_id {shape!r}",
                )
            )
            shape = None
        feed.trips[trip_id] = Trip(
            id=trip_id,
            route=route,
            service=service,
            headsign=row.get("trip_headsign"),
            short_name=row.get("trip_short_name"),
            direction=_int(row.get("direction_id")),
            shape=shape,
            block=row.get("block_id"),
            wheelchair=_int(row.get("wheelchair_accessible")),
            bikes=_int(row.get("bikes_allowed")),
        )


def _read_stop_times(feed: Feed, frame: pd.DataFrame, ok: bool, problems: list[Problem]) -> None:
    if not ok:
        return
    rows: dict[str, list[tuple[int, int, StopTime]]] = defaultdict(list)
    for row_number, row in _rows(frame):
        trip_id, stop_id = row.get("trip_id"), row.get("stop_id")
        sequence = _int(row.get("stop_sequence"))
        if trip_id is None or stop_id is None or sequence is None:
            problems.append(
                Problem(
                    "stop_times.txt",
                    row_number,
                    "trip_id, stop_id or stop_sequence is empty or bad",
                )
            )
            continue
        if trip_id not in feed.trips:
            problems.append(Problem("stop_times.txt", row_number, f"unknown trip_id {trip_id!r}"))
            continue
        if stop_id not in feed.stops:
            problems.append(Problem("stop_times.txt", row_number, f"unknown stop_id {stop_id!r}"))
            continue
        times = []
        for key in ("arrival_time", "departure_time"):
            raw = row.get(key)
            seconds = parse_time(raw)
            if raw is not None and seconds is None:
                problems.append(Problem("stop_times.txt", row_number, f"bad {key} {raw!r}"))
            times.append(seconds)
        arrival, departure = times[0] if times[0] is not None else times[1], times[1]
        departure = departure if departure is not None else arrival
        distance = _float(row.get("shape_dist_traveled"))
        rows[trip_id].append(
            (sequence, row_number, StopTime(stop_id, sequence, arrival, departure, distance))
        )
    for trip_id, found in rows.items():
        found.sort(key=lambda item: item[0])
        kept: list[StopTime] = []
        last: int | None = None
        for _, row_number, stop_time in found:
            if kept and stop_time.sequence == kept[-1].sequence:
                problems.append(
                    Problem(
                        "stop_times.txt", row_number, f"trip {trip_id!r}: stop_sequence repeated"
                    )
                )
                continue
            first = stop_time.arrival if stop_time.arrival is not None else stop_time.departure
            if first is not None and last is not None and first < last:
                problems.append(
                    Problem(
                        "stop_times.txt",
                        row_number,
                        f"trip {trip_id!r}: time goes backwards at stop_sequence "
                        f"{stop_time.sequence}",
                    )
                )
                continue
            if stop_time.departure is not None and stop_time.arrival is not None:
                if stop_time.departure < stop_time.arrival:
                    stop_time.departure = stop_time.arrival
                last = stop_time.departure
            kept.append(stop_time)
        feed.stop_times[trip_id] = kept
    for trip_id in feed.trips:
        timed = feed.stop_times.get(trip_id, [])
        if len(timed) < 2 or timed[0].departure is None or timed[-1].arrival is None:
            problems.append(
                Problem("trips.txt", None, f"trip {trip_id!r}: fewer than 2 timed stop times")
            )


# -- entities -------------------------------------------------------------------------------


def entity_id(kind: str, prefix: str, gtfs_id: str) -> str:
    """`urn:ngsi-ld:<kind>:<prefix>:<id>`, the GTFS id percent-encoded where a URI needs it."""
    return f"urn:ngsi-ld:{kind}:{prefix}:{quote(gtfs_id, safe='-._~:@!$&()*+,;=')}"


def _prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


def _rel(target: str) -> dict[str, Any]:
    return {"type": "Relationship", "object": target}


def _put(body: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        body[name] = _prop(value)


def _iso(day: date) -> dict[str, Any]:
    return {"@type": "Date", "@value": day.isoformat()}


def feed_entities(feed: Feed, prefix: str, provider: str | None = None) -> Iterator[dict[str, Any]]:
    """The feed as normalized NGSI-LD entities (short names, core @context), referenced
    entities before those that refer to them."""
    yield from _agency_entities(feed, prefix, provider)
    for stop in feed.stops.values():
        kind = _STOP_TYPES.get(stop.location_type)
        if kind is None:
            continue
        body: dict[str, Any] = {
            "id": entity_id(kind, prefix, stop.id),
            "type": kind,
            "name": _prop(stop.name),
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [stop.lon, stop.lat]},
            },
        }
        _put(body, "code", stop.code)
        _put(body, "description", stop.description)
        _put(body, "zoneCode", stop.zone)
        _put(body, "page", stop.url)
        _put(
            body, "wheelChairAccessible", None if stop.wheelchair is None else str(stop.wheelchair)
        )
        if stop.parent is not None:
            parent = feed.stops[stop.parent]
            parent_kind = _STOP_TYPES.get(parent.location_type, "GtfsStation")
            body["hasParentStation"] = _rel(entity_id(parent_kind, prefix, stop.parent))
        yield _provided(body, provider)
    agencies = {a.id for a in feed.agencies}
    only_agency = feed.agencies[0].id if len(feed.agencies) == 1 else None
    for route in feed.routes.values():
        body = {
            "id": entity_id("GtfsRoute", prefix, route.id),
            "type": "GtfsRoute",
            "routeType": _prop(str(route.route_type)),
        }
        _put(body, "shortName", route.short_name)
        _put(body, "name", route.long_name or route.short_name)
        _put(body, "description", route.description)
        _put(body, "page", route.url)
        _put(body, "routeColor", route.color)
        _put(body, "routeTextColor", route.text_color)
        agency = route.agency or only_agency
        if agency is not None and agency in agencies:
            body["operatedBy"] = _rel(entity_id("GtfsAgency", prefix, agency))
        yield _provided(body, provider)
    for shape in feed.shapes.values():
        body = {
            "id": entity_id("GtfsShape", prefix, shape.id),
            "type": "GtfsShape",
            "location": {
                "type": "GeoProperty",
                "value": {"type": "LineString", "coordinates": [list(p) for p in shape.points]},
            },
        }
        _put(body, "distanceTravelled", shape.distances)
        yield _provided(body, provider)
    yield from _calendar_entities(feed, prefix, provider, only_agency)
    for trip in feed.trips.values():
        yield _provided(_trip_entity(feed, trip, prefix), provider)


def _agency_entities(feed: Feed, prefix: str, provider: str | None) -> Iterator[dict[str, Any]]:
    for agency in feed.agencies:
        body: dict[str, Any] = {
            "id": entity_id("GtfsAgency", prefix, agency.id),
            "type": "GtfsAgency",
            "agencyName": _prop(agency.name),
            "name": _prop(agency.name),
        }
        _put(body, "page", agency.url)
        _put(body, "timezone", agency.timezone)
        _put(body, "language", agency.lang)
        _put(body, "phone", agency.phone)
        yield _provided(body, provider)


def _calendar_entities(
    feed: Feed, prefix: str, provider: str | None, agency: str | None
) -> Iterator[dict[str, Any]]:
    for service in feed.services():
        body: dict[str, Any] = {
            "id": entity_id("GtfsService", prefix, service),
            "type": "GtfsService",
            "name": _prop(service),
        }
        if agency is not None:
            body["operatedBy"] = _rel(entity_id("GtfsAgency", prefix, agency))
        yield _provided(body, provider)
    for calendar in feed.calendars.values():
        body = {
            "id": entity_id("GtfsCalendarRule", prefix, calendar.service),
            "type": "GtfsCalendarRule",
            "hasService": _rel(entity_id("GtfsService", prefix, calendar.service)),
            "startDate": _prop(_iso(calendar.start)),
            "endDate": _prop(_iso(calendar.end)),
        }
        for name, running in zip(DAYS, calendar.days, strict=True):
            body[name] = _prop(running)
        yield _provided(body, provider)
    for exception in feed.calendar_dates:
        key = f"{exception.service}:{exception.day:%Y%m%d}"
        yield _provided(
            {
                "id": entity_id("GtfsCalendarDateRule", prefix, key),
                "type": "GtfsCalendarDateRule",
                "hasService": _rel(entity_id("GtfsService", prefix, exception.service)),
                "appliesOn": _prop(exception.day.isoformat()),
                "exceptionType": _prop(str(exception.exception)),
            },
            provider,
        )


def _trip_entity(feed: Feed, trip: Trip, prefix: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": entity_id("GtfsTrip", prefix, trip.id),
        "type": "GtfsTrip",
        "hasRoute": _rel(entity_id("GtfsRoute", prefix, trip.route)),
        "hasService": _rel(entity_id("GtfsService", prefix, trip.service)),
    }
    _put(body, "headSign", trip.headsign)
    _put(body, "shortName", trip.short_name)
    _put(body, "direction", trip.direction)
    _put(body, "block", trip.block)
    _put(body, "wheelChairAccessible", trip.wheelchair)
    _put(body, "bikesAllowed", trip.bikes)
    if trip.shape is not None:
        body["hasShape"] = _rel(entity_id("GtfsShape", prefix, trip.shape))
    stop_times = []
    for stop_time in feed.stop_times.get(trip.id, []):
        stop = feed.stops[stop_time.stop]
        item: dict[str, Any] = {
            "hasStop": entity_id(_STOP_TYPES.get(stop.location_type, "GtfsStop"), prefix, stop.id),
            "stopSequence": stop_time.sequence,
        }
        if stop_time.arrival is not None:
            item["arrivalTime"] = format_time(stop_time.arrival)
        if stop_time.departure is not None:
            item["departureTime"] = format_time(stop_time.departure)
        if stop_time.distance is not None:
            item["distanceTravelled"] = stop_time.distance
        stop_times.append(item)
    if stop_times:
        body["stopTimes"] = {"type": "JsonProperty", "json": stop_times}
    return body


def _provided(body: dict[str, Any], provider: str | None) -> dict[str, Any]:
    if provider is not None:
        body["dataProvider"] = _prop(provider)
    return body


# -- import ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportReport:
    """What an import loaded (per entity type) and what it found wrong."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """Entities the broker refused, with its reason (should stay empty)."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


Progress = Callable[[int, int], None]
"""Told (entities done, entities in all) after each batch."""


def default_prefix(path: Path | str) -> str:
    """`warsaw-wkd` for warsaw-wkd-gtfs.zip: what the file is called, without the obvious."""
    stem = Path(path).name.removesuffix(".zip")
    for suffix in ("-gtfs", "_gtfs", ".gtfs"):
        stem = stem.removesuffix(suffix)
    return quote(stem or "gtfs", safe="-._~")


def import_gtfs(
    path: Path | str,
    broker: Broker,
    *,
    tenant: str = "",
    prefix: str | None = None,
    progress: Progress | None = None,
    batch_size: int = 500,
    terms: Terms | None = None,
) -> ImportReport:
    """Read the feed at `path` and upsert its entities through the broker's batch path."""
    feed, problems = read_feed(path)
    report = ImportReport(problems=problems)
    bodies = list(feed_entities(feed, prefix or default_prefix(path), provider=None))
    load_entities(
        bodies, broker, report, tenant=tenant, progress=progress, batch_size=batch_size, terms=terms
    )
    return report


def load_entities(
    bodies: Sequence[dict[str, Any]],
    broker: Broker,
    report: ImportReport,
    *,
    tenant: str = "",
    progress: Progress | None = None,
    batch_size: int = 500,
    terms: Terms | None = None,
) -> None:
    """Upsert entity bodies in batches, counting per type what the broker took."""
    terms = terms or core_terms()
    types = {body["id"]: body["type"] for body in bodies}
    for start in range(0, len(bodies), batch_size):
        now = utc_now()
        items: list[BatchItem] = []
        for body in bodies[start : start + batch_size]:
            try:
                items.append((body["id"], parse_entity(body, terms, now)))
            except NgsiError as error:
                report.rejected.append(f"{body['id']}: {error.detail}")
        result, _ = broker.batch_upsert(tenant, items, replace=True)
        for entity in result.success:
            kind = types[entity]
            report.counts[kind] = report.counts.get(kind, 0) + 1
        report.rejected.extend(f"{e.entity_id}: {e.error.detail}" for e in result.errors)
        if progress is not None:
            progress(min(start + batch_size, len(bodies)), len(bodies))
