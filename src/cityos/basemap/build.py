"""Vector-tile base maps: GeoJSON/TopoJSON layers into one PMTiles v3 archive of MVT tiles.

A base map is a few layers (districts, rivers, metro lines…), each drawn between its own
zooms. Each feature is projected to Web Mercator once, then clipped down the tile quadtree
(a child is clipped from its parent's piece, never from the whole geometry again, so a
continent costs no more per tile than a district), simplified to the pixel of each zoom and
encoded with mapbox-vector-tile. The tiles go into a PMTiles archive (one file, read by the
browser with HTTP range requests) with the `vector_layers` metadata that map styles read.

Nothing here knows HTTP: the archive is a file; api/basemap.py serves it.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

EXTENT = 4096
"""Units across one tile (the MVT default)."""
BUFFER = 64
"""Extent units a line or polygon reaches past its tile, so strokes join across edges."""
SIMPLIFY = 2.0
"""Simplification tolerance, in extent units (1/8 of a screen pixel at 256 px tiles)."""
MAX_ZOOM = 16
DEFAULT_MAX_TILES = 100_000
"""A build that would write more tiles stops first: a typo in a zoom range (0-18 over a
country) must fail in a second, not fill the disk for an hour."""
MAX_LAT = 85.0511287798

Progress = Callable[[str, int, int], None]
"""(what, done, total): called as the build goes, for a progress bar."""


class BasemapError(ValueError):
    """A layer that cannot be read, or a build beyond its bounds."""


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """One layer of the archive: its name, its file (and TopoJSON object), its zooms."""

    name: str
    path: Path
    minzoom: int = 0
    maxzoom: int = 12
    object: str | None = None
    """The TopoJSON object to read; None: the first (GeoJSON has one)."""
    keep: Callable[[dict[str, Any]], bool] | None = field(default=None, compare=False)
    """Which features to keep (by properties); None: all."""
    properties: Callable[[dict[str, Any]], dict[str, Any]] | None = field(
        default=None, compare=False
    )
    """Properties to write for a feature; None: its own, as they are."""

    @classmethod
    def parse(cls, text: str) -> LayerSpec:
        """`NAME=FILE[#OBJECT][:MIN-MAX]`, as given to `cityos basemap build`."""
        found = re.fullmatch(
            r"(?P<name>[A-Za-z_][\w-]*)=(?P<path>[^#]+?)(?:#(?P<object>[^:]+))?"
            r"(?::(?P<min>\d+)-(?P<max>\d+))?",
            text,
        )
        if not found:
            raise BasemapError(f"{text!r}: give NAME=FILE[#OBJECT][:MINZOOM-MAXZOOM]")
        zooms = (int(found["min"]), int(found["max"])) if found["min"] is not None else (0, 12)
        spec = cls(found["name"], Path(found["path"]), *zooms, object=found["object"])
        if not 0 <= spec.minzoom <= spec.maxzoom <= MAX_ZOOM:
            raise BasemapError(f"{text!r}: zooms must satisfy 0 <= MIN <= MAX <= {MAX_ZOOM}")
        return spec


@dataclass(slots=True)
class Feature:
    """A feature in normalised Web Mercator (x, y in 0…1, y down) with its properties."""

    id: int
    geometry: BaseGeometry
    properties: dict[str, Any]


@dataclass(slots=True)
class BuildReport:
    """What a build wrote."""

    tiles: int
    features: dict[str, int]
    bytes: int
    bounds: tuple[float, float, float, float]


# -- reading -----------------------------------------------------------------------------


def read_features(spec: LayerSpec) -> list[dict[str, Any]]:
    """The GeoJSON features of a layer's file (a GeoJSON file, or one object of a TopoJSON)."""
    try:
        document = json.loads(spec.path.read_bytes())
    except (OSError, ValueError) as error:
        raise BasemapError(f"{spec.path}: {error}") from None
    if document.get("type") == "Topology":
        objects = document.get("objects") or {}
        name = spec.object or next(iter(objects), None)
        if name not in objects:
            raise BasemapError(f"{spec.path}: no object {name!r} (has {', '.join(objects)})")
        return topojson_features(document, objects[name])
    if document.get("type") == "FeatureCollection":
        return list(document.get("features") or [])
    if document.get("type") == "Feature":
        return [document]
    raise BasemapError(f"{spec.path}: neither GeoJSON nor TopoJSON")


