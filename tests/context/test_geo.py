"""GeoJSON validation, geo-query parsing (CIM 009 4.10), exact matching and box prefilters."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityos.context.errors import BadRequestData
from cityos.context.geo import (
    EARTH_RADIUS_M,
    GeoMatcher,
    GeoQuery,
    distance_m,
    geometry_bounds,
    haversine_m,
    matches,
    parse_geo_query,
    prefilter_bounds,
    validate_geometry,
)

LOC = "https://uri.etsi.org/ngsi-ld/location"
JIEFANGBEI = (106.5770, 29.5587)
CHAOTIANMEN = (106.5862, 29.5657)
JIEFANGBEI_CHAOTIANMEN_M = 1181.90
"""WGS84 ellipsoidal geodesic distance (Vincenty) between the two landmarks."""


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def query(georel: str, geometry: dict[str, Any], **distances: float) -> GeoQuery:
    return GeoQuery(georel, geometry, LOC, distances.get("max"), distances.get("min"))


def destination(lon: float, lat: float, metres: float, bearing_deg: float) -> tuple[float, float]:
    """The point `metres` from (lon, lat) along `bearing_deg` on the sphere."""
    d = metres / EARTH_RADIUS_M
    phi, lam, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    phi2 = math.asin(math.sin(phi) * math.cos(d) + math.cos(phi) * math.sin(d) * math.cos(b))
    lam2 = lam + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(phi), math.cos(d) - math.sin(phi) * math.sin(phi2)
    )
    lon2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
    return lon2, math.degrees(phi2)


# -- validation -----------------------------------------------------------------------------

VALID = [
    point(106.577, 29.5587),
    {"type": "Point", "coordinates": [106, 29, 250.5]},
    {"type": "Point", "coordinates": [-180, -90]},
    {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]},
    {"type": "LineString", "coordinates": [[1, 2], [3, 4]]},
    {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[5, 6], [7, 8], [9, 9]]]},
    square(0, 0, 1, 1),
    {
        "type": "Polygon",
        "coordinates": [
            [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
            [[2, 2], [2, 4], [4, 4], [2, 2]],
        ],
    },
    {"type": "MultiPolygon", "coordinates": [square(0, 0, 1, 1)["coordinates"]]},
    {"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2]},
]


@pytest.mark.parametrize("geometry", VALID, ids=lambda g: str(g["type"]))
def test_valid_geometries_are_returned_unchanged(geometry: dict[str, Any]) -> None:
    assert validate_geometry(geometry) is geometry


INVALID = [
    ("not-an-object", "must be a GeoJSON geometry object, not a string"),
    ({"coordinates": [1, 2]}, "type must be one of"),
    ({"type": "Circle", "coordinates": [1, 2]}, "not 'Circle'"),
    ({"type": "GeometryCollection", "geometries": []}, "GeometryCollection is not allowed"),
    ({"type": "Point"}, "needs a coordinates member"),
    ({"type": "Point", "coordinates": [1]}, "Point coordinates must hold 2 or 3 numbers, not 1"),
    ({"type": "Point", "coordinates": [1, 2, 3, 4]}, "2 or 3 numbers, not 4"),
    ({"type": "Point", "coordinates": "1,2"}, "must be a position [longitude, latitude]"),
    ({"type": "Point", "coordinates": [1, "2"]}, "coordinates[1] must be a number, not a string"),
    ({"type": "Point", "coordinates": [True, 2]}, "coordinates[0] must be a number, not a boolean"),
    ({"type": "Point", "coordinates": [math.nan, 2]}, "coordinates[0] must be a finite number"),
    ({"type": "Point", "coordinates": [1, math.inf]}, "coordinates[1] must be a finite number"),
    ({"type": "Point", "coordinates": [180.5, 2]}, "longitude 180.5 is outside [-180, 180]"),
    ({"type": "Point", "coordinates": [1, -90.1]}, "latitude -90.1 is outside [-90, 90]"),
    ({"type": "MultiPoint", "coordinates": []}, "has 0 positions; needs at least 1"),
    ({"type": "MultiPoint", "coordinates": [[1, 2], [3]]}, "coordinates[1] must hold 2 or 3"),
    ({"type": "LineString", "coordinates": [[1, 2]]}, "a LineString needs at least 2"),
    (
        {"type": "LineString", "coordinates": [1, 2]},
        "LineString coordinates must be nested 2 array level(s) deep (an array of positions",
    ),
    ({"type": "MultiLineString", "coordinates": [[[1, 2]]]}, "coordinates[0] has 1 positions"),
    (
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
        "coordinates[0] has 3 positions; a linear ring needs at least 4",
    ),
    (
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        "coordinates[0]: a linear ring must end with its first position",
    ),
    (
        {"type": "Polygon", "coordinates": [[0, 0], [1, 0], [1, 1], [0, 0]]},
        "Polygon coordinates must be nested 3 array level(s) deep (an array of linear rings",
    ),
    ({"type": "Polygon", "coordinates": []}, "has 0 linear rings"),
    ({"type": "MultiPolygon", "coordinates": square(0, 0, 1, 1)["coordinates"]}, "not 3."),
    (
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]], [[1, 2]]]},
        "Polygon coordinates[1] has 1 positions; a linear ring needs at least 4",
    ),
    (
        {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [5, 6]]},
        "MultiLineString coordinates[1][0] must be a position [longitude, latitude], not the",
    ),
    ({"type": "Point", "coordinates": [1, 2], "bbox": [1, 2]}, "bbox must be an array of 4 or 6"),
]


@pytest.mark.parametrize(("value", "detail"), INVALID)
def test_invalid_geometries_are_rejected_with_a_precise_detail(value: object, detail: str) -> None:
    with pytest.raises(BadRequestData) as raised:
        validate_geometry(value)
    assert detail in raised.value.detail
    assert raised.value.status == 400


def test_validation_detail_names_the_caller() -> None:
    with pytest.raises(BadRequestData, match=r"^location: Point coordinates"):
        validate_geometry({"type": "Point", "coordinates": [1]}, what="location")


# -- parsing --------------------------------------------------------------------------------


def test_no_geo_parameters_means_no_geo_query() -> None:
    assert parse_geo_query(None, None, None, LOC) is None


def test_parse_near_point() -> None:
    q = parse_geo_query("near;maxDistance==2000", "Point", "[8.68,49.41]", LOC)
    assert q == GeoQuery("near", point(8.68, 49.41), LOC, 2000.0, None)
    q = parse_geo_query("near;minDistance==1.5e3", "Point", "[8,40]", "urn:x:space")
    assert q == GeoQuery("near", point(8, 40), "urn:x:space", None, 1500.0)


def test_parse_polygon_from_text_and_from_a_body_array() -> None:
    ring = [[100.0, 0.0], [101.0, 0.0], [101.0, 1.0], [100.0, 1.0], [100.0, 0.0]]
    from_url = parse_geo_query("within", "Polygon", str([ring]), LOC)
    from_body = parse_geo_query("within", "Polygon", [ring], LOC)
    assert (
        from_url == from_body == GeoQuery("within", {"type": "Polygon", "coordinates": [ring]}, LOC)
    )


@pytest.mark.parametrize(
    "georel", ["within", "contains", "intersects", "equals", "disjoint", "overlaps"]
)
def test_parse_every_topological_georel(georel: str) -> None:
    q = parse_geo_query(georel, "LineString", "[[1,2],[3,4]]", LOC)
    assert q is not None and q.georel == georel and q.max_distance is None


@pytest.mark.parametrize(
    ("geometry", "coordinates"),
    [
        ("MultiPoint", "[[1,2],[3,4]]"),
        ("MultiLineString", "[[[1,2],[3,4]]]"),
        ("MultiPolygon", "[[[[0,0],[1,0],[1,1],[0,0]]]]"),
    ],
)
def test_parse_multi_geometries(geometry: str, coordinates: str) -> None:
    q = parse_geo_query("intersects", geometry, coordinates, LOC)
    assert q is not None and q.geometry["type"] == geometry


PARSE_ERRORS: list[tuple[Any, Any, Any, str]] = [
    ("near;maxDistance==10", None, None, "missing geometry, coordinates"),
    (None, "Point", "[1,2]", "missing georel"),
    ("within", "Point", None, "missing coordinates"),
    ("nearby", "Point", "[1,2]", "georel must start with one of"),
    ("near", "Point", "[1,2]", "near takes exactly one modifier"),
    ("near;maxDistance==10;minDistance==1", "Point", "[1,2]", "exactly one modifier"),
    ("near;distance==10", "Point", "[1,2]", "must be maxDistance==<metres>"),
    ("near;maxDistance=10", "Point", "[1,2]", "must be maxDistance==<metres>"),
    ("near;maxDistance==0", "Point", "[1,2]", "positive number of metres, not '0'"),
    ("near;maxDistance==-5", "Point", "[1,2]", "not '-5'"),
    ("near;maxDistance==+5", "Point", "[1,2]", "not '+5'"),
    ("near;maxDistance==ten", "Point", "[1,2]", "not 'ten'"),
    ("near;maxDistance==NaN", "Point", "[1,2]", "not 'NaN'"),
    ("near;maxDistance==1e999", "Point", "[1,2]", "not '1e999'"),
    ("within;maxDistance==10", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", "takes no modifiers"),
    ("within", "point", "[1,2]", "case-sensitive: Point"),
    ("within", "Circle", "[1,2]", "geometry must be one of"),
    ("within", "GeometryCollection", "[]", "GeometryCollection cannot be used"),
    ("within", "Point", "8.68,49.41", "coordinates must be a JSON array"),
    ("within", "Point", "[8.68,49.41", "coordinates must be a JSON array"),
    (
        "within",
        "Polygon",
        "[1,2]",
        "geo-query: Polygon coordinates must be nested 3 array level(s)",
    ),
    (
        "within",
        "Point",
        "[[1,2]]",
        "Point coordinates must be nested 1 array level(s) deep (one position",
    ),
    (
        "within",
        "Point",
        '"1,2"',
        "coordinates must be a JSON array such as [8.68,49.41], not a string",
    ),
    ("within", "Point", "[200,2]", "longitude 200 is outside"),
    ("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]", "must end with its first position"),
    (7, "Point", "[1,2]", "georel must be a string"),
    ("within", ["Point"], "[1,2]", "geometry must be a string"),
]


@pytest.mark.parametrize(("georel", "geometry", "coordinates", "detail"), PARSE_ERRORS)
def test_parse_errors(georel: Any, geometry: Any, coordinates: Any, detail: str) -> None:
    with pytest.raises(BadRequestData) as raised:
        parse_geo_query(georel, geometry, coordinates, LOC)
    assert detail in raised.value.detail


# -- matching -------------------------------------------------------------------------------

BOX = square(0, 0, 10, 10)


@pytest.mark.parametrize(
    ("georel", "entity", "expected"),
    [
        ("within", point(5, 5), True),
        ("within", point(15, 5), False),
        ("within", point(10, 5), False),  # on the boundary: not in the interior
        ("within", square(1, 1, 2, 2), True),
        ("within", square(5, 5, 15, 15), False),
        ("contains", square(-1, -1, 11, 11), True),
        ("contains", square(1, 1, 2, 2), False),
        ("contains", point(5, 5), False),
        ("intersects", {"type": "LineString", "coordinates": [[-5, 5], [5, 5]]}, True),
        ("intersects", point(10, 10), True),
        ("intersects", {"type": "LineString", "coordinates": [[11, 0], [12, 12]]}, False),
        (
            "equals",
            {"type": "Polygon", "coordinates": [[[10, 0], [10, 10], [0, 10], [0, 0], [10, 0]]]},
            True,
        ),
        ("equals", square(0, 0, 10, 11), False),
        ("disjoint", point(20, 20), True),
        ("disjoint", point(10, 5), False),
        ("disjoint", square(9, 9, 12, 12), False),
        ("overlaps", square(5, 5, 15, 15), True),
        ("overlaps", square(1, 1, 2, 2), False),
        ("overlaps", square(20, 20, 30, 30), False),
        ("overlaps", {"type": "LineString", "coordinates": [[5, 5], [15, 15]]}, False),
    ],
)
def test_topological_georels(georel: str, entity: dict[str, Any], expected: bool) -> None:
    assert matches(query(georel, BOX), entity) is expected


def test_contains_and_equals_with_point_reference() -> None:
    assert matches(query("contains", point(5, 5)), BOX)
    assert not matches(query("contains", point(50, 5)), BOX)
    assert matches(query("equals", point(5, 5)), point(5, 5))
    assert not matches(query("equals", point(5, 5)), point(5, 5.0001))
    assert matches(query("within", point(5, 5)), point(5, 5))


def test_real_world_distance_in_chongqing() -> None:
    d = haversine_m(*JIEFANGBEI, *CHAOTIANMEN)
    assert abs(d - JIEFANGBEI_CHAOTIANMEN_M) / JIEFANGBEI_CHAOTIANMEN_M < 0.01
    assert 1100 < d < 1300
    assert distance_m(
        query("near", point(*JIEFANGBEI), max=1), point(*CHAOTIANMEN)
    ) == pytest.approx(d)


def test_near_points() -> None:
    ref = point(*JIEFANGBEI)
    chaotianmen = point(*CHAOTIANMEN)
    assert matches(query("near", ref, max=2000), chaotianmen)
    assert not matches(query("near", ref, max=1000), chaotianmen)
    assert matches(query("near", ref, min=1000), chaotianmen)
    assert not matches(query("near", ref, min=2000), chaotianmen)
    assert matches(query("near", ref, min=1000, max=2000), chaotianmen)
    assert not matches(query("near", ref, min=1000), ref)


def test_near_multipoint_reference_uses_the_closest_point() -> None:
    ref = {"type": "MultiPoint", "coordinates": [[0, 0], list(CHAOTIANMEN)]}
    assert matches(query("near", ref, max=1200), point(*JIEFANGBEI))
    assert not matches(query("near", ref, max=1100), point(*JIEFANGBEI))


def test_near_polygon_reference() -> None:
    block = square(106.57, 29.55, 106.58, 29.56)
    east = destination(106.58, 29.555, 1000, 90)
    assert matches(query("near", block, max=1010), point(*east))
    assert not matches(query("near", block, max=990), point(*east))
    assert matches(query("near", block, min=990), point(*east))
    assert not matches(query("near", block, min=1010), point(*east))
    inside = point(106.575, 29.555)
    assert distance_m(query("near", block, max=1), inside) == 0.0
    assert matches(query("near", block, max=1), inside)
    assert not matches(query("near", block, min=1), inside)


def test_near_polygon_entity_and_line_reference() -> None:
    north = destination(106.575, 29.56, 500, 0)
    ref = point(*north)
    block = square(106.57, 29.55, 106.58, 29.56)
    assert abs(distance_m(query("near", ref, max=1), block) - 500) < 2.5
    line = {"type": "LineString", "coordinates": [[106.57, 29.56], [106.58, 29.56]]}
    assert abs(distance_m(query("near", line, max=1), ref) - 500) < 2.5
    assert matches(query("near", line, max=510), block)


def test_projected_distance_is_accurate_far_from_the_reference_centre() -> None:
    # A 4° wide box; the entity is 20 km north of its north-east corner.
    box = square(100, 30, 104, 31)
    north = destination(104, 31, 20_000, 0)
    assert abs(distance_m(query("near", box, max=1), point(*north)) - 20_000) < 100
    # A long east-west edge: lon/lat straight, so a parallel, not a great circle.
    edge = {"type": "LineString", "coordinates": [[100, 30], [104, 30]]}
    south = destination(102, 30, 300, 180)
    assert abs(distance_m(query("near", edge, max=1), point(*south)) - 300) < 3


def test_matcher_is_reusable_and_rejects_malformed_geometries() -> None:
    matcher = GeoMatcher(query("within", BOX))
    assert [matcher(point(x, 5)) for x in (1, 11, 9)] == [True, False, True]
    assert matcher({"type": "Point"}) is False
    assert matcher({"type": "Polygon", "coordinates": "oops"}) is False


def test_invalid_polygon_still_decides() -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]]}
    assert matches(query("intersects", bowtie), point(5, 2)) is False
    assert matches(query("intersects", bowtie), point(2, 5)) is True
    assert matches(query("intersects", bowtie), point(8, 5)) is True
    assert matches(query("overlaps", BOX), bowtie) is False


# -- bounds and prefilter -------------------------------------------------------------------


def test_geometry_bounds() -> None:
    assert geometry_bounds(point(1, 2)) == (1.0, 1.0, 2.0, 2.0)
    assert geometry_bounds({"type": "Point", "coordinates": [1, 2, 300]}) == (1, 1, 2, 2)
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square(0, 0, 1, 1)["coordinates"], square(5, -3, 6, 2)["coordinates"]],
    }
    assert geometry_bounds(multi) == (0, 6, -3, 2)


def test_prefilter_bounds_per_georel() -> None:
    assert prefilter_bounds(query("disjoint", BOX)) is None
    assert prefilter_bounds(query("near", BOX, min=10)) is None
    for georel in ("within", "contains", "intersects", "equals", "overlaps"):
        assert prefilter_bounds(query(georel, BOX)) == (0, 10, 0, 10)
    # One degree of latitude; at 60° north that is ~2° of longitude, more toward 61°.
    box = prefilter_bounds(query("near", point(0, 60), max=111_195))
    assert box is not None
    min_x, max_x, min_y, max_y = box
    assert 58.9 < min_y < 59 and 61 < max_y < 61.1
    assert min_x < -2 and max_x > 2 and max_x == -min_x


def test_prefilter_near_poles_and_antimeridian_takes_all_longitudes() -> None:
    polar = prefilter_bounds(query("near", point(10, 89.9), max=50_000))
    assert polar is not None and polar[:2] == (-180.0, 180.0)
    assert polar[3] == 90.0 and 89.4 < polar[2] < 89.5
    dateline = prefilter_bounds(query("near", point(179.99, 0), max=5_000))
    assert dateline is not None and dateline[:2] == (-180.0, 180.0)
    assert matches(query("near", point(179.99, 0), max=5_000), point(-179.99, 0))


def inside(box: tuple[float, float, float, float] | None, lon: float, lat: float) -> bool:
    assert box is not None
    return box[0] <= lon <= box[1] and box[2] <= lat <= box[3]


longitudes = st.floats(-180, 180, allow_nan=False)
latitudes = st.floats(-89.5, 89.5, allow_nan=False)
distances = st.floats(1, 800_000, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(longitudes, latitudes, distances, st.floats(0, 1.3), st.floats(0, 360))
def test_prefilter_never_excludes_a_near_point_match(
    lon: float, lat: float, dist: float, ratio: float, bearing: float
) -> None:
    q = query("near", point(lon, lat), max=dist)
    target = destination(lon, lat, dist * ratio, bearing)
    if matches(q, point(*target)):
        assert inside(prefilter_bounds(q), *target)


@settings(max_examples=300, deadline=None)
@given(
    longitudes,
    latitudes,
    st.floats(0.001, 2),
    st.floats(0.001, 2),
    distances,
    st.floats(0, 1.3),
    st.floats(0, 360),
)
def test_prefilter_never_excludes_a_near_polygon_match(
    lon: float, lat: float, w: float, h: float, dist: float, ratio: float, bearing: float
) -> None:
    x0, y0 = max(-180.0, min(lon, 180.0 - w)), max(-89.5, min(lat, 89.5 - h))
    q = query("near", square(x0, y0, x0 + w, y0 + h), max=dist)
    corner = (x0 + w, y0 + h) if bearing < 180 else (x0, y0)
    target = destination(*corner, dist * ratio, bearing)
    if matches(q, point(*target)):
        assert inside(prefilter_bounds(q), *target)


@settings(max_examples=300, deadline=None)
@given(longitudes, latitudes, st.floats(0.001, 20), st.floats(0.001, 20), longitudes, latitudes)
def test_prefilter_never_excludes_a_within_or_intersects_match(
    lon: float, lat: float, w: float, h: float, px: float, py: float
) -> None:
    x0, y0 = max(-180.0, min(lon, 180.0 - w)), max(-89.5, min(lat, 89.5 - h))
    ref = square(x0, y0, x0 + w, y0 + h)
    # Half the points fall inside the reference box, so matches are common.
    px, py = (x0 + (px + 180) / 360 * w, y0 + (py + 90) / 180 * h) if px > 0 else (px, py)
    for georel in ("within", "intersects"):
        q = query(georel, ref)
        if matches(q, point(px, py)):
            assert inside(prefilter_bounds(q), px, py)
