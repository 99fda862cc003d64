"""Geo-queries in PostgreSQL: a GiST index over PostGIS geometry narrows the candidates,
`GeoMatcher` decides them (as in the embedded store, so both backends answer the same).

Every GeoProperty instance has a row in `entity_geo` (entity, attribute, geometry in
EPSG:4326). The index compares bounding boxes, which PostGIS keeps as 32-bit floats rounded
outwards, so a stored box always covers the true one; the operators below rely on that,
and the box of `within` gets the same slack as the SQLite R*Tree's.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import box, shape

from cityos.context.geo import GeoQuery, prefilter_bounds

_FLOAT32_SLACK = 1e-4
"""Degrees (about 11 m) covering the outward float32 rounding of stored boxes (< 2e-5°)."""

_ENVELOPE = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"


def geometry_wkb(value: dict[str, Any], bounds: tuple[float, float, float, float]) -> bytes:
    """The GeoJSON `value` as WKB for PostGIS; its bounding box when shapely cannot read it
    (the box is all the index needs: the exact test is shapely's on the document)."""
    try:
        return bytes(shapely.to_wkb(shape(value)))
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.ShapelyError):
        min_x, max_x, min_y, max_y = bounds
        return bytes(shapely.to_wkb(box(min_x, min_y, max_x, max_y)))


def compile_geo_source(q: GeoQuery) -> tuple[str, str, list[object]]:
    """FROM clause, condition and parameters choosing the candidates that can match `q`.

    With a bounding box, the candidates come from the GiST index; an entity with several
    instances of the GeoProperty comes once per instance. Without a box (disjoint, near with
    only minDistance) every entity having the GeoProperty is a candidate: entities without
    it never match (4.10).
    """
    bounds = prefilter_bounds(q)
    if bounds is None:
        return (
            "entities e",
            "EXISTS (SELECT 1 FROM entity_geo g WHERE g.entity = e.seq AND g.attr = %s)",
            [q.geoproperty],
        )
    min_x, max_x, min_y, max_y = bounds
    envelope = [min_x, min_y, max_x, max_y]
    if q.georel in ("within", "equals"):
        # The entity's box lies inside the reference's box (equals: and meets it).
        s = _FLOAT32_SLACK
        sql = f"g.geom @ {_ENVELOPE}"
        params: list[object] = [min_x - s, min_y - s, max_x + s, max_y + s]
        if q.georel == "equals":
            sql += f" AND g.geom && {_ENVELOPE}"
            params.extend(envelope)
    else:
        # near (maxDistance), intersects, overlaps, contains: the boxes intersect.
        sql = f"g.geom && {_ENVELOPE}"
        params = list(envelope)
    return (
        "entity_geo g JOIN entities e ON e.seq = g.entity",
        f"g.attr = %s AND {sql}",
        [
            q.geoproperty,
            *params,
        ],
    )