def topojson_features(topology: dict[str, Any], obj: dict[str, Any]) -> list[dict[str, Any]]:
    """TopoJSON → GeoJSON features (the topojson-client `feature` function, for Python)."""
    transform = topology.get("transform")
    arcs: list[list[list[float]]] = []
    for quantised in topology["arcs"]:
        points = np.asarray(quantised, dtype=float)[:, :2]
        if transform:
            points = np.cumsum(points, axis=0) * transform["scale"] + transform["translate"]
        arcs.append(points.tolist())

    def arc(index: int) -> list[list[float]]:
        return arcs[index] if index >= 0 else arcs[~index][::-1]

    def line(indexes: Sequence[int]) -> list[list[float]]:
        points: list[list[float]] = []
        for i, index in enumerate(indexes):
            part = arc(index)
            points.extend(part[1:] if i else part)
        return points

    def point(position: Sequence[float]) -> list[float]:
        if not transform:
            return list(position[:2])
        scale, translate = transform["scale"], transform["translate"]
        return [position[0] * scale[0] + translate[0], position[1] * scale[1] + translate[1]]

    def geometry(o: dict[str, Any]) -> dict[str, Any] | None:
        kind, a = o.get("type"), o.get("arcs")
        coordinates: Any
        if kind == "Point":
            coordinates = point(o["coordinates"])
        elif kind == "MultiPoint":
            coordinates = [point(p) for p in o["coordinates"]]
        elif kind == "LineString":
            coordinates = line(a or [])
        elif kind == "MultiLineString":
            coordinates = [line(p) for p in a or []]
        elif kind == "Polygon":
            coordinates = [line(r) for r in a or []]
        elif kind == "MultiPolygon":
            coordinates = [[line(r) for r in p] for p in a or [] if p]
        else:
            return None
        return {"type": kind, "coordinates": coordinates} if coordinates else None

    members = obj["geometries"] if obj.get("type") == "GeometryCollection" else [obj]
    return [
        {"type": "Feature", "properties": m.get("properties") or {}, "geometry": geometry(m)}
        for m in members
    ]


def to_mercator(geometry: BaseGeometry) -> BaseGeometry:
    """lon/lat → normalised Web Mercator (0…1 both ways, y down), latitudes clamped."""

    def project(coords: np.ndarray) -> np.ndarray:
        lon = coords[:, 0]
        lat = np.radians(np.clip(coords[:, 1], -MAX_LAT, MAX_LAT))
        x = lon / 360.0 + 0.5
        y = 0.5 - np.log(np.tan(math.pi / 4 + lat / 2)) / (2 * math.pi)
        return np.column_stack((x, y))

    return shapely.transform(geometry, project)


def _value(value: Any) -> Any:
    """A property value MVT can carry (strings, numbers, booleans), or None to drop it."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return None


def _repaired(geometry: BaseGeometry) -> BaseGeometry:
    """A valid geometry of the same dimension (make_valid may add stray lines or points)."""
    dimension = shapely.get_dimensions(geometry)
    parts = shapely.get_parts(shapely.make_valid(geometry))
    kept = [p for p in parts if shapely.get_dimensions(p) == dimension]
    return shapely.union_all(kept) if kept else shapely.Point()


def load_layer(spec: LayerSpec, first_id: int = 1) -> list[Feature]:
    """A layer's features, projected, with MVT-ready properties and ids from `first_id`."""
    features: list[Feature] = []
    for raw in read_features(spec):
        if not raw.get("geometry"):
            continue
        properties = dict(raw.get("properties") or {})
        if spec.keep is not None and not spec.keep(properties):
            continue
        if spec.properties is not None:
            properties = spec.properties(properties)
        try:
            geometry = shape(raw["geometry"])
        except (ValueError, TypeError, AttributeError) as error:
            raise BasemapError(f"{spec.path}: a feature's geometry: {error}") from None
        if not geometry.is_valid:  # quantised TopoJSON rings may touch themselves
            geometry = _repaired(geometry)
        if geometry.is_empty:
            continue
        cleaned = {k: v for k, v in ((k, _value(v)) for k, v in properties.items())}
        features.append(
            Feature(
                first_id + len(features),
                to_mercator(geometry),
                {k: v for k, v in cleaned.items() if v is not None},
            )
        )
    return features


