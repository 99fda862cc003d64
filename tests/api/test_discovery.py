"""Discovery: /types and /attributes, plain and with details, per tenant."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.api.helpers import BATCH, problem_type

V1 = "/ngsi-ld/v1"


def load(client: TestClient, **headers: str) -> None:
    entities = [
        {
            "id": "urn:ngsi-ld:Vehicle:1",
            "type": "Vehicle",
            "speed": 3,
            "route": {"object": "urn:r:1"},
        },
        {"id": "urn:ngsi-ld:Vehicle:2", "type": "Vehicle", "speed": 4},
        {
            "id": "urn:ngsi-ld:Park:1",
            "type": "Park",
            "name": "Eling",
            "location": {"type": "Point", "coordinates": [106.53, 29.55]},
        },
    ]
    assert client.post(f"{BATCH}/create", json=entities, headers=headers).status_code == 201


def test_types(client: TestClient) -> None:
    load(client)
    body = client.get(f"{V1}/types").json()
    assert body["type"] == "EntityTypeList" and body["id"].startswith("urn:ngsi-ld:EntityTypeList:")
    assert body["typeList"] == ["Park", "Vehicle"]
    details = client.get(f"{V1}/types", params={"details": "true"}).json()
    vehicle = next(t for t in details if t["typeName"] == "Vehicle")
    assert vehicle == {
        "id": "https://uri.etsi.org/ngsi-ld/default-context/Vehicle",
        "type": "EntityType",
        "typeName": "Vehicle",
        "attributeNames": ["route", "speed"],
    }
    info = client.get(f"{V1}/types/Vehicle").json()
    assert info["type"] == "EntityTypeInfo" and info["entityCount"] == 2
    kinds = {a["attributeName"]: a["attributeTypes"] for a in info["attributeDetails"]}
    assert kinds == {"route": ["Relationship"], "speed": ["Property"]}
    missing = client.get(f"{V1}/types/Nothing")
    assert (missing.status_code, problem_type(missing)) == (404, "ResourceNotFound")


def test_attributes(client: TestClient) -> None:
    load(client)
    body = client.get(f"{V1}/attributes").json()
    assert body["type"] == "AttributeList"
    assert body["attributeList"] == ["location", "name", "route", "speed"]
    speed = client.get(f"{V1}/attributes/speed").json()
    assert speed["attributeCount"] == 2 and speed["typeNames"] == ["Vehicle"]
    assert speed["attributeTypes"] == ["Property"]
    location = client.get(f"{V1}/attributes/location").json()
    assert location["id"] == "https://uri.etsi.org/ngsi-ld/location"
    assert location["attributeTypes"] == ["GeoProperty"]
    details = client.get(f"{V1}/attributes", params={"details": "true"}).json()
    assert {a["attributeName"] for a in details} == {"location", "name", "route", "speed"}
    assert client.get(f"{V1}/attributes/nothing").status_code == 404


def test_discovery_is_per_tenant(client: TestClient) -> None:
    load(client, **{"NGSILD-Tenant": "t1"})
    assert client.get(f"{V1}/types").json()["typeList"] == []
    assert client.get(f"{V1}/types", headers={"NGSILD-Tenant": "t1"}).json()["typeList"] == [
        "Park",
        "Vehicle",
    ]
    unknown = client.get(f"{V1}/attributes", headers={"NGSILD-Tenant": "t2"})
    assert problem_type(unknown) == "NonexistentTenant"
