"""What fuzzing the API found (docs/security.md, "Fuzzing the API"), kept as plain tests:
each request here once answered 500, or an answer that broke the OpenAPI document. Each
is now a 400 ProblemDetails that says what is wrong."""

from __future__ import annotations

import orjson
import pytest
from httpx import Response
from starlette.testclient import TestClient

from tests.api.helpers import BATCH, ENTITIES, LD, problem_type

VEHICLE = {"id": "urn:ngsi-ld:Vehicle:F1", "type": "Vehicle", "speed": 1}
RULE = {
    "id": "fuzz-rule",
    "type": "Machine",
    "when": {"q": "temperature>90"},
    "then": [{"set": {"attribute": "alarm", "value": "hot"}}],
}


def refused(response: Response, detail: str) -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"].endswith(("BadRequestData", "InvalidRequest")), problem
    assert detail in problem["detail"], problem["detail"]


@pytest.mark.parametrize(
    ("path", "member"),
    [
        (f"{BATCH}/query", "attrs"),
        (f"{BATCH}/query", "lang"),
        ("/ngsi-ld/v1/temporal/entityOperations/query", "attrs"),
    ],
)
def test_query_body_names_must_be_strings(client: TestClient, path: str, member: str) -> None:
    response = client.post(path, json={"type": "Query", "entities": [{"type": "V"}], member: [{}]})
    refused(response, f"{member} must be a string")


def test_query_body_geoproperty_must_be_a_string(client: TestClient) -> None:
    geo = {"georel": "near;maxDistance==10", "geometry": "Point", "coordinates": [1, 2]}
    response = client.post(
        f"{BATCH}/query", json={"type": "Query", "geoQ": {**geo, "geoproperty": ["x"]}}
    )
    refused(response, "geoQ.geoproperty must be a string")


def test_attribute_type_must_be_a_string(client: TestClient) -> None:
    assert client.post(ENTITIES, json=VEHICLE).status_code == 201
    point = {"type": {}, "value": {"type": "Point", "coordinates": [1, 2]}}
    response = client.patch(f"{ENTITIES}/{VEHICLE['id']}/attrs/speed", json=point)
    refused(response, "The type of attribute 'speed' must be a string")
    response = client.post(ENTITIES, json={**VEHICLE, "id": "urn:x:2", "location": point})
    refused(response, "must be a string")


@pytest.mark.parametrize("context", ["", "§\x1aÀ", ["", "https://x.org/c"]])
def test_a_context_that_is_no_url_is_a_bad_request_not_a_504(
    client: TestClient, context: object
) -> None:
    response = client.post(
        ENTITIES,
        content=orjson.dumps({"id": "urn:x:1", "type": "T", "@context": context}),
        headers={"Content-Type": LD},
    )
    refused(response, "An @context URL must be an absolute URL")


def test_an_unknown_context_url_is_still_504(client: TestClient) -> None:
    response = client.post(
        ENTITIES,
        json={**VEHICLE, "@context": "https://example.org/c.jsonld"},
        headers={"Content-Type": LD},
    )
    assert (response.status_code, problem_type(response)) == (504, "LdContextNotAvailable")


@pytest.mark.parametrize("context", [[5, "https://example.org/c.jsonld"], [["a"]], [True]])
def test_context_items_are_checked_before_any_url_is_looked_up(
    client: TestClient, context: object
) -> None:
    response = client.post(
        ENTITIES, json={**VEHICLE, "@context": context}, headers={"Content-Type": LD}
    )
    refused(response, "An @context holds URLs and objects")


def test_a_rule_with_a_nested_context_list_is_refused_not_stored(client: TestClient) -> None:
    response = client.post("/rules", json={**RULE, "@context": [[None, None]]})
    refused(response, "An @context holds URLs and objects")
    assert client.get("/rules").json() == []


def test_rule_where_geoproperty_must_be_a_string(client: TestClient) -> None:
    where = {"georel": "near;maxDistance==10", "geometry": "Point", "coordinates": [1, 2]}
    response = client.post("/rules", json={**RULE, "where": {**where, "geoproperty": [None]}})
    refused(response, "where.geoproperty must be a string")


def test_a_rule_without_where_is_shown_as_posted(client: TestClient) -> None:
    assert (
        client.post("/rules", json={**RULE, "where": None, "description": None}).status_code == 201
    )
    shown = client.get(f"/rules/{RULE['id']}").json()
    assert (shown["where"], shown["description"]) == (None, None)


@pytest.mark.parametrize(
    "path", [ENTITIES, f"{BATCH}/create", "/ngsi-ld/v1/subscriptions", "/governance/cases"]
)
def test_deeply_nested_json_is_refused(client: TestClient, path: str) -> None:
    body = '{"id": "urn:x:1", "type": "T", "a": ' + "[" * 200 + "]" * 200 + "}"
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    refused(response, "nests arrays and objects deeper than 100 levels")


def test_deeply_nested_rules_are_refused(client: TestClient) -> None:
    for text in ("[" * 5000 + "]" * 5000, "rules: " + "[" * 150 + "]" * 150):
        response = client.post("/rules", content=text, headers={"Content-Type": "application/yaml"})
        assert response.status_code == 400, response.text


def test_yaml_aliases_are_refused_in_rules(client: TestClient) -> None:
    """A few lines of aliases stand for a document of billions of nodes."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    response = client.post("/rules", content=bomb, headers={"Content-Type": "application/yaml"})
    refused(response, "YAML aliases")
