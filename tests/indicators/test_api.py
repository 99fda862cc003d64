"""/indicators through HTTP: the catalogue, the comparison, values loaded as entities."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from cityos.indicators.entities import to_entity
from cityos.indicators.reference import ReferenceValue


def _row(body: dict[str, Any], indicator: str) -> dict[str, Any]:
    row: dict[str, Any] = next(r for r in body["rows"] if r["indicator"]["id"] == indicator)
    return row


def test_the_catalogue(client: TestClient) -> None:
    body = client.get("/indicators").json()
    assert body["themes"][0] == "economy" and body["themes"][-1] == "smart"
    ids = {i["id"]: i for i in body["indicators"]}
    assert ids["iso37120-18.1"]["better"] == "higher" and ids["oee"]["source"] == "cityos"
    assert {"chongqing", "london", "warsaw", "duisburg"} <= set(body["cities"])


def test_compare_three_cities(client: TestClient) -> None:
    response = client.get("/indicators/compare", params={"cities": "chongqing,london,warsaw"})
    assert response.status_code == 200
    body = response.json()
    transit = _row(body, "iso37120-18.1")
    cells = {c["city"]: c for c in transit["cells"]}
    assert cells["chongqing"]["value"] == pytest.approx(1.75095, rel=1e-5)
    assert cells["london"]["rank"] == 1 and cells["warsaw"]["value"] is None
    assert transit["missing"] == ["warsaw"]
    valued = [c for r in body["rows"] for c in r["cells"] if c["value"] is not None]
    assert valued and all(c["citations"] for c in valued)
    assert {s for c in valued for s in c["citations"]} == set(body["sources"])


def test_a_value_loaded_as_an_entity_joins_the_comparison(client: TestClient) -> None:
    for value in (
        ReferenceValue("testville", "population", 200_000, "persons", 2024, "city proper", "X"),
        ReferenceValue("testville", "urban-rail-length", 40, "km", 2024, "city proper", "Y"),
    ):
        created = client.post("/ngsi-ld/v1/entities", json=to_entity(value))
        assert created.status_code == 201, created.text
    found = client.get("/ngsi-ld/v1/entities", params={"type": "KeyPerformanceIndicator"})
    assert len(found.json()) == 2
    body = client.get("/indicators/compare", params={"cities": "testville,london"}).json()
    cells = {c["city"]: c for c in _row(body, "iso37120-18.1")["cells"]}
    assert cells["testville"]["value"] == pytest.approx(20.0)
    assert cells["testville"]["citations"] == ["Y", "X"] and cells["testville"]["rank"] == 1
    assert "testville" in client.get("/indicators").json()["cities"]
    # transportation, city proper: 18.1 testville 20.0 leads London's 4.49 per 100 000;
    # London leads the length (402 km against 40) and is alone with stations and ridership
    transport = body["themes"]["transportation"]
    london_18_1 = 402 / 8_961_989 * 100_000
    assert transport["testville"] == pytest.approx(100 * (1.0 + 40 / 402) / 2)
    assert transport["london"] == pytest.approx(100 * (london_18_1 / 20.0 + 1.0) / 2)


def test_bad_requests(client: TestClient) -> None:
    assert client.get("/indicators/compare").status_code == 400
    unknown = client.get("/indicators/compare", params={"cities": "london", "sort": "x"})
    assert unknown.status_code == 400 and "sort" in unknown.json()["detail"]
