"""/indicators through HTTP: the catalogue, the comparison, values loaded as entities."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from cityos.indicators.entities import to_entity
from cityos.indicators.reference import ReferenceValue, Source


def _row(body: dict[str, Any], indicator: str) -> dict[str, Any]:
    row: dict[str, Any] = next(r for r in body["rows"] if r["indicator"]["id"] == indicator)
    return row


def test_the_catalogue(client: TestClient) -> None:
    body = client.get("/indicators").json()
    assert body["themes"][0] == "economy" and body["themes"][-1] == "smart"
    ids = {i["id"]: i for i in body["indicators"]}
    assert ids["iso37120-18.1"]["better"] == "higher" and ids["oee"]["source"] == "cityos"
    assert {"chongqing", "london", "warsaw", "lodz", "duisburg"} <= set(body["cities"])


def test_compare_three_cities(client: TestClient) -> None:
    response = client.get("/indicators/compare", params={"cities": "chongqing,london,warsaw"})
    assert response.status_code == 200
    body = response.json()
    transit = _row(body, "iso37120-18.1")
    cells = {c["city"]: c for c in transit["cells"]}
    # Chongqing's rail over its central urban area's 9,580,770 people (2018).
    assert cells["chongqing"]["value"] == pytest.approx(561.18 / 9_580_770 * 100_000)
    assert cells["chongqing"]["area"] == "urban-core" and cells["chongqing"]["rank"] == 1
    assert cells["london"]["rank"] == 2 and cells["warsaw"]["rank"] == 3
    valued = [c for r in body["rows"] for c in r["cells"] if c["value"] is not None]
    assert valued and all(c["citations"] for c in valued)
    cited = {json.dumps(s, sort_keys=True) for c in valued for s in c["citations"]}
    assert cited == {json.dumps(s, sort_keys=True) for s in body["sources"]}
    assert all(s["url"].startswith("http") for s in body["sources"])


def test_compare_by_theme(client: TestClient) -> None:
    params = {"cities": "chongqing,london", "themes": "transportation,education"}
    body = client.get("/indicators/compare", params=params).json()
    assert {r["indicator"]["theme"] for r in body["rows"]} == {"transportation", "education"}
    both = [r for r in body["rows"] if all(c["rank"] for c in r["cells"])]
    assert len(both) >= 8
    bad = client.get("/indicators/compare", params={"cities": "london", "themes": "weather"})
    assert bad.status_code == 400 and "weather" in bad.json()["detail"]


def test_a_value_loaded_as_an_entity_joins_the_comparison(client: TestClient) -> None:
    for value in (
        ReferenceValue(
            "testville", "population", 200_000, "persons", 2024, "city proper", Source("X")
        ),
        ReferenceValue(
            "testville", "urban-rail-length", 40, "km", 2024, "city proper", Source("Y")
        ),
    ):
        created = client.post("/ngsi-ld/v1/entities", json=to_entity(value))
        assert created.status_code == 201, created.text
    found = client.get("/ngsi-ld/v1/entities", params={"type": "KeyPerformanceIndicator"})
    assert len(found.json()) == 2
    body = client.get("/indicators/compare", params={"cities": "testville,london"}).json()
    cells = {c["city"]: c for c in _row(body, "iso37120-18.1")["cells"]}
    assert cells["testville"]["value"] == pytest.approx(20.0)
    assert [c["title"] for c in cells["testville"]["citations"]] == ["Y", "X"]
    assert cells["testville"]["rank"] == 1 and cells["testville"]["area"] == "city"
    assert "testville" in client.get("/indicators").json()["cities"]
    # transportation: 18.1 testville 20.0 leads London's 4.53 per 100 000; London leads the
    # length (402 km against 40): each has a share of the best of 1.0 on one of the two.
    transport = body["themes"]["transportation"]
    london_18_1 = 402 / 8_866_180 * 100_000
    assert transport["testville"] == pytest.approx(100 * (1.0 + 40 / 402) / 2)
    assert transport["london"] == pytest.approx(100 * (london_18_1 / 20.0 + 1.0) / 2)


def test_bad_requests(client: TestClient) -> None:
    assert client.get("/indicators/compare").status_code == 400
    unknown = client.get("/indicators/compare", params={"cities": "london", "sort": "x"})
    assert unknown.status_code == 400 and "sort" in unknown.json()["detail"]
