"""Geo-queries in SQLite: the R*Tree narrows candidates, `GeoMatcher` decides them.

Every GeoProperty instance has a row in `entity_geo` (entity, attribute) whose `rid` keys a
box in the `geo_index` R*Tree. SQLite stores those boxes as 32-bit floats rounded outwards,
so a stored box always covers the true one; the constraints below rely on that.
"""

from __future__ import annotations

from cityos.context.geo import GeoQuery, prefilter_bounds

_FLOAT32_SLACK = 1e-4
"""Degrees (about 11 m) covering the outward float32 rounding of stored boxes (< 2e-5°)."""

_HAS_ATTR = "EXISTS (SELECT 1 FROM entity_geo g WHERE g.entity = e.rowid AND g.attr = ?)"

_FROM_RTREE = (
    "geo_index r CROSS JOIN entity_geo g ON g.rid = r.id "
    "CROSS JOIN entities e ON e.rowid = g.entity"
)
"""CROSS JOIN makes the R*Tree the outer loop, so its box constraints drive the search."""


def compile_geo_source(q: GeoQuery) -> tuple[str, str, list[object]]:
    """FROM clause, condition and parameters choosing the candidates that can match `q`.

    With a bounding box the candidates stream straight out of the R*Tree, so a query can stop
    at its last page instead of first collecting every candidate; an entity with several
    instances of the GeoProperty comes once per instance. Without a box (disjoint, near with
    only minDistance) every entity having the GeoProperty is a candidate: entities without
    it never match (4.10).
    """
    box = _box_condition(q)
    if box is None:
        return "entities e", _HAS_ATTR, [q.geoproperty]
    return _FROM_RTREE, box[0], box[1]


def _box_condition(q: GeoQuery) -> tuple[str, list[object]] | None:
    """The R*Tree condition on `r` (and attribute on `g`) for `q`, or None when no box helps."""
    box = prefilter_bounds(q)
    if box is None:
        return None
    min_x, max_x, min_y, max_y = box
    params: list[object]
    if q.georel == "within":
        # The entity's box lies inside the reference's box.
        s = _FLOAT32_SLACK
        sql = "r.min_x >= ? AND r.max_x <= ? AND r.min_y >= ? AND r.max_y <= ?"
        params = [min_x - s, max_x + s, min_y - s, max_y + s]
    elif q.georel == "contains":
        # The entity's box covers the reference's box (outward rounding only helps here).
        sql = "r.min_x <= ? AND r.max_x >= ? AND r.min_y <= ? AND r.max_y >= ?"
        params = [min_x, max_x, min_y, max_y]
    elif q.georel == "equals":
        s = _FLOAT32_SLACK
        sql = (
            "r.min_x BETWEEN ? AND ? AND r.max_x BETWEEN ? AND ? "
            "AND r.min_y BETWEEN ? AND ? AND r.max_y BETWEEN ? AND ?"
        )
        params = [min_x - s, min_x, max_x, max_x + s, min_y - s, min_y, max_y, max_y + s]
    else:
        # near (maxDistance), intersects, overlaps: the boxes intersect.
        sql = "r.max_x >= ? AND r.min_x <= ? AND r.max_y >= ? AND r.min_y <= ?"
        params = [min_x, max_x, min_y, max_y]
    return f"{sql} AND g.attr = ?", [*params, q.geoproperty]
