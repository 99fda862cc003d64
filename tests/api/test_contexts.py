"""/jsonldContexts: hosting user contexts, serving the core, and never fetching remotely."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.api.helpers import CORE, ENTITIES, link, problem_type

CONTEXTS = "/ngsi-ld/v1/jsonldContexts"


def test_host_list_serve_delete(client: TestClient) -> None:
    document = {"@context": {"Tram": "https://example.org/Tram"}}
    posted = client.post(CONTEXTS, json=document)
    assert posted.status_code == 201
    location = posted.headers["location"]
    assert client.get(location).json() == document
    urls = client.get(CONTEXTS).json()
    assert CORE in urls and "http://testserver" + location in urls
    details = client.get(CONTEXTS, params={"details": "true", "kind": "Hosted"}).json()
    assert [d["kind"] for d in details] == ["Hosted"]
    assert details[0]["localId"] == location.rsplit("/", 1)[-1]
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404


def test_core_context_is_served_and_protected(client: TestClient) -> None:
    core = client.get(f"{CONTEXTS}/ngsi-ld-core-context").json()
    assert core["@context"]["Property"] == "ngsi-ld:Property"
    refused = client.delete(f"{CONTEXTS}/ngsi-ld-core-context")
    assert refused.status_code == 400


def test_unknown_remote_context_is_504_not_fetched(client: TestClient) -> None:
    body = {"id": "urn:x:1", "type": "T"}
    response = client.post(
        ENTITIES, json=body, headers={"Link": link("https://example.org/ctx.jsonld")}
    )
    assert (response.status_code, problem_type(response)) == (504, "LdContextNotAvailable")
    assert client.post(CONTEXTS, json={"no": "context"}).status_code == 400
