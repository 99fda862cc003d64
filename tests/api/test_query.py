"""GET /entities: type, id, idPattern, attrs, q, scopeQ, geo-queries, paging and GeoJSON."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.helpers import BATCH, ENTITIES, problem_type

# Three real Chongqing places (lon, lat) and one in Warsaw.
PLACES = {
    "jiefangbei": (106.5770, 29.5587),
    "chaotianmen": (106.5862, 29.5657),
    "shapingba": (106.4566, 29.5411),
    "warsaw": (21.0122, 52.2297),
}


def station(name: str, pm25: float, **extra: Any) -> dict[str, Any]:
    lon, lat = PLACES[name]
    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:{name}",
        "type": "AirQualityObserved",
        "name": name,
        "pm25": {
            "type": "Property",
            "value": pm25,
            "observedAt": "2026-11-28T08:00:00Z",
            "unitCode": "GQ",
        },
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        **extra,
    }


@pytest.fixture
def city(client: TestClient) -> TestClient:
    entities = [
        station(
            "jiefangbei",
            35.0,
            scope="/Chongqing/Yuzhong",
            address={"value": {"district": "Yuzhong", "floors": 5}},
        ),
        station("chaotianmen", 80.0, scope="/Chongqing/Yuzhong", status="alert"),
        station("shapingba", 12.5, scope="/Chongqing/Shapingba"),
        station("warsaw", 20.0, scope="/Warsaw"),
        {
            "id": "urn:ngsi-ld:Vehicle:bus1",
            "type": ["Vehicle", "Bus"],
            "speed": 30,
            "refStation": {
                "type": "Relationship",
                "object": "urn:ngsi-ld:AirQualityObserved:jiefangbei",
            },
        },
        {"id": "urn:ngsi-ld:Vehicle:tram1", "type": ["Vehicle", "Tram"], "speed": 20},
    ]
    assert client.post(f"{BATCH}/create", json=entities).status_code == 201
    return client


def ids(client: TestClient, **params: str) -> list[str]:
    response = client.get(ENTITIES, params=params)
    assert response.status_code == 200, response.text
    return [e["id"].rsplit(":", 1)[-1] for e in response.json()]


def test_type_forms(city: TestClient) -> None:
    assert ids(city, type="Vehicle") == ["bus1", "tram1"]
    assert ids(city, type="Bus,Tram") == ["bus1", "tram1"]
    assert ids(city, type="Bus|AirQualityObserved") == [
        "jiefangbei",
        "chaotianmen",
        "shapingba",
        "warsaw",
        "bus1",
    ]
    assert ids(city, type="Vehicle;Bus") == ["bus1"]
    assert ids(city, type="(Vehicle;Tram)|Bus") == ["bus1", "tram1"]


def test_id_and_pattern(city: TestClient) -> None:
    assert ids(city, id="urn:ngsi-ld:Vehicle:bus1,urn:ngsi-ld:Vehicle:tram1") == ["bus1", "tram1"]
    assert ids(city, idPattern=".*:(jie|sha).*") == ["jiefangbei", "shapingba"]
    bad = city.get(ENTITIES, params={"idPattern": "("})
    assert bad.status_code == 400


def test_q_language(city: TestClient) -> None:
    assert ids(city, q="pm25>30") == ["jiefangbei", "chaotianmen"]
    assert ids(city, q="pm25==12.5,20") == ["shapingba", "warsaw"]
    assert ids(city, q="pm25==10..40") == ["jiefangbei", "shapingba", "warsaw"]
    assert ids(city, q='status=="alert"') == ["chaotianmen"]
    assert ids(city, q="status") == ["chaotianmen"]
    assert ids(city, q="pm25<30|speed>25") == ["shapingba", "warsaw", "bus1"]
    assert ids(city, q="(pm25<30|pm25>70);name~=.*a.*") == ["chaotianmen", "shapingba", "warsaw"]
    assert ids(city, q='name!~="^sha"', type="AirQualityObserved") == [
        "jiefangbei",
        "chaotianmen",
        "warsaw",
    ]
    assert ids(city, q='pm25.unitCode=="GQ";pm25<15') == ["shapingba"]
    assert ids(city, q="pm25.observedAt>=2026-11-28T00:00:00Z;pm25>70") == ["chaotianmen"]
    assert ids(city, q='address[district]=="Yuzhong"') == ["jiefangbei"]
    assert ids(city, q="address[floors]>4") == ["jiefangbei"]
    assert ids(city, q='refStation=="urn:ngsi-ld:AirQualityObserved:jiefangbei"') == ["bus1"]
    bad = city.get(ENTITIES, params={"q": "pm25>>3"})
    assert (bad.status_code, problem_type(bad)) == (400, "BadRequestData")


def test_scope_q(city: TestClient) -> None:
    assert ids(city, scopeQ="/Chongqing/#") == ["jiefangbei", "chaotianmen", "shapingba"]
    assert ids(city, scopeQ="/Chongqing/+") == ["jiefangbei", "chaotianmen", "shapingba"]
    assert ids(city, scopeQ="/Warsaw,/Chongqing/Shapingba") == ["shapingba", "warsaw"]


def test_geo_queries(city: TestClient) -> None:
    near = {
        "georel": "near;maxDistance==2000",
        "geometry": "Point",
        "coordinates": "[106.577,29.5587]",
    }
    assert ids(city, **near) == ["jiefangbei", "chaotianmen"]
    far = {
        "georel": "near;minDistance==5000",
        "geometry": "Point",
        "coordinates": "[106.577,29.5587]",
    }
    assert ids(city, **far) == ["shapingba", "warsaw"]
    box = "[[[106.4,29.5],[106.6,29.5],[106.6,29.6],[106.4,29.6],[106.4,29.5]]]"
    assert ids(city, georel="within", geometry="Polygon", coordinates=box) == [
        "jiefangbei",
        "chaotianmen",
        "shapingba",
    ]
    assert ids(city, georel="disjoint", geometry="Polygon", coordinates=box) == ["warsaw"]
    assert ids(city, georel="intersects", geometry="Polygon", coordinates=box, q="pm25>50") == [
        "chaotianmen"
    ]
    bad = city.get(ENTITIES, params={"georel": "near", "geometry": "Point", "coordinates": "[1,2]"})
    assert bad.status_code == 400
    bad = city.get(
        ENTITIES, params={"georel": "within", "geometry": "Polygon", "coordinates": "[1,2]"}
    )
    assert bad.status_code == 400


def test_paging_and_count(city: TestClient) -> None:
    response = city.get(
        ENTITIES,
        params={"type": "AirQualityObserved", "limit": "2", "offset": "1", "count": "true"},
    )
    assert [e["id"].rsplit(":", 1)[-1] for e in response.json()] == ["chaotianmen", "shapingba"]
    assert response.headers["NGSILD-Results-Count"] == "4"
    only_count = city.get(ENTITIES, params={"type": "Vehicle", "limit": "0", "count": "true"})
    assert only_count.json() == [] and only_count.headers["NGSILD-Results-Count"] == "2"
    assert city.get(ENTITIES, params={"type": "Vehicle", "limit": "-1"}).status_code == 400


def test_attrs_filters_and_projects(city: TestClient) -> None:
    response = city.get(ENTITIES, params={"attrs": "speed"})
    assert [e["id"].rsplit(":", 1)[-1] for e in response.json()] == ["bus1", "tram1"]
    assert set(response.json()[0]) == {"id", "type", "speed"}


def test_geojson(city: TestClient) -> None:
    response = city.get(
        ENTITIES,
        params={"type": "AirQualityObserved", "q": "pm25>70"},
        headers={"Accept": "application/geo+json"},
    )
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    assert feature["id"] == "urn:ngsi-ld:AirQualityObserved:chaotianmen"
    assert feature["geometry"] == {"type": "Point", "coordinates": [106.5862, 29.5657]}
    assert feature["properties"]["pm25"]["value"] == 80.0


def test_query_needs_a_filter(city: TestClient) -> None:
    response = city.get(ENTITIES)
    assert (response.status_code, problem_type(response)) == (400, "BadRequestData")


def test_geo_query_lists_an_entity_once_whatever_its_instances(client: TestClient) -> None:
    lon, lat = PLACES["jiefangbei"]
    body = {
        "id": "urn:ngsi-ld:Drone:1",
        "type": "Drone",
        "location": [
            {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
            {
                "type": "GeoProperty",
                "datasetId": "urn:ngsi-ld:Dataset:gps2",
                "value": {"type": "Point", "coordinates": [lon + 0.001, lat]},
            },
        ],
    }
    assert client.post(ENTITIES, json=body).status_code == 201
    found = ids(
        client,
        georel="near;maxDistance==1000",
        geometry="Point",
        coordinates=f"[{lon},{lat}]",
        count="true",
    )
    assert found == ["1"]


def test_linked_entities_inline_and_flat(client: TestClient) -> None:
    entities = [
        {
            "id": "urn:ngsi-ld:Building:b1",
            "type": "Building",
            "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:District:yz"},
        },
        {
            "id": "urn:ngsi-ld:District:yz",
            "type": "District",
            "partOf": {"type": "Relationship", "object": "urn:ngsi-ld:City:cq"},
        },
        {"id": "urn:ngsi-ld:City:cq", "type": "City", "name": "Chongqing"},
    ]
    assert client.post(f"{BATCH}/create", json=entities).status_code == 201
    url = f"{ENTITIES}/urn:ngsi-ld:Building:b1"
    inline = client.get(url, params={"join": "inline", "options": "keyValues"}).json()
    assert inline["locatedAt"] == {
        "id": "urn:ngsi-ld:District:yz",
        "type": "District",
        "partOf": "urn:ngsi-ld:City:cq",
    }
    deep = client.get(url, params={"join": "inline", "joinLevel": "2"}).json()
    assert deep["locatedAt"]["entity"]["partOf"]["entity"]["name"]["value"] == "Chongqing"
    flat = client.get(url, params={"join": "flat", "joinLevel": "2"}).json()
    assert [e["id"].rsplit(":", 1)[-1] for e in flat] == ["b1", "yz", "cq"]
    assert client.get(url, params={"join": "inline", "joinLevel": "0"}).status_code == 400
    assert client.get(url, params={"join": "sideways"}).status_code == 400


def test_pagination_links(city: TestClient) -> None:
    first = city.get(ENTITIES, params={"type": "AirQualityObserved", "limit": "2"})
    links = first.headers["link"]
    assert 'rel="next"' in links and 'rel="prev"' not in links
    assert "limit=2&offset=2&type=AirQualityObserved" in links
    last = city.get(ENTITIES, params={"type": "AirQualityObserved", "limit": "2", "offset": "2"})
    assert 'rel="prev"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]


def test_nested_pick_projects_linked_entities(client: TestClient) -> None:
    entities = [
        {
            "id": "urn:ngsi-ld:Building:b2",
            "type": "Building",
            "height": 80,
            "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:cq2"},
        },
        {"id": "urn:ngsi-ld:City:cq2", "type": "City", "name": "Chongqing", "population": 1},
    ]
    assert client.post(f"{BATCH}/create", json=entities).status_code == 201
    url = f"{ENTITIES}/urn:ngsi-ld:Building:b2"
    got = client.get(url, params={"join": "inline", "pick": "id,locatedAt{id,name}"}).json()
    assert got == {
        "id": "urn:ngsi-ld:Building:b2",
        "locatedAt": {
            "type": "Relationship",
            "object": "urn:ngsi-ld:City:cq2",
            "entity": {
                "id": "urn:ngsi-ld:City:cq2",
                "name": {"type": "Property", "value": "Chongqing"},
            },
        },
    }
    flat = client.get(url, params={"join": "flat", "omit": "height,locatedAt{population}"}).json()
    assert "height" not in flat[0] and "population" not in flat[1] and "name" in flat[1]
    for bad in ("locatedAt{", "locatedAt}", "locatedAt{}", "a{b}c"):
        assert client.get(url, params={"join": "inline", "pick": bad}).status_code == 400, bad


def test_nested_projection_needs_a_deep_enough_join(client: TestClient) -> None:
    client.post(ENTITIES, json={"id": "urn:ngsi-ld:Building:b3", "type": "Building", "a": 1})
    url = f"{ENTITIES}/urn:ngsi-ld:Building:b3"
    assert client.get(url, params={"pick": "id,locatedAt{id}"}).status_code == 400
    deep = {"join": "inline", "joinLevel": "1", "pick": "a{b{c}}"}
    assert client.get(url, params=deep).status_code == 400
    assert client.get(url, params={**deep, "joinLevel": "2"}).status_code == 200
    missing = client.get(f"{ENTITIES}/urn:ngsi-ld:Building:none", params={"pick": "a{b}"})
    assert missing.status_code == 400  # the request is refused before the look-up