# -- tiling ------------------------------------------------------------------------------


def _tile_box(z: int, x: int, y: int, buffer: float) -> tuple[float, float, float, float]:
    size = 1.0 / (1 << z)
    pad = size * buffer / EXTENT
    return (x * size - pad, y * size - pad, (x + 1) * size + pad, (y + 1) * size + pad)


def _is_point(geometry: BaseGeometry) -> bool:
    return geometry.geom_type in ("Point", "MultiPoint")


def _clip(geometry: BaseGeometry, z: int, x: int, y: int) -> BaseGeometry | None:
    """The part of `geometry` in tile z/x/y (points: strictly inside, so drawn once)."""
    if _is_point(geometry):
        x0, y0, x1, y1 = _tile_box(z, x, y, 0)
        coords = shapely.get_coordinates(geometry)
        inside = coords[
            (coords[:, 0] >= x0) & (coords[:, 0] < x1) & (coords[:, 1] >= y0) & (coords[:, 1] < y1)
        ]
        if not len(inside):
            return None
        return shapely.multipoints(inside) if len(inside) > 1 else shapely.points(inside[0])
    clipped = shapely.clip_by_rect(geometry, *_tile_box(z, x, y, BUFFER))
    return None if clipped.is_empty else clipped


def _tiles_of(geometry: BaseGeometry, z: int) -> Iterator[tuple[int, int]]:
    """The tiles at zoom z that the geometry's box (with the buffer) touches."""
    n = 1 << z
    pad = BUFFER / EXTENT / n
    minx, miny, maxx, maxy = geometry.bounds
    for x in range(max(0, int((minx - pad) * n)), min(n - 1, int((maxx + pad) * n)) + 1):
        for y in range(max(0, int((miny - pad) * n)), min(n - 1, int((maxy + pad) * n)) + 1):
            yield x, y


