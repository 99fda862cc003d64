"""A rail network drawn as GeoJSON (its lines and stations) as a GTFS feed without a timetable.

Where a city has no GTFS feed for its metro but its lines are mapped (OpenStreetMap route
relations, as in the packaged Chongqing Rail Transit file), the lines become `GtfsRoute`
and `GtfsShape` entities, the stations `GtfsStop`, and each line one `GtfsTrip` that ties
its route to its shape and lists its stations in order (`stopTimes` without times): the
GTFS Smart Data Models the mobility pack already speaks, made by the GTFS importer's own
`feed_entities`, so the network is queryable and measured like any imported feed.

The GeoJSON: LineString features with `kind` "metro_line", `id`, `ref`, `name`, `mode`
(metro, monorail, rail, tram…) and `colour` ("#rrggbb", or null when there is no official
one: then the route has no colour rather than a made-up one); Point features with `kind`
"station", `name` and `lines` (the refs of the lines calling there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from shapely.geometry import LineString, Point

from cityos.domains.common import slug
from cityos.ingest.gtfs import Agency, Feed, Route, Shape, Stop, StopTime, Trip

ROUTE_TYPES = {"tram": 0, "metro": 1, "subway": 1, "rail": 2, "monorail": 12}
"""GeoJSON `mode` → GTFS route_type (12: monorail, as GTFS defines it)."""
SERVICE = "network"
"""The one service every line's trip names: the network as built, not a timetable."""


def _short_name(ref: str, name: str) -> str:
    """A line's short name: its ref ("1"), or its name's first word where the ref is no
    name (OSM's "loop-" for the Loop Line)."""
    return ref if ref.isalnum() else name.split()[0]


def read_line_network(path: Path, agency: str, timezone: str, url: str | None = None) -> Feed:
    """The network in `path` as a Feed: one agency, the stations, one route, shape and
    trip per line (its stations ordered along the line)."""
    document: dict[str, Any] = orjson.loads(path.read_bytes())
    features = document.get("features", [])
    feed = Feed(agencies=[Agency("operator", agency, url=url, timezone=timezone)])
    stations: dict[str, list[str]] = {}
    for feature in features:
        properties, geometry = feature.get("properties") or {}, feature.get("geometry") or {}
        if properties.get("kind") != "station" or geometry.get("type") != "Point":
            continue
        name = str(properties["name"])
        stop_id = slug(name)
        while stop_id in feed.stops:  # "Hu Xi" and "Huxi": both kept, apart
            stop_id += "-2"
        lon, lat = geometry["coordinates"][:2]
        feed.stops[stop_id] = Stop(stop_id, name, float(lon), float(lat))
        for line in properties.get("lines") or ():
            stations.setdefault(str(line), []).append(stop_id)
    for feature in features:
        properties, geometry = feature.get("properties") or {}, feature.get("geometry") or {}
        if properties.get("kind") != "metro_line" or geometry.get("type") != "LineString":
            continue
        line_id, ref = str(properties["id"]), str(properties.get("ref") or properties["id"])
        name = str(properties.get("name") or ref)
        colour = properties.get("colour")
        feed.routes[line_id] = Route(
            id=line_id,
            route_type=ROUTE_TYPES.get(str(properties.get("mode", "metro")), 1),
            agency="operator",
            short_name=_short_name(ref, name),
            long_name=name,
            color=colour.lstrip("#").upper() if isinstance(colour, str) else None,
        )
        points = [(float(p[0]), float(p[1])) for p in geometry["coordinates"]]
        feed.shapes[line_id] = Shape(line_id, points)
        feed.trips[line_id] = Trip(line_id, line_id, SERVICE, headsign=name, shape=line_id)
        drawn = LineString(points)
        calling = stations.get(ref, [])
        along = sorted(
            calling,
            key=lambda s: drawn.project(Point(feed.stops[s].lon, feed.stops[s].lat)),
        )
        feed.stop_times[line_id] = [
            StopTime(stop, sequence, None, None) for sequence, stop in enumerate(along, 1)
        ]
    return feed
