"""Inputs a review found mishandled: each must now be refused cleanly or behave as specified."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.api.helpers import BATCH, ENTITIES, LD, link, problem_type

CONTEXTS = "/ngsi-ld/v1/jsonldContexts"


def test_context_terms_cannot_alias_core_members(client: TestClient) -> None:
    posted = client.post(CONTEXTS, json={"@context": {"obs": "observedAt", "sc": "ngsi-ld:scope"}})
    url = "http://testserver" + posted.headers["location"]
    body = {"id": "urn:c:2", "type": "T", "temp": {"value": 1, "obs": {"value": 2}}}
    created = client.post(ENTITIES, json=body, headers={"Link": link(url)})
    assert created.status_code == 201  # "obs" maps to no IRI, so it is an ordinary name
    temp = client.get(f"{ENTITIES}/urn:c:2").json()["temp"]
    assert "observedAt" not in temp and "createdAt" not in temp
    scoped = {"id": "urn:c:3", "type": "T", "sc": "x"}
    assert client.post(ENTITIES, json=scoped, headers={"Link": link(url)}).status_code == 400


def test_deletion_markers_everywhere(client: TestClient) -> None:
    body = {"id": "urn:d:1", "type": "T", "temp": {"value": 21, "accuracy": 0.5}, "old": 1}
    client.post(ENTITIES, json=body)
    url = f"{ENTITIES}/urn:d:1"
    merged = client.patch(url, json={"temp": {"value": 22, "accuracy": "urn:ngsi-ld:null"}})
    assert merged.status_code == 204
    assert client.get(url).json()["temp"] == {"type": "Property", "value": 22}
    assert client.post(f"{url}/attrs", json={"old": "urn:ngsi-ld:null"}).status_code == 204
    assert "old" not in client.get(url).json()


def test_partial_update_of_a_member_only(client: TestClient) -> None:
    client.post(ENTITIES, json={"id": "urn:p:1", "type": "T", "temp": {"value": 5}})
    url = f"{ENTITIES}/urn:p:1"
    response = client.patch(f"{url}/attrs/temp", json={"observedAt": "2026-11-28T00:00:00Z"})
    assert response.status_code == 204, response.text
    assert client.get(url).json()["temp"] == {
        "type": "Property",
        "value": 5,
        "observedAt": "2026-11-28T00:00:00Z",
    }


def test_replace_needs_a_type(client: TestClient) -> None:
    client.post(ENTITIES, json={"id": "urn:r:1", "type": "T"})
    assert client.put(f"{ENTITIES}/urn:r:1", json={"name": "x"}).status_code == 400
    assert client.get(f"{ENTITIES}/urn:r:1").json()["type"] == "T"


def test_failed_batches_create_no_tenant(client: TestClient) -> None:
    ghost = {"NGSILD-Tenant": "ghost"}
    assert client.post(f"{BATCH}/delete", json=["urn:nope:1"], headers=ghost).status_code == 207
    after = client.get(ENTITIES, params={"type": "T"}, headers=ghost)
    assert problem_type(after) == "NonexistentTenant"
    not_uri = client.post(f"{BATCH}/delete", json=["not a uri"])
    assert problem_type_of_first(not_uri.json()) == "BadRequestData"


def problem_type_of_first(body: dict[str, list[dict[str, dict[str, str]]]]) -> str:
    return body["errors"][0]["error"]["type"].rsplit("/", 1)[-1]


def test_extreme_numbers_and_nesting_are_400(client: TestClient) -> None:
    client.post(ENTITIES, json={"id": "urn:n:1", "type": "T", "x": 1})
    huge = client.get(ENTITIES, params={"type": "T", "q": "x==18446744073709551615"})
    assert huge.status_code == 200 and huge.json() == []
    far = client.get(ENTITIES, params={"type": "T", "offset": "99999999999999999999"})
    assert far.status_code == 400
    deep: object = 1
    for _ in range(300):
        deep = {"a": deep}
    nested = client.post(ENTITIES, json={"id": "urn:n:2", "type": "T", "v": {"value": deep}})
    assert nested.status_code == 400


def test_update_result_speaks_the_bodys_context(client: TestClient) -> None:
    client.post(ENTITIES, json={"id": "urn:u:1", "type": "T"})
    context = {"foo": "https://ex.org/foo"}
    body = {"foo": 1, "@context": context}
    client.post(f"{ENTITIES}/urn:u:1/attrs", json=body, headers={"Content-Type": LD})
    kept = client.post(
        f"{ENTITIES}/urn:u:1/attrs",
        params={"options": "noOverwrite"},
        json=body,
        headers={"Content-Type": LD},
    )
    assert kept.status_code == 207
    assert kept.json()["notUpdated"][0]["attributeName"] == "foo"


def test_list_relationship_key_values(client: TestClient) -> None:
    body = {
        "id": "urn:l:1",
        "type": "T",
        "stops": {"type": "ListRelationship", "objectList": [{"object": "urn:s:1"}, "urn:s:2"]},
    }
    assert client.post(ENTITIES, json=body).status_code == 201
    got = client.get(f"{ENTITIES}/urn:l:1", params={"options": "keyValues"}).json()
    assert got["stops"] == ["urn:s:1", "urn:s:2"]


def test_two_iris_with_one_short_name_both_show(client: TestClient) -> None:
    body = {
        "id": "urn:k:1",
        "type": "T",
        "colour": "vocab",
        "https://example.org/colour": "dc",
    }
    posted = client.post(
        "/ngsi-ld/v1/jsonldContexts",
        json={"@context": {"colour": "https://example.org/colour"}},
    )
    url = "http://testserver" + posted.headers["location"]
    client.post(ENTITIES, json=body)
    got = client.get(f"{ENTITIES}/urn:k:1", headers={"Link": link(url)}).json()
    values = sorted(v["value"] for k, v in got.items() if k not in ("id", "type"))
    assert values == ["dc", "vocab"]


def test_parameters_known_to_ngsi_ld_but_not_supported_are_bad_requests(
    client: TestClient,
) -> None:
    response = client.get("/ngsi-ld/v1/entities", params={"type": "T", "orderBy": "id"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("BadRequestData")
    assert "orderBy" in response.json()["detail"]
    unknown = client.get("/ngsi-ld/v1/entities", params={"type": "T", "sortBy": "id"})
    assert unknown.json()["type"].endswith("InvalidRequest")
