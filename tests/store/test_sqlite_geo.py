"""The R*Tree prefilter and the exact matcher together select exactly the matching entities."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from cityos.context.entity import Entity
from cityos.context.geo import GeoMatcher, GeoQuery
from cityos.store.rows import geo_rows
from cityos.store.sqlite_geo import compile_geo_source

LOC = "https://uri.etsi.org/ngsi-ld/location"
SPACE = "https://uri.etsi.org/ngsi-ld/observationSpace"
NAME = "https://example.org/name"
NOW = "2026-11-28T08:00:00Z"

SCHEMA = """
CREATE TABLE entities (rowid INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL,
  created_at TEXT NOT NULL, modified_at TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (tenant, id));
CREATE TABLE entity_types (tenant TEXT NOT NULL, type TEXT NOT NULL, entity INTEGER NOT NULL,
  PRIMARY KEY (tenant, type, entity)) WITHOUT ROWID;
CREATE TABLE entity_geo (rid INTEGER PRIMARY KEY, entity INTEGER NOT NULL, attr TEXT NOT NULL);
CREATE INDEX entity_geo_by_entity ON entity_geo (entity);
CREATE INDEX entity_geo_by_attr ON entity_geo (attr);
CREATE VIRTUAL TABLE geo_index USING rtree(id, min_x, max_x, min_y, max_y);
"""


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def geo(value: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": value, **extra}


def entity(key: str, /, **attrs: list[dict[str, Any]]) -> Entity:
    iris = {"location": LOC, "space": SPACE, "name": NAME}
    return Entity(
        id=f"urn:ngsi-ld:Place:{key}",
        types=["https://example.org/Place"],
        attrs={iris[key]: instances for key, instances in attrs.items()},
        scope=None,
        created_at=NOW,
        modified_at=NOW,
    )


# Chongqing: Jiefangbei and Chaotianmen are 1.18 km apart, Shapingba ~12 km west.
YUZHONG = square(106.55, 29.54, 106.60, 29.58)
PLACES = [
    entity("jiefangbei", location=[geo(point(106.5770, 29.5587))]),
    entity("chaotianmen", location=[geo(point(106.5862, 29.5657))]),
    entity("shapingba", location=[geo(point(106.4566, 29.5411))]),
    entity("warsaw", location=[geo(point(21.0122, 52.2297))]),
    # Exactly the reference polygon, with coordinates float32 cannot represent.
    entity("yuzhong", location=[geo(YUZHONG)]),
    entity("riverbank", location=[geo(square(106.58, 29.55, 106.62, 29.57))]),
    # Two instances: only the second lies in Yuzhong.
    entity(
        "bus",
        location=[
            geo(point(106.30, 29.40), datasetId="urn:ngsi-ld:Dataset:gps"),
            geo(point(106.5771, 29.5590), datasetId="urn:ngsi-ld:Dataset:cell"),
        ],
    ),
    # Its observed space is in Yuzhong, but it has no location.
    entity("camera", space=[geo(point(106.5800, 29.5600))]),
    entity("unplaced", name=[{"type": "Property", "value": "nowhere"}]),
]


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.executescript(SCHEMA)
    for rowid, place in enumerate(PLACES, start=1):
        doc = {"types": place.types, "attrs": place.attrs}
        connection.execute(
            "INSERT INTO entities VALUES (?, 'city', ?, ?, ?, ?)",
            (rowid, place.id, NOW, NOW, orjson.dumps(doc).decode()),
        )
        for attr, (min_x, max_x, min_y, max_y) in geo_rows(place):
            rid = connection.execute(
                "INSERT INTO entity_geo (entity, attr) VALUES (?, ?) RETURNING rid", (rowid, attr)
            ).fetchone()[0]
            connection.execute(
                "INSERT INTO geo_index VALUES (?, ?, ?, ?, ?)", (rid, min_x, max_x, min_y, max_y)
            )
    yield connection
    connection.close()


def candidates(db: sqlite3.Connection, q: GeoQuery) -> list[str]:
    source, sql, params = compile_geo_source(q)
    rows = db.execute(
        f"SELECT DISTINCT e.id FROM {source} WHERE ({sql}) AND e.tenant = ? ORDER BY e.rowid",
        [*params, "city"],
    )
    return [row[0].rsplit(":", 1)[1] for row in rows]


def select(db: sqlite3.Connection, q: GeoQuery) -> list[str]:
    """What the store does: SQL candidates, then the exact test on any instance."""
    source, sql, params = compile_geo_source(q)
    matcher = GeoMatcher(q)
    found = []
    for entity_id, doc in db.execute(
        f"SELECT DISTINCT e.id, e.doc FROM {source} WHERE ({sql}) AND e.tenant = ? "
        "ORDER BY e.rowid",
        [*params, "city"],
    ):
        instances = orjson.loads(doc)["attrs"].get(q.geoproperty, [])
        if any(i.get("type") == "GeoProperty" and matcher(i["value"]) for i in instances):
            found.append(entity_id.rsplit(":", 1)[1])
    return found


def q(georel: str, geometry: dict[str, Any], attr: str = LOC, **d: float) -> GeoQuery:
    return GeoQuery(georel, geometry, attr, d.get("max"), d.get("min"))


JIEFANGBEI = point(106.5770, 29.5587)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            q("near", JIEFANGBEI, max=2000),
            ["jiefangbei", "chaotianmen", "yuzhong", "riverbank", "bus"],
        ),
        # The riverbank polygon starts 290 m east of Jiefangbei.
        (q("near", JIEFANGBEI, max=500), ["jiefangbei", "yuzhong", "riverbank", "bus"]),
        (q("near", JIEFANGBEI, max=250), ["jiefangbei", "yuzhong", "bus"]),
        (q("near", JIEFANGBEI, min=1000), ["chaotianmen", "shapingba", "warsaw", "bus"]),
        # Shapingba is 11.8 km away; the bus's GPS fix 32 km.
        (q("near", JIEFANGBEI, max=20_000, min=5000), ["shapingba"]),
        (q("near", JIEFANGBEI, max=40_000, min=5000), ["shapingba", "bus"]),
        # A polygon is within itself.
        (q("within", YUZHONG), ["jiefangbei", "chaotianmen", "yuzhong", "bus"]),
        (q("contains", point(106.59, 29.56)), ["yuzhong", "riverbank"]),
        (q("intersects", YUZHONG), ["jiefangbei", "chaotianmen", "yuzhong", "riverbank", "bus"]),
        (q("equals", YUZHONG), ["yuzhong"]),
        (q("overlaps", YUZHONG), ["riverbank"]),
        (q("disjoint", YUZHONG), ["shapingba", "warsaw", "bus"]),
        (q("within", YUZHONG, SPACE), ["camera"]),
        (q("disjoint", YUZHONG, SPACE), []),
    ],
    ids=lambda v: v.georel if isinstance(v, GeoQuery) else "",
)
def test_prefilter_and_matcher_select_the_matching_entities(
    db: sqlite3.Connection, query: GeoQuery, expected: list[str]
) -> None:
    assert select(db, query) == expected


def test_box_prefilter_excludes_far_entities(db: sqlite3.Connection) -> None:
    # Chaotianmen (1.18 km away, 0.0092° east and 0.007° north) is in the box of 1.1 km.
    near = q("near", JIEFANGBEI, max=1100)
    assert candidates(db, near) == ["jiefangbei", "chaotianmen", "yuzhong", "riverbank", "bus"]
    assert select(db, near) == ["jiefangbei", "yuzhong", "riverbank", "bus"]
    assert candidates(db, q("within", square(106.57, 29.55, 106.59, 29.57))) == [
        "jiefangbei",
        "chaotianmen",
        "bus",
    ]
    assert candidates(db, q("contains", point(106.59, 29.56))) == ["yuzhong", "riverbank"]


def test_entities_without_the_geoproperty_are_never_candidates(db: sqlite3.Connection) -> None:
    everything = square(-180, -90, 180, 90)
    assert "unplaced" not in candidates(db, q("disjoint", point(0, 0)))
    assert "camera" not in candidates(db, q("near", JIEFANGBEI, min=1))
    assert "camera" not in candidates(db, q("intersects", everything))
    assert candidates(db, q("intersects", everything, SPACE)) == ["camera"]


def test_box_search_uses_the_rtree(db: sqlite3.Connection) -> None:
    for query in (q("near", JIEFANGBEI, max=500), q("within", YUZHONG), q("equals", YUZHONG)):
        source, sql, params = compile_geo_source(query)
        plan = " | ".join(
            row[3]
            for row in db.execute(
                f"EXPLAIN QUERY PLAN SELECT e.id FROM {source} WHERE ({sql}) AND e.tenant = ?",
                [*params, "city"],
            )
        )
        # idxNum 2 is the R*Tree's constrained search (1 would be a lookup by id).
        assert "SCAN r VIRTUAL TABLE INDEX 2:" in plan
        assert "SEARCH g USING INTEGER PRIMARY KEY" in plan


def test_geo_rows_index_every_geoproperty_instance() -> None:
    bus = PLACES[6]
    assert geo_rows(bus) == [
        (LOC, (106.30, 106.30, 29.40, 29.40)),
        (LOC, (106.5771, 106.5771, 29.5590, 29.5590)),
    ]
    assert geo_rows(PLACES[5]) == [(LOC, (106.58, 106.62, 29.55, 29.57))]
    assert geo_rows(PLACES[7]) == [(SPACE, (106.58, 106.58, 29.56, 29.56))]
    assert geo_rows(PLACES[8]) == []
    odd = entity(
        "odd",
        location=[
            {"type": "Property", "value": point(1, 2)},
            geo({"type": "Point", "coordinates": []}),
            geo(point(3, 4)),
        ],
    )
    assert geo_rows(odd) == [(LOC, (3.0, 3.0, 4.0, 4.0))]
