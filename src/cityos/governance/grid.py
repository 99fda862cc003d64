"""The city grid: H3 cells that name where a case is, finer than a district.

Grid management divides a city into small cells so that each has someone responsible for
it; H3 gives every city the same hierarchical cells without drawing any, and lets a routing
rule name one coarse cell for a whole neighbourhood (its finer cells all lie inside it).
"""

from __future__ import annotations

import math

import h3

MAX_RESOLUTION = 15
"""H3's finest resolution (cells of about 1 m²); 0 is the coarsest (continent-sized)."""


def check_resolution(resolution: object) -> int:
    """Return `resolution` if it is an H3 resolution, or raise ValueError saying why not."""
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise ValueError(f"H3 resolution must be an integer from 0 to 15, not {resolution!r}")
    if not 0 <= resolution <= MAX_RESOLUTION:
        raise ValueError(f"H3 resolution must be from 0 to 15, not {resolution}")
    return resolution


def grid_cell(lon: float, lat: float, resolution: int) -> str:
    """The H3 cell (hex string) at `resolution` that holds the point (lon, lat)."""
    check_resolution(resolution)
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude must be from -180 to 180, not {lon!r}")
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be from -90 to 90, not {lat!r}")
    return str(h3.latlng_to_cell(lat, lon, resolution))


def is_cell(text: object) -> bool:
    """Whether `text` is a valid H3 cell index written as a hex string."""
    return isinstance(text, str) and bool(h3.is_valid_cell(text))


def cell_resolution(cell: str) -> int:
    """The resolution of `cell`; ValueError if it is no H3 cell."""
    if not is_cell(cell):
        raise ValueError(f"{cell!r} is not an H3 cell")
    return int(h3.get_resolution(cell))


def cell_contains(parent: str, cell: str) -> bool:
    """Whether `cell` is `parent` or one of its descendants in the H3 hierarchy.

    H3 children cover their parent only approximately: near the parent's edge a point can
    lie inside the parent's hexagon while its fine cell belongs to a neighbour. Grid
    management counts by the hierarchy, so does this. Non-cells contain nothing."""
    if not (is_cell(parent) and is_cell(cell)):
        return False
    level = int(h3.get_resolution(parent))
    if level > int(h3.get_resolution(cell)):
        return False
    return bool(h3.cell_to_parent(cell, level) == parent.lower())
