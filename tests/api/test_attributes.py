"""Attribute operations: append, update, partial update, replace, delete, multi-attributes."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.api.helpers import ENTITIES, problem_type

ID = "urn:ngsi-ld:WaterLevelObserved:chaotianmen"
URL = f"{ENTITIES}/{ID}"


def setup_entity(client: TestClient) -> None:
    body = {
        "id": ID,
        "type": "WaterLevelObserved",
        "level": {"type": "Property", "value": 172.3, "unitCode": "MTR"},
        "river": {"type": "Property", "value": "Yangtze"},
    }
    assert client.post(ENTITIES, json=body).status_code == 201


def test_append_overwrites_unless_no_overwrite(client: TestClient) -> None:
    setup_entity(client)
    response = client.post(f"{URL}/attrs", json={"level": 173.0, "alert": False})
    assert response.status_code == 204, response.text
    got = client.get(URL).json()
    assert got["level"]["value"] == 173.0 and got["alert"]["value"] is False
    kept = client.post(
        f"{URL}/attrs", params={"options": "noOverwrite"}, json={"level": 1.0, "trend": "rising"}
    )
    assert kept.status_code == 207
    assert kept.json()["updated"] == ["trend"]
    assert kept.json()["notUpdated"][0]["attributeName"] == "level"
    got = client.get(URL).json()
    assert got["level"]["value"] == 173.0 and got["trend"]["value"] == "rising"


def test_update_attributes(client: TestClient) -> None:
    setup_entity(client)
    response = client.patch(f"{URL}/attrs", json={"level": 170.1, "trend": "up"})
    assert response.status_code == 204
    got = client.get(URL).json()
    assert got["level"] == {"type": "Property", "value": 170.1}
    assert got["trend"]["value"] == "up"
    no_scope = client.patch(f"{URL}/attrs", json={"level": 171.0, "scope": "/Yuzhong"})
    assert no_scope.status_code == 207
    assert no_scope.json()["updated"] == ["level"]
    assert [n["attributeName"] for n in no_scope.json()["notUpdated"]] == ["scope"]


def test_partial_attribute_update_keeps_other_members(client: TestClient) -> None:
    setup_entity(client)
    response = client.patch(f"{URL}/attrs/level", json={"value": 175.5})
    assert response.status_code == 204, response.text
    level = client.get(URL).json()["level"]
    assert level == {"type": "Property", "value": 175.5, "unitCode": "MTR"}
    missing = client.patch(f"{URL}/attrs/nothing", json={"value": 1})
    assert (missing.status_code, problem_type(missing)) == (404, "ResourceNotFound")


def test_replace_attribute(client: TestClient) -> None:
    setup_entity(client)
    response = client.put(f"{URL}/attrs/level", json={"type": "Property", "value": 1.5})
    assert response.status_code == 204, response.text
    assert client.get(URL).json()["level"] == {"type": "Property", "value": 1.5}


def test_multi_attribute_instances(client: TestClient) -> None:
    setup_entity(client)
    instances = [
        {"type": "Property", "value": 10, "datasetId": "urn:ngsi-ld:Dataset:radar"},
        {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:gauge"},
    ]
    assert client.post(f"{URL}/attrs", json={"level": instances}).status_code == 204
    level = client.get(URL).json()["level"]
    assert isinstance(level, list) and len(level) == 3
    assert {i.get("datasetId") for i in level} == {
        None,
        "urn:ngsi-ld:Dataset:radar",
        "urn:ngsi-ld:Dataset:gauge",
    }
    response = client.delete(
        f"{URL}/attrs/level", params={"datasetId": "urn:ngsi-ld:Dataset:radar"}
    )
    assert response.status_code == 204
    assert len(client.get(URL).json()["level"]) == 2
    duplicate = client.post(
        f"{URL}/attrs",
        json={
            "level": [{"value": 1, "datasetId": "urn:a:b"}, {"value": 2, "datasetId": "urn:a:b"}]
        },
    )
    assert duplicate.status_code == 400
    assert client.delete(f"{URL}/attrs/level", params={"deleteAll": "true"}).status_code == 204
    assert "level" not in client.get(URL).json()


def test_delete_attribute(client: TestClient) -> None:
    setup_entity(client)
    assert client.delete(f"{URL}/attrs/river").status_code == 204
    assert "river" not in client.get(URL).json()
    again = client.delete(f"{URL}/attrs/river")
    assert (again.status_code, problem_type(again)) == (404, "ResourceNotFound")
    bad = client.delete(f"{URL}/attrs/level", params={"deleteAll": "maybe"})
    assert bad.status_code == 400


def test_modified_at_moves_created_at_stays(client: TestClient) -> None:
    setup_entity(client)
    before = client.get(URL, params={"options": "sysAttrs"}).json()
    client.patch(f"{URL}/attrs/level", json={"value": 1})
    after = client.get(URL, params={"options": "sysAttrs"}).json()
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]
    assert after["level"]["createdAt"] == before["level"]["createdAt"]
    assert after["level"]["modifiedAt"] > before["level"]["modifiedAt"]
    assert after["river"]["modifiedAt"] == before["river"]["modifiedAt"]


def test_null_deletes_in_updates(client: TestClient) -> None:
    setup_entity(client)
    assert client.patch(f"{URL}/attrs", json={"river": "urn:ngsi-ld:null"}).status_code == 204
    assert "river" not in client.get(URL).json()
    null_geo = {"type": "GeoProperty", "value": "urn:ngsi-ld:null"}
    client.post(f"{URL}/attrs", json={"area": {"type": "Point", "coordinates": [1, 2]}})
    assert client.patch(f"{URL}/attrs/area", json=null_geo).status_code == 204
    assert "area" not in client.get(URL).json()
    refused = client.post(ENTITIES, json={"id": "urn:x:n", "type": "T", "p": "urn:ngsi-ld:null"})
    assert refused.status_code == 400


def test_scope_is_a_member(client: TestClient) -> None:
    setup_entity(client)
    assert client.post(f"{URL}/attrs", json={"scope": "/Chongqing/Yuzhong"}).status_code == 204
    assert client.get(URL).json()["scope"] == "/Chongqing/Yuzhong"
    kept = client.post(f"{URL}/attrs", params={"options": "noOverwrite"}, json={"scope": "/Flood"})
    assert kept.status_code == 204
    assert client.get(URL).json()["scope"] == ["/Chongqing/Yuzhong", "/Flood"]
    assert client.patch(f"{URL}/attrs", json={"scope": "/Other"}).status_code == 204
    assert client.get(URL).json()["scope"] == "/Other"
    assert client.patch(f"{URL}/attrs/scope", json={"value": "/X"}).status_code == 400
    assert client.delete(f"{URL}/attrs/scope").status_code == 204
    assert "scope" not in client.get(URL).json()


def test_dataset_id_filter_on_retrieve(client: TestClient) -> None:
    setup_entity(client)
    radar = {"type": "Property", "value": 10, "datasetId": "urn:ngsi-ld:Dataset:radar"}
    client.post(f"{URL}/attrs", json={"level": radar})
    only = client.get(URL, params={"datasetId": "urn:ngsi-ld:Dataset:radar"}).json()
    assert only["level"] == radar and "river" not in only
    default = client.get(URL, params={"datasetId": "@none"}).json()
    assert default["level"]["value"] == 172.3 and "datasetId" not in default["level"]


def test_type_selector_gates_single_entity_operations(client: TestClient) -> None:
    setup_entity(client)
    wrong = {"type": "Building"}
    assert client.patch(f"{URL}/attrs", params=wrong, json={"level": 1}).status_code == 404
    assert client.delete(URL, params=wrong).status_code == 404
    assert client.get(URL).json()["level"]["value"] == 172.3
    right = {"type": "WaterLevelObserved"}
    assert client.patch(f"{URL}/attrs", params=right, json={"level": 1}).status_code == 204
    assert client.delete(URL, params=right).status_code == 204
