"""Helpers shared by domain packs: NGSI-LD attribute builders, places inside districts,
local days. Written once here so that every pack labels simulated data the same way."""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely

from cityos.governance.districts import District, Districts

SIMULATOR = "cityos simulator"
"""`dataProvider` of everything a pack makes up, so simulated data never pass for real."""


def prop(value: Any, unit: str | None = None) -> dict[str, Any]:
    """A normalized NGSI-LD Property (with a UN/CEFACT unitCode if given)."""
    body: dict[str, Any] = {"type": "Property", "value": value}
    if unit is not None:
        body["unitCode"] = unit
    return body


def rel(target: str) -> dict[str, Any]:
    """A normalized NGSI-LD Relationship."""
    return {"type": "Relationship", "object": target}


def point(lon: float, lat: float) -> dict[str, Any]:
    """A `location` GeoProperty holding a Point."""
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def slug(text: str) -> str:
    """A lower-case id fragment of letters, digits and '-' ("Nan'an" → "nanan")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower().replace("'", "")).strip("-")


def random_point(rng: random.Random, district: District, tries: int = 200) -> tuple[float, float]:
    """A point drawn uniformly inside the district (rounded to ~1 m); its representative
    point if `tries` draws in the bounding box all miss (a very thin district)."""
    west, south, east, north = district.geometry.bounds
    for _ in range(tries):
        lon, lat = round(rng.uniform(west, east), 5), round(rng.uniform(south, north), 5)
        if shapely.intersects_xy(district.geometry, lon, lat):
            return lon, lat
    return district.centroid()


def local_midnight(moment: datetime, zone: str | ZoneInfo) -> datetime:
    """The start of the local day holding `moment` (aware), in the same zone."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def crossed(previous: datetime | None, now: datetime, every: timedelta) -> bool:
    """Whether a multiple of `every` (since the epoch) lies in (previous, now]: a device
    that reports every `every` publishes at this tick. `previous` None: the first tick."""
    if previous is None:
        return True
    step = every.total_seconds()
    return int(now.timestamp() // step) > int(previous.timestamp() // step)


def random_point_near(
    rng: random.Random, district: District, lon: float, lat: float, radius_m: float
) -> tuple[float, float]:
    """A point within about `radius_m` of (lon, lat) and inside the district (rounded to
    ~1 m): farms around a village, buildings around a community. (lon, lat) itself if 50
    draws all fall outside (a place at the district's edge)."""
    dlat = radius_m / 111_320.0
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    for _ in range(50):
        x = round(lon + rng.uniform(-dlon, dlon), 5)
        y = round(lat + rng.uniform(-dlat, dlat), 5)
        if shapely.intersects_xy(district.geometry, x, y):
            return x, y
    return lon, lat


def number(value: object) -> float | None:
    """A keyValues attribute as a float; None when it is not a number (booleans neither)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def label(entity: Mapping[str, Any]) -> str:
    """What a KPI breakdown calls an entity (keyValues): its name, else its id."""
    name = entity.get("name")
    return name if isinstance(name, str) else str(entity["id"])


def iot_device(
    device_id: str,
    apikey: str,
    entity_id: str,
    entity_type: str,
    attributes: Sequence[tuple[str, str, str, str | None]],
    static: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An IoT Agent provisioning body with `timestamp` on (the payload's TimeInstant
    becomes observedAt); `attributes` as (object_id, name, IoT type, unitCode or None)."""
    return {
        "device_id": device_id,
        "apikey": apikey,
        "entity_name": entity_id,
        "entity_type": entity_type,
        "timestamp": True,
        "attributes": [
            {"object_id": o, "name": n, "type": t, **({"unitCode": u} if u else {})}
            for o, n, t, u in attributes
        ],
        "static_attributes": [dict(s) for s in static],
    }


def district_named(districts: Districts, name: str, pack: str) -> District:
    """The district a scenario names, or a ValueError saying which pack asked for it."""
    found = districts.find(name)
    if found is None:
        raise ValueError(f"{pack}: no district {name!r} in this city")
    return found


def invented_names(
    rng: random.Random, names: Sequence[tuple[str, str]], rounds: int = 20
) -> list[tuple[str, str]]:
    """(name, Chinese name) pairs for invented places, enough for any city: `names`
    shuffled, then again numbered ("Qingshan 2", "青山2")."""
    shuffled = list(names)
    rng.shuffle(shuffled)
    return [
        (name if k == 0 else f"{name} {k + 1}", zh if k == 0 else f"{zh}{k + 1}")
        for k in range(rounds)
        for name, zh in shuffled
    ]


def mean_by(
    items: Iterable[Mapping[str, Any]], value: str, group: str, digits: int = 1
) -> tuple[float | None, dict[str, float | None]]:
    """The mean of a numeric attribute over all items, and per value of `group` (a
    district, a county…); items without a number are left out, not counted as zero."""
    per: dict[str, list[float]] = defaultdict(list)
    for item in items:
        found = number(item.get(value))
        if found is not None:
            per[str(item.get(group, ""))].append(found)
    values = [v for vs in per.values() for v in vs]
    overall = round(sum(values) / len(values), digits) if values else None
    groups: dict[str, float | None] = {
        k: round(sum(vs) / len(vs), digits) for k, vs in sorted(per.items())
    }
    return overall, groups
