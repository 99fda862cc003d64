"""/iot: device provisioning and HTTP measures, through HTTP."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.helpers import ENTITIES, problem_type

DEVICES = "/iot/devices"
ENTITY = "urn:ngsi-ld:AirQualityObserved:aq-01"


def device(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": "aq-01",
        "apikey": "k3y",
        "entity_name": ENTITY,
        "entity_type": "AirQualityObserved",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}],
        "static_attributes": [
            {"name": "refDistrict", "type": "Relationship", "value": "urn:ngsi-ld:District:yz"}
        ],
    }
    body.update(changes)
    return body


def provision(client: TestClient, *devices: dict[str, Any], **headers: str) -> Any:
    return client.post(DEVICES, json={"devices": list(devices)}, headers=headers)


def test_provision_list_get_update_delete(client: TestClient) -> None:
    response = provision(client, device())
    assert response.status_code == 201
    assert response.headers["location"] == f"{DEVICES}/aq-01"
    assert provision(client, device(device_id="aq-02", apikey="k4")).status_code == 201
    listed = client.get(DEVICES, params={"limit": 1, "offset": 1}).json()
    assert listed["count"] == 2
    assert [d["device_id"] for d in listed["devices"]] == ["aq-02"]
    got = client.get(f"{DEVICES}/aq-01").json()
    assert got["entity_name"] == ENTITY
    assert got["attributes"] == [{"object_id": "t", "name": "temperature", "type": "Number"}]
    assert client.put(f"{DEVICES}/aq-01", json={"entity_type": "Sensor"}).status_code == 204
    got = client.get(f"{DEVICES}/aq-01").json()
    assert got["entity_type"] == "Sensor"
    assert got["apikey"] == "k3y"  # untouched fields keep their value
    assert client.delete(f"{DEVICES}/aq-01").status_code == 204
    missing = client.get(f"{DEVICES}/aq-01")
    assert missing.status_code == 404
    assert problem_type(missing) == "ResourceNotFound"
    assert client.delete(f"{DEVICES}/aq-01").status_code == 404
    assert client.put(f"{DEVICES}/aq-01", json={}).status_code == 404


def test_conflicts_and_invalid_devices(client: TestClient) -> None:
    assert provision(client, device()).status_code == 201
    again = provision(client, device())
    assert again.status_code == 409
    assert problem_type(again) == "AlreadyExists"
    # nothing of a refused request is kept
    assert provision(client, device(device_id="new"), device()).status_code == 409
    assert client.get(f"{DEVICES}/new").status_code == 404
    bad = provision(client, device(device_id="x", entity_name="not a uri"))
    assert bad.status_code == 400
    assert problem_type(bad) == "BadRequestData"
    assert "entity_name" in bad.json()["detail"]
    assert client.post(DEVICES, json={"device_id": "x"}).status_code == 400
    twice = provision(client, device(device_id="y", apikey="a"), device(device_id="y", apikey="b"))
    assert twice.status_code == 400
    changed_id = client.put(f"{DEVICES}/aq-01", json={"device_id": "other"})
    assert changed_id.status_code == 400
    assert client.get(DEVICES, params={"limit": 0}).status_code == 400


def test_devices_are_per_tenant(client: TestClient) -> None:
    assert provision(client, device(), **{"NGSILD-Tenant": "cq"}).status_code == 201
    assert client.get(DEVICES).json()["count"] == 0
    assert client.get(DEVICES, headers={"fiware-service": "cq"}).json()["count"] == 1
    # measures find the device in the request's tenant only (issue 16, item 7)
    measures = {"k": "k3y", "i": "aq-01"}
    assert client.post("/iot/json", params=measures, json={"t": 3}).status_code == 404
    response = client.post(
        "/iot/json", params=measures, json={"t": 3}, headers={"fiware-service": "cq"}
    )
    assert response.status_code == 204
    assert client.get(f"{ENTITIES}/{ENTITY}").status_code == 404
    stored = client.get(f"{ENTITIES}/{ENTITY}", headers={"NGSILD-Tenant": "cq"}).json()
    assert stored["temperature"]["value"] == 3


def test_http_measures(client: TestClient) -> None:
    provision(client, device())
    measures = {"k": "k3y", "i": "aq-01"}
    assert client.post("/iot/json", params=measures, json={"t": 21.5, "pm25": 8}).status_code == 204
    entity = client.get(f"{ENTITIES}/{ENTITY}").json()
    assert entity["temperature"] == {"type": "Property", "value": 21.5}
    assert entity["pm25"] == {"type": "Property", "value": 8}
    assert entity["refDistrict"]["object"] == "urn:ngsi-ld:District:yz"
    assert client.post("/iot/json", params=measures, json=[{"t": 1}, {"t": 2}]).status_code == 204
    assert client.get(f"{ENTITIES}/{ENTITY}").json()["temperature"]["value"] == 2
    # refused: the whole payload, with the reason
    refused = client.post("/iot/json", params=measures, json=[{"t": 5}, {"t": None}])
    assert refused.status_code == 400
    assert "null" in refused.json()["detail"]
    assert client.get(f"{ENTITIES}/{ENTITY}").json()["temperature"]["value"] == 2
    wrong_key = client.post("/iot/json", params={"k": "nope", "i": "aq-01"}, json={"t": 1})
    assert wrong_key.status_code == 404
    unknown = client.post("/iot/json", params={"k": "k3y", "i": "ghost"}, json={"t": 1})
    assert unknown.status_code == 404
    assert client.post("/iot/json", params={"i": "aq-01"}, json={"t": 1}).status_code == 400
    not_json = client.post(
        "/iot/json", params=measures, content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert client.post("/iot/json", params={**measures, "x": "1"}, json={}).status_code == 400
    stats = client.get("/iot/stats").json()
    assert stats["applied"] == 3
    assert stats["rejected"] == {
        "unknown_device": 1,
        "bad_apikey": 1,
        "malformed": 2,
        "invalid": 2,
        "failed": 0,
    }
    assert stats["mqtt"]["connected"] is False


def test_ngsi_ld_routes_still_reject_unknown_parameters(client: TestClient) -> None:
    response = client.get(ENTITIES, params={"type": "X", "k": "1"})
    assert response.status_code == 400
    assert problem_type(response) == "InvalidRequest"
