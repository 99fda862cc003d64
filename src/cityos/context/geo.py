"""Geo-queries (ETSI GS CIM 009, 4.10) and GeoJSON geometry validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GeoQuery:
    """`georel` against `geometry` on the entities' `geoproperty` (an expanded IRI)."""

    georel: str
    """near, within, contains, intersects, equals, disjoint or overlaps."""
    geometry: dict[str, Any]
    """The reference geometry as GeoJSON."""
    geoproperty: str
    max_distance: float | None = None
    """For near: metres."""
    min_distance: float | None = None