def _in_tile_units(geometry: BaseGeometry, z: int, x: int, y: int) -> BaseGeometry:
    n = 1 << z

    def scale(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(((coords[:, 0] * n - x) * EXTENT, (coords[:, 1] * n - y) * EXTENT))

    return shapely.transform(geometry, scale)


def tile_layer(
    features: Iterable[Feature], minzoom: int, maxzoom: int
) -> dict[tuple[int, int, int], list[Feature]]:
    """The features' pieces per tile, in tile units: clipped down the quadtree from zoom 0."""
    tiles: dict[tuple[int, int, int], list[Feature]] = defaultdict(list)
    for feature in features:
        # start where the feature first fits in one tile: above it nothing is clipped away
        pending: list[tuple[int, int, int, BaseGeometry]] = []
        start = 0
        while start < minzoom and len(list(_tiles_of(feature.geometry, start + 1))) == 1:
            start += 1
        for x, y in _tiles_of(feature.geometry, start):
            piece = _clip(feature.geometry, start, x, y)
            if piece is not None:
                pending.append((start, x, y, piece))
        while pending:
            z, x, y, piece = pending.pop()
            if z >= minzoom:
                drawn = _in_tile_units(piece, z, x, y)
                if not _is_point(drawn):
                    drawn = drawn.simplify(SIMPLIFY, preserve_topology=False)
                    # MVT: exterior rings positive by the shoelace formula in tile units (y
                    # down), i.e. shapely's counter-clockwise; done here, in C, not by the
                    # encoder's per-ring check
                    drawn = shapely.orient_polygons(drawn, exterior_cw=False)
                if not drawn.is_empty:
                    tiles[(z, x, y)].append(Feature(feature.id, drawn, feature.properties))
            if z < maxzoom:
                for cx, cy in ((2 * x, 2 * y), (2 * x + 1, 2 * y), (2 * x, 2 * y + 1)):
                    _push(pending, piece, z + 1, cx, cy)
                _push(pending, piece, z + 1, 2 * x + 1, 2 * y + 1)
    return tiles


def _push(
    pending: list[tuple[int, int, int, BaseGeometry]],
    piece: BaseGeometry,
    z: int,
    x: int,
    y: int,
) -> None:
    child = _clip(piece, z, x, y)
    if child is not None:
        pending.append((z, x, y, child))


def encode_tile(layers: dict[str, list[Feature]]) -> bytes:
    """One MVT tile (gzip-compressed, as the archive's header says) of its layers' pieces."""
    data = mapbox_vector_tile.encode(
        [
            {
                "name": name,
                "features": [
                    {"geometry": f.geometry, "properties": f.properties, "id": f.id}
                    for f in features
                ],
            }
            for name, features in layers.items()
        ],
        default_options={"y_coord_down": True, "extents": EXTENT, "check_winding_order": False},
    )
    return gzip.compress(data, compresslevel=6, mtime=0)


# -- the archive -------------------------------------------------------------------------


def _geometry_kind(features: list[Feature]) -> str:
    kinds = {f.geometry.geom_type.removeprefix("Multi") for f in features}
    return "mixed" if len(kinds) > 1 else (next(iter(kinds), "empty"))


def build(
    out: Path,
    specs: Sequence[LayerSpec],
    *,
    attribution: str = "",
    name: str = "",
    max_tiles: int = DEFAULT_MAX_TILES,
    progress: Progress | None = None,
) -> BuildReport:
    """Write a PMTiles archive of the layers to `out`; a BasemapError before writing if a
    layer cannot be read or the archive would hold more than `max_tiles` tiles."""
    if not specs:
        raise BasemapError("no layers given")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise BasemapError("two layers have the same name")
    tiles: dict[tuple[int, int, int], dict[str, list[Feature]]] = defaultdict(dict)
    counts: dict[str, int] = {}
    kinds: dict[str, str] = {}
    fields: dict[str, dict[str, str]] = {}
    next_id = 1
    extent: list[tuple[float, float, float, float]] = []
    for index, spec in enumerate(specs):
        if progress:
            progress(f"tiling {spec.name}", index, len(specs))
        features = load_layer(spec, next_id)
        next_id += len(features)
        extent.extend(f.geometry.bounds for f in features)
        counts[spec.name] = len(features)
        kinds[spec.name] = _geometry_kind(features)
        fields[spec.name] = {
            k: "Number" if isinstance(v, int | float) and not isinstance(v, bool) else "String"
            for f in features
            for k, v in f.properties.items()
        }
        for key, pieces in tile_layer(features, spec.minzoom, spec.maxzoom).items():
            tiles[key][spec.name] = pieces
            if len(tiles) > max_tiles:
                raise BasemapError(
                    f"more than {max_tiles} tiles (at layer {spec.name}): narrow its zooms "
                    "or raise --max-tiles"
                )
    if not tiles:
        raise BasemapError("the layers hold no features")
    ordered = sorted(tiles, key=lambda k: zxy_to_tileid(*k))
    box = np.asarray(extent)
    bounds = _lonlat_bounds((box[:, 0].min(), box[:, 1].min(), box[:, 2].max(), box[:, 3].max()))
    with write(out) as writer:
        for done, key in enumerate(ordered):
            writer.write_tile(zxy_to_tileid(*key), encode_tile(tiles[key]))
            if progress and done % 256 == 0:
                progress("writing tiles", done, len(ordered))
        zooms = [z for z, _, _ in ordered]
        west, south, east, north = bounds
        header = {
            "tile_type": TileType.MVT,
            "tile_compression": Compression.GZIP,
            "min_lon_e7": int(west * 1e7),
            "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7),
            "max_lat_e7": int(north * 1e7),
            "center_zoom": (min(zooms) + max(zooms)) // 2,
            "center_lon_e7": int((west + east) / 2 * 1e7),
            "center_lat_e7": int((south + north) / 2 * 1e7),
        }
        metadata = {
            "name": name or out.stem,
            "format": "pbf",
            "attribution": attribution,
            "generator": "cityos basemap build",
            "vector_layers": [
                {
                    "id": s.name,
                    "minzoom": s.minzoom,
                    "maxzoom": s.maxzoom,
                    "fields": fields[s.name],
                    "geometry": kinds[s.name],
                }
                for s in specs
            ],
        }
        writer.finalize(header, metadata)
    if progress:
        progress("done", len(ordered), len(ordered))
    return BuildReport(len(ordered), counts, out.stat().st_size, bounds)


def _lonlat_bounds(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Normalised Mercator box → (west, south, east, north) in degrees."""
    x0, y0, x1, y1 = box

    def lat(y: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))

    return (float(x0) * 360 - 180, lat(float(y1)), float(x1) * 360 - 180, lat(float(y0)))
