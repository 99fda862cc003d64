"""Batch operations: full success, partial failure with 207, and no half-writes."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.helpers import BATCH, ENTITIES, problem_type


def bus(n: int, **attrs: Any) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:Vehicle:bus{n}", "type": "Vehicle", "speed": 30 + n, **attrs}


def test_create_all_and_partial(client: TestClient) -> None:
    response = client.post(f"{BATCH}/create", json=[bus(1), bus(2)])
    assert response.status_code == 201
    assert response.json() == ["urn:ngsi-ld:Vehicle:bus1", "urn:ngsi-ld:Vehicle:bus2"]
    partial = client.post(f"{BATCH}/create", json=[bus(2), bus(3), {"id": "bad id", "type": "V"}])
    assert partial.status_code == 207
    body = partial.json()
    assert body["success"] == ["urn:ngsi-ld:Vehicle:bus3"]
    errors = {e["entityId"]: e["error"]["type"].rsplit("/", 1)[-1] for e in body["errors"]}
    assert errors == {"urn:ngsi-ld:Vehicle:bus2": "AlreadyExists", "bad id": "BadRequestData"}
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:bus3").status_code == 200


def test_upsert_replace_and_update(client: TestClient) -> None:
    created = client.post(f"{BATCH}/upsert", json=[bus(1, route="A")])
    assert created.status_code == 201 and created.json() == ["urn:ngsi-ld:Vehicle:bus1"]
    replaced = client.post(f"{BATCH}/upsert", json=[bus(1)])
    assert replaced.status_code == 204
    assert "route" not in client.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:bus1").json()
    client.post(f"{BATCH}/upsert", json=[bus(1, route="B")])
    updated = client.post(
        f"{BATCH}/upsert",
        params={"options": "update"},
        json=[{"id": "urn:ngsi-ld:Vehicle:bus1", "type": "Vehicle", "speed": 5}],
    )
    assert updated.status_code == 204
    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:bus1").json()
    assert got["route"]["value"] == "B" and got["speed"]["value"] == 5
    mixed = client.post(f"{BATCH}/upsert", json=[bus(1), bus(9)])
    assert mixed.status_code == 201 and mixed.json() == ["urn:ngsi-ld:Vehicle:bus9"]


def test_update_and_no_overwrite(client: TestClient) -> None:
    client.post(f"{BATCH}/create", json=[bus(1)])
    response = client.post(
        f"{BATCH}/update",
        params={"options": "noOverwrite"},
        json=[
            {"id": "urn:ngsi-ld:Vehicle:bus1", "type": "Vehicle", "speed": 1, "driver": "Li"},
            bus(7),
        ],
    )
    assert response.status_code == 207
    assert response.json()["success"] == ["urn:ngsi-ld:Vehicle:bus1"]
    assert problem_type_of(response.json()["errors"][0]) == "ResourceNotFound"
    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:bus1").json()
    assert got["speed"]["value"] == 31 and got["driver"]["value"] == "Li"
    assert client.post(f"{BATCH}/update", json=[bus(1)]).status_code == 204


def problem_type_of(error: dict[str, Any]) -> str:
    kind: str = error["error"]["type"]
    return kind.rsplit("/", 1)[-1]


def test_delete(client: TestClient) -> None:
    client.post(f"{BATCH}/create", json=[bus(1), bus(2)])
    ok = client.post(f"{BATCH}/delete", json=["urn:ngsi-ld:Vehicle:bus1"])
    assert ok.status_code == 204
    partial = client.post(
        f"{BATCH}/delete", json=["urn:ngsi-ld:Vehicle:bus1", "urn:ngsi-ld:Vehicle:bus2"]
    )
    assert partial.status_code == 207
    assert partial.json()["success"] == ["urn:ngsi-ld:Vehicle:bus2"]
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:bus2").status_code == 404


def test_merge(client: TestClient) -> None:
    client.post(f"{BATCH}/create", json=[bus(1, route="A")])
    response = client.post(f"{BATCH}/merge", json=[{"id": "urn:ngsi-ld:Vehicle:bus1", "speed": 99}])
    assert response.status_code == 204, response.text
    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:bus1").json()
    assert got["speed"]["value"] == 99 and got["route"]["value"] == "A"


def test_query(client: TestClient) -> None:
    client.post(f"{BATCH}/create", json=[bus(1), bus(2), bus(3)])
    response = client.post(
        f"{BATCH}/query",
        params={"count": "true"},
        json={"type": "Query", "entities": [{"type": "Vehicle"}], "q": "speed>31"},
    )
    assert response.status_code == 200, response.text
    assert [e["id"] for e in response.json()] == [
        "urn:ngsi-ld:Vehicle:bus2",
        "urn:ngsi-ld:Vehicle:bus3",
    ]
    assert response.headers["NGSILD-Results-Count"] == "2"
    bad = client.post(f"{BATCH}/query", json={"entities": []})
    assert bad.status_code == 400


def test_bad_bodies(client: TestClient) -> None:
    for body in ({"id": "urn:x:1"}, [], "text"):
        response = client.post(f"{BATCH}/create", json=body)
        assert (response.status_code, problem_type(response)) == (400, "BadRequestData")
