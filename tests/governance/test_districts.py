"""Districts: point lookup, name lookup and address matching, on real and made-up cities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cityos.governance.districts import District, Districts

CHONGQING = Districts.packaged("chongqing")


def square(x: float, y: float, size: float = 1.0) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(*features: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features
        ],
    }


def test_the_packaged_city_has_its_38_districts_and_counties() -> None:
    assert len(CHONGQING) == 38
    kinds = [d.kind for d in CHONGQING]
    assert kinds.count("district") == 26
    assert kinds.count("county") == 12
    assert CHONGQING.names()[:3] == ["Wanzhou", "Fuling", "Yuzhong"]
    assert "Nan'an" in CHONGQING.names()


@pytest.mark.parametrize("district", list(CHONGQING), ids=lambda d: d.name)
def test_every_district_locates_its_own_representative_point(district: District) -> None:
    lon, lat = district.centroid()
    assert CHONGQING.locate(lon, lat) is district


@pytest.mark.parametrize(
    ("lon", "lat", "name"),
    [
        (106.577, 29.557, "Yuzhong"),  # Jiefangbei
        (106.5867, 29.5661, "Yuzhong"),  # Chaotianmen
        (106.579, 29.573, "Jiangbei"),  # Jiangbeizui
        (106.448, 29.579, "Shapingba"),  # Ciqikou
        (108.40, 30.80, "Wanzhou"),
    ],
)
def test_known_places_lie_in_their_districts(lon: float, lat: float, name: str) -> None:
    found = CHONGQING.locate(lon, lat)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize(("lon", "lat"), [(116.40, 39.90), (0.0, 0.0), (-0.13, 51.5)])
def test_points_outside_the_city_lie_in_no_district(lon: float, lat: float) -> None:
    assert CHONGQING.locate(lon, lat) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Yuzhong", "500103"),
        ("yuzhong", "500103"),
        ("YUZHONG DISTRICT", "500103"),
        ("Yuzhong Qu", "500103"),
        ("渝中区", "500103"),
        ("渝中", "500103"),
        ("500103", "500103"),
        ("  500103 ", "500103"),
        ("Nan'an", "500108"),
        ("Nanan", "500108"),
        ("nan\u2019an district", "500108"),
        ("Zhong County", "500233"),
        ("zhong", "500233"),
        ("忠县", "500233"),
        ("石柱土家族自治县", "500240"),
        ("石柱", "500240"),
        ("秀山", "500241"),
        ("Shizhu County", "500240"),
    ],
)
def test_find_knows_districts_by_code_and_by_any_name(text: str, code: str) -> None:
    found = CHONGQING.find(text)
    assert found is not None
    assert found.code == code


@pytest.mark.parametrize("text", ["Atlantis", "", "District", "区", "忠", "5001"])
def test_find_refuses_what_names_no_district(text: str) -> None:
    assert CHONGQING.find(text) is None


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("12 Jiefangbei Rd, Yuzhong, Chongqing", "Yuzhong"),
        ("12 Jiefangbei Rd, Yuzhong District, Chongqing 400010", "Yuzhong"),
        ("重庆市渝中区解放碑", "Yuzhong"),
        ("重庆市渝中解放碑步行街", "Yuzhong"),
        ("Nanbin Rd, Nan'an District", "Nan'an"),
        ("Nanbin Rd, NANAN", "Nan'an"),
        ("重庆市石柱土家族自治县南宾镇", "Shizhu"),
        ("重庆市忠县忠州街道", "Zhong County"),
        # The longest name wins: the district, not the road named after another one.
        ("Yubei District, Beibei Rd", "Yubei"),
        ("江北区北碚路", "Jiangbei"),
    ],
)
def test_addresses_mention_their_district(address: str, name: str) -> None:
    found = CHONGQING.mentioned_in(address)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize(
    "address",
    [
        "Jiangbeizui Financial Centre",  # a word that only starts with a district's name
        "1600 Amphitheatre Parkway, Mountain View",
        "重庆市",
        "",
    ],
)
def test_addresses_without_a_district_mention_none(address: str) -> None:
    assert CHONGQING.mentioned_in(address) is None


def test_any_city_loads_with_its_own_property_names(tmp_path: Path) -> None:
    data = collection(
        ({"gss": "E09000001", "label": "City of London"}, square(0, 0)),
        ({"label": "Westminster", "type": "borough"}, square(1, 0)),
    )
    path = tmp_path / "boroughs.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    boroughs = Districts.load(path, code="gss", name="label", kind="type")
    city, westminster = list(boroughs)
    assert (city.code, city.name, city.name_zh, city.kind) == (
        "E09000001",
        "City of London",
        None,
        None,
    )
    assert westminster.code == "Westminster"  # no code: known by its name
    assert westminster.kind == "borough"
    assert boroughs.locate(1.5, 0.5) is westminster
    assert boroughs.find("city of london") is city
    assert boroughs.mentioned_in("10 Downing St, Westminster, London") is westminster


def test_a_point_on_a_shared_border_goes_to_the_first_district() -> None:
    two = Districts.from_geojson(
        collection(({"name": "West"}, square(0, 0)), ({"name": "East"}, square(1, 0)))
    )
    found = two.locate(1.0, 0.5)
    assert found is not None
    assert found.name == "West"


def test_the_centroid_lies_inside_even_a_crescent() -> None:
    ring = [[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]
    shaped = Districts.from_geojson(
        collection(({"name": "U"}, {"type": "Polygon", "coordinates": [ring]}))
    )
    (district,) = list(shaped)
    assert not district.geometry.centroid.within(district.geometry)
    assert shaped.locate(*district.centroid()) is district


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"type": "Feature"}, "FeatureCollection"),
        (collection(), "no district"),
        (collection(({"title": "x"}, square(0, 0))), "no 'name' property"),
        (collection(({"name": "P"}, {"type": "Point", "coordinates": [0, 0]})), "Point"),
        (collection(({"name": "N"}, {"type": "Polygon"})), "no valid geometry"),
        (
            collection(
                ({"adcode": "1", "name": "A"}, square(0, 0)),
                ({"adcode": "1", "name": "B"}, square(1, 0)),
            ),
            "repeated",
        ),
    ],
)
def test_bad_boundaries_are_refused(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Districts.from_geojson(data)


def test_only_shipped_cities_are_packaged() -> None:
    assert "chongqing" in Districts.packaged_names()
    with pytest.raises(ValueError, match="no packaged boundaries for 'atlantis'"):
        Districts.packaged("atlantis")
