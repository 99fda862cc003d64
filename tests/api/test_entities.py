"""Entities through HTTP: create, retrieve, replace, merge, delete and their errors."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.helpers import CORE, ENTITIES, LD, link, problem_type

SENSOR: dict[str, Any] = {
    "id": "urn:ngsi-ld:AirQualityObserved:jiefangbei",
    "type": "AirQualityObserved",
    "name": {"type": "Property", "value": "Jiefangbei"},
    "pm25": {
        "type": "Property",
        "value": 35.5,
        "unitCode": "GQ",
        "observedAt": "2026-11-28T08:00:00Z",
        "accuracy": {"type": "Property", "value": 0.9},
    },
    "refDistrict": {"type": "Relationship", "object": "urn:ngsi-ld:District:yuzhong"},
    "location": {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [106.577, 29.5587]},
    },
}


def create(client: TestClient, body: dict[str, Any], **headers: str) -> None:
    response = client.post(ENTITIES, json=body, headers=headers)
    assert response.status_code == 201, response.text


def test_create_then_retrieve_normalized(client: TestClient) -> None:
    response = client.post(ENTITIES, json=SENSOR)
    assert response.status_code == 201
    assert response.headers["location"] == f"{ENTITIES}/{SENSOR['id']}"
    got = client.get(f"{ENTITIES}/{SENSOR['id']}")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert CORE in got.headers["link"]
    assert got.json() == SENSOR


def test_key_values_and_concise(client: TestClient) -> None:
    create(client, SENSOR)
    kv = client.get(f"{ENTITIES}/{SENSOR['id']}", params={"options": "keyValues"}).json()
    assert kv == {
        "id": SENSOR["id"],
        "type": "AirQualityObserved",
        "name": "Jiefangbei",
        "pm25": 35.5,
        "refDistrict": "urn:ngsi-ld:District:yuzhong",
        "location": {"type": "Point", "coordinates": [106.577, 29.5587]},
    }
    concise = client.get(f"{ENTITIES}/{SENSOR['id']}", params={"format": "concise"}).json()
    assert concise["name"] == "Jiefangbei"
    assert concise["pm25"] == {
        "value": 35.5,
        "unitCode": "GQ",
        "observedAt": "2026-11-28T08:00:00Z",
        "accuracy": 0.9,
    }
    assert concise["refDistrict"] == {"object": "urn:ngsi-ld:District:yuzhong"}
    assert concise["location"] == {"type": "Point", "coordinates": [106.577, 29.5587]}


def test_concise_input_is_normalized(client: TestClient) -> None:
    create(
        client,
        {
            "id": "urn:ngsi-ld:Building:a",
            "type": "Building",
            "floors": 30,
            "owner": {"object": "urn:ngsi-ld:Org:x"},
            "address": {"value": {"streetAddress": "1 Minzu Rd"}},
            "location": {"type": "Point", "coordinates": [106.5, 29.5]},
            "name": {"languageMap": {"en": "Tower", "zh": "大厦"}},
        },
    )
    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Building:a").json()
    assert got["floors"] == {"type": "Property", "value": 30}
    assert got["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Org:x"}
    assert got["address"] == {"type": "Property", "value": {"streetAddress": "1 Minzu Rd"}}
    assert got["location"]["type"] == "GeoProperty"
    assert got["name"] == {"type": "LanguageProperty", "languageMap": {"en": "Tower", "zh": "大厦"}}
    zh = client.get(f"{ENTITIES}/urn:ngsi-ld:Building:a", params={"lang": "zh"}).json()
    assert zh["name"] == {"type": "Property", "value": "大厦", "lang": "zh"}


def test_sys_attrs(client: TestClient) -> None:
    create(client, SENSOR)
    got = client.get(f"{ENTITIES}/{SENSOR['id']}", params={"options": "sysAttrs"}).json()
    assert got["createdAt"].endswith("Z") and got["modifiedAt"] >= got["createdAt"]
    assert "createdAt" in got["pm25"] and "modifiedAt" in got["pm25"]
    plain = client.get(f"{ENTITIES}/{SENSOR['id']}").json()
    assert "createdAt" not in plain and "createdAt" not in plain["pm25"]


def test_attrs_pick_omit(client: TestClient) -> None:
    create(client, SENSOR)
    url = f"{ENTITIES}/{SENSOR['id']}"
    assert set(client.get(url, params={"attrs": "name,pm25"}).json()) == {
        "id",
        "type",
        "name",
        "pm25",
    }
    assert set(client.get(url, params={"pick": "id,name"}).json()) == {"id", "name"}
    omitted = client.get(url, params={"omit": "location,type"}).json()
    assert "location" not in omitted and "type" not in omitted and "name" in omitted
    both = client.get(url, params={"pick": "id", "omit": "name"})
    assert both.status_code == 400


def test_custom_context_round_trip(client: TestClient) -> None:
    context = {
        "@context": {
            "Sensor": "https://example.org/ns/Sensor",
            "temp": "https://example.org/ns/temperature",
        }
    }
    posted = client.post("/ngsi-ld/v1/jsonldContexts", json=context)
    assert posted.status_code == 201
    url = "http://testserver" + posted.headers["location"]
    body = {"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "temp": 21}
    create(client, body, Link=link(url))
    # Without the context, the broker shows the full IRIs.
    plain = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:1").json()
    assert plain["type"] == "https://example.org/ns/Sensor"
    assert "https://example.org/ns/temperature" in plain
    # With it, the client's own short names come back.
    own = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:1", headers={"Link": link(url)}).json()
    assert own["type"] == "Sensor" and own["temp"]["value"] == 21
    # Inline JSON-LD context works as well, and the answer carries its @context.
    ld = {**body, "id": "urn:ngsi-ld:Sensor:2", "@context": [context["@context"], CORE]}
    response = client.post(ENTITIES, json=ld, headers={"Content-Type": LD})
    assert response.status_code == 201, response.text
    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:2", headers={"Accept": LD, "Link": link(url)})
    assert got.headers["content-type"].startswith(LD)
    assert got.json()["@context"] == url


def test_replace_keeps_created_at(client: TestClient) -> None:
    create(client, SENSOR)
    url = f"{ENTITIES}/{SENSOR['id']}"
    created = client.get(url, params={"options": "sysAttrs"}).json()["createdAt"]
    response = client.put(url, json={"type": "AirQualityObserved", "pm10": 12})
    assert response.status_code == 204, response.text
    got = client.get(url, params={"options": "sysAttrs"}).json()
    assert got["createdAt"] == created
    assert "pm25" not in got and got["pm10"]["value"] == 12


def test_merge_patch_entity(client: TestClient) -> None:
    create(client, SENSOR)
    url = f"{ENTITIES}/{SENSOR['id']}"
    response = client.patch(
        url,
        json={
            "pm25": {"value": 40, "accuracy": {"value": 0.8}},
            "name": "urn:ngsi-ld:null",
            "status": "ok",
        },
    )
    assert response.status_code == 204, response.text
    got = client.get(url).json()
    assert "name" not in got
    assert got["pm25"]["value"] == 40 and got["pm25"]["unitCode"] == "GQ"
    assert got["pm25"]["accuracy"]["value"] == 0.8
    assert got["status"]["value"] == "ok"


def test_delete(client: TestClient) -> None:
    create(client, SENSOR)
    url = f"{ENTITIES}/{SENSOR['id']}"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert problem_type(client.delete(url)) == "ResourceNotFound"


def test_errors(client: TestClient) -> None:
    create(client, SENSOR)
    cases = [
        (
            client.post(
                ENTITIES, content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            400,
            "InvalidRequest",
        ),
        (client.post(ENTITIES, json={"id": "not a uri", "type": "T"}), 400, "BadRequestData"),
        (client.post(ENTITIES, json={"id": "urn:x:1"}), 400, "BadRequestData"),
        (client.post(ENTITIES, json=SENSOR), 409, "AlreadyExists"),
        (client.get(f"{ENTITIES}/urn:ngsi-ld:Nothing:here"), 404, "ResourceNotFound"),
        (client.get(f"{ENTITIES}/nota-uri"), 400, "BadRequestData"),
        (
            client.post(ENTITIES, json={"id": "urn:x:2", "type": "T", "p": {"type": "Property"}}),
            400,
            "BadRequestData",
        ),
        (
            client.post(
                ENTITIES,
                json={
                    "id": "urn:x:3",
                    "type": "T",
                    "r": {"type": "Relationship", "object": "no uri"},
                },
            ),
            400,
            "BadRequestData",
        ),
        (
            client.post(
                ENTITIES,
                json={
                    "id": "urn:x:4",
                    "type": "T",
                    "location": {
                        "type": "GeoProperty",
                        "value": {"type": "Point", "coordinates": [500, 1]},
                    },
                },
            ),
            400,
            "BadRequestData",
        ),
        (
            client.post(
                ENTITIES, json={"id": "urn:x:5", "type": "T", "p": {"type": "Bogus", "value": 1}}
            ),
            400,
            "BadRequestData",
        ),
        (
            client.post(
                ENTITIES,
                json={"id": "urn:x:6", "type": "T", "p": {"value": 1, "observedAt": "yesterday"}},
            ),
            400,
            "BadRequestData",
        ),
        (
            client.post(
                ENTITIES, json={"id": "urn:x:7", "type": "T"}, headers={"Content-Type": LD}
            ),
            400,
            "BadRequestData",
        ),
        (client.get(ENTITIES, params={"type": "T", "limit": "5000"}), 403, "TooManyResults"),
        (
            client.get(ENTITIES, headers={"Accept": "text/csv"}, params={"type": "T"}),
            406,
            "InvalidRequest",
        ),
    ]
    for response, status, kind in cases:
        assert (response.status_code, problem_type(response)) == (status, kind), response.text
        assert response.json()["title"] and response.json()["detail"]
    xml = client.post(ENTITIES, content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert (xml.status_code, xml.content) == (415, b"")
    # Nothing of the rejected requests was written.
    for entity_id in ("urn:x:1", "urn:x:2", "urn:x:3", "urn:x:4", "urn:x:5", "urn:x:6", "urn:x:7"):
        assert client.get(f"{ENTITIES}/{entity_id}").status_code == 404


def test_oversize_body_is_413(client: TestClient) -> None:
    client.app.state.services.settings = type(client.app.state.services.settings)(
        max_body_bytes=1000
    )
    big = {"id": "urn:x:big", "type": "T", "blob": "x" * 2000}
    response = client.post(ENTITIES, json=big)
    assert response.status_code == 413
    assert client.get(f"{ENTITIES}/urn:x:big").status_code == 404


def test_tenants_are_isolated(client: TestClient) -> None:
    create(client, SENSOR, **{"NGSILD-Tenant": "chongqing"})
    url = f"{ENTITIES}/{SENSOR['id']}"
    assert client.get(url, headers={"NGSILD-Tenant": "chongqing"}).status_code == 200
    assert client.get(url).status_code == 404
    unknown = client.get(url, headers={"NGSILD-Tenant": "warsaw"})
    assert (unknown.status_code, problem_type(unknown)) == (404, "NonexistentTenant")
    bad = client.get(url, headers={"NGSILD-Tenant": "../etc"})
    assert bad.status_code == 400


def test_trailing_slash_and_tenant_echo(client: TestClient) -> None:
    response = client.post(f"{ENTITIES}/", json=SENSOR, headers={"NGSILD-Tenant": "cq"})
    assert response.status_code == 201
    assert response.headers["NGSILD-Tenant"] == "cq"
    listed = client.get("/ngsi-ld/v1/types/", headers={"NGSILD-Tenant": "cq"})
    assert listed.json()["typeList"] == ["AirQualityObserved"]
    missing = client.put(f"{ENTITIES}/", json=SENSOR)
    assert (missing.status_code, problem_type(missing)) == (400, "BadRequestData")


def test_strict_names_ids_and_times(client: TestClient) -> None:
    bad_bodies = [
        {"id": "urn:x:a\u200bb", "type": "T"},
        {"id": "urn:x:1", "type": "9Lives"},
        {"id": "urn:x:1", "type": "T", "observedAt": 1},
        {
            "id": "urn:x:1",
            "type": "T",
            "p": {"value": 1, "observedAt": "2026-11-28T08:00:00+08:00"},
        },
        {"id": "urn:x:1", "type": "T", "r": {"object": "urn:y:1", "unitCode": "MTR"}},
        {"id": "urn:x:1", "type": "T", "p": {"value": {"a": None}}},
        {"id": "urn:x:1", "type": "T", "n": {"languageMap": {"": "x"}}},
        {"id": "urn:x:1", "type": "T", "@context": "x"},
    ]
    for body in bad_bodies:
        response = client.post(ENTITIES, json=body)
        assert response.status_code == 400, body


def test_content_negotiation_and_common_responses(client: TestClient) -> None:
    create(client, SENSOR)
    url = f"{ENTITIES}/{SENSOR['id']}"

    def served(accept: str) -> str:
        response = client.get(url, headers={"Accept": accept})
        assert response.status_code == 200, (accept, response.text)
        return str(response.headers["content-type"]).split(";")[0]

    assert served("application/ld+json, application/json") == "application/json"
    assert served("application/geo+json, application/json") == "application/json"
    assert served("application/json;q=0, */*") == LD
    assert served("application/ld+json;q=0.9, application/geo+json") == "application/geo+json"
    assert served("application/json;q=nonsense") == "application/json"
    unknown = client.get(url, params={"colour": "red"})
    assert (unknown.status_code, problem_type(unknown)) == (400, "InvalidRequest")
    chunked = client.post(
        ENTITIES,
        content=iter([b'{"id": "urn:x:c", "type": "T"}']),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 411


def test_null_inside_concise_values_is_refused(client: TestClient) -> None:
    body = {"id": "urn:x:nul", "type": "T", "address": {"street": None}}
    assert client.post(ENTITIES, json=body).status_code == 400
    bad_option = client.get(f"{ENTITIES}/urn:ngsi-ld:Nothing:here", params={"options": "bogus"})
    assert bad_option.status_code == 400  # options are checked before the entity is looked up
