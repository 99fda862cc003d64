"""Issue 16, items 2, 6 and 7: one tenant per request, decided once and authorised as
served; a department's cases hidden on every surface; every route scoped to the tenant."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cityos.indicators.live import LiveCity
from cityos.store.base import Store
from cityos.store.sqlite import SQLiteStore
from tests.auth.conftest import Secured, secured_app
from tests.auth.test_objects import FORM, two_departments

V1 = "/ngsi-ld/v1"
CONTEXT = {"@context": {"height": "https://example.org/height"}}


# -- item 2: the request's tenant, decided once ------------------------------------------


def test_an_empty_query_tenant_is_the_default_tenant_and_authorised_as_such(
    secured: Secured,
) -> None:
    only_a = secured.headers("admin", tenants=("a",))
    stream = f"{V1}/subscriptions/urn:x:s/stream"
    for url in (f"{stream}?tenant=", "/audit?tenant="):
        assert secured.client.get(url, headers=only_a).status_code == 403, url
        mixed = secured.client.get(url, headers={**only_a, "NGSILD-Tenant": "a"})
        assert mixed.status_code == 400, (url, mixed.text)  # header a, query '': two tenants
    empty_header = secured.client.get(f"{V1}/types", headers={**only_a, "NGSILD-Tenant": ""})
    assert empty_header.status_code == 403


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"NGSILD-Tenant": "a"}, "?tenant=b"),
        ({"NGSILD-Tenant": "a", "fiware-service": "b"}, ""),
        ({"fiware-service": "a"}, "?tenant=b"),
    ],
)
def test_two_tenants_in_one_request_are_refused(
    secured: Secured, headers: dict[str, str], query: str
) -> None:
    admin = secured.headers("admin")
    url = f"{V1}/subscriptions/urn:x:s/stream{query}" if query else "/iot/devices"
    refused = secured.client.get(url, headers={**admin, **headers})
    assert refused.status_code == 400, refused.text
    assert "different tenants" in refused.json()["detail"]


def test_a_tenant_named_twice_the_same_way_is_one_tenant(secured: Secured) -> None:
    admin = secured.headers("admin")
    same = {**admin, "NGSILD-Tenant": "a", "fiware-service": "a"}
    assert secured.client.get("/iot/devices", headers=same).status_code == 200
    invalid = secured.client.get(f"{V1}/types?tenant=a%0A", headers=admin)
    assert invalid.status_code == 400 and "not valid" in invalid.json()["detail"]
    odd = secured.client.get("/open311/v2/requests.json", headers={**admin, "NGSILD-Tenant": "a b"})
    assert odd.status_code == 400 and odd.json()[0]["code"] == 400  # Open311's shape


# -- item 6: a department's cases, hidden on every surface -------------------------------


def _crew(secured: Secured) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    mine, theirs = two_departments(secured)
    return secured.headers(f"department:{mine['department']}"), mine, theirs


def test_a_department_reads_no_other_case_through_entities(secured: Secured) -> None:
    crew, mine, theirs = _crew(secured)
    client = secured.client
    assert client.get(f"{V1}/entities/{mine['id']}", headers=crew).status_code == 200
    assert client.get(f"{V1}/entities/{theirs['id']}", headers=crew).status_code == 404
    listed = client.get(f"{V1}/entities?type=Case", headers=crew).json()
    assert [e["id"] for e in listed] == [mine["id"]]
    query = {"type": "Query", "entities": [{"type": "Case"}]}
    queried = client.post(f"{V1}/entityOperations/query", json=query, headers=crew).json()
    assert [e["id"] for e in queried] == [mine["id"]]
    everyone = client.get(f"{V1}/entities?type=Case", headers=secured.headers("operator"))
    assert {theirs["id"], mine["id"]} <= {e["id"] for e in everyone.json()}


def test_a_department_reads_no_other_case_through_the_temporal_api(secured: Secured) -> None:
    crew, mine, theirs = _crew(secured)
    client = secured.client
    temporal = f"{V1}/temporal/entities"
    assert client.get(f"{temporal}/{mine['id']}", headers=crew).status_code == 200
    assert client.get(f"{temporal}/{theirs['id']}", headers=crew).status_code == 404
    listed = client.get(
        f"{temporal}?type=Case&timerel=after&timeAt=2000-01-01T00:00:00Z", headers=crew
    )
    assert listed.status_code == 200, listed.text
    assert [e["id"] for e in listed.json()] == [mine["id"]]


def test_a_department_subscribes_to_no_other_case(secured: Secured) -> None:
    crew, _, _ = _crew(secured)
    body = {
        "type": "Subscription",
        "entities": [{"type": "Case"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/hook"}},
    }
    refused = secured.client.post(f"{V1}/subscriptions", json=body, headers=crew)
    assert refused.status_code == 403, refused.text
    streamed = {**body, "notification": {"endpoint": {"uri": "urn:cityos:stream"}}}
    made = secured.client.post(f"{V1}/subscriptions", json=streamed, headers=crew)
    assert made.status_code == 201, made.text  # the stream filters what it sends
    others = {**body, "entities": [{"type": "Building"}]}
    assert secured.client.post(f"{V1}/subscriptions", json=others, headers=crew).status_code == 201


def test_a_department_reads_no_other_case_through_open311(secured: Secured) -> None:
    crew, mine, theirs = _crew(secured)
    client = secured.client
    listed = client.get("/open311/v2/requests.json", headers=crew).json()
    assert [r["service_request_id"] for r in listed] == [mine["reference"]]
    for asked_for in (theirs["id"], theirs["reference"]):
        one = client.get(f"/open311/v2/requests/{asked_for}.json", headers=crew)
        assert one.status_code == 404 and one.json()[0]["code"] == 404
    asked = client.get(
        f"/open311/v2/requests.json?service_request_id={theirs['id']}", headers=crew
    ).json()
    assert asked == []


# -- item 7: every route in the request's tenant -----------------------------------------


def test_measures_find_a_device_only_in_the_requests_tenant(secured: Secured) -> None:
    admin = secured.headers("admin")
    device = {
        "device_id": "d1",
        "apikey": "k3y",
        "entity_name": "urn:ngsi-ld:WeatherObserved:d1",
        "entity_type": "WeatherObserved",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}],
    }
    in_b = {**admin, "NGSILD-Tenant": "b"}
    made = secured.client.post("/iot/devices", json={"devices": [device]}, headers=in_b)
    assert made.status_code == 201
    only_a = {**secured.headers("operator", tenants=("a",)), "NGSILD-Tenant": "a"}
    other = secured.client.post("/iot/json?k=k3y&i=d1", json={"t": 3}, headers=only_a)
    assert other.status_code == 404, other.text
    assert (
        secured.client.post("/iot/json?k=k3y&i=d1", json={"t": 3}, headers=in_b).status_code == 204
    )


def test_stored_contexts_belong_to_a_tenant(secured: Secured) -> None:
    admin = secured.headers("admin")
    contexts = f"{V1}/jsonldContexts"
    made = secured.client.post(contexts, json=CONTEXT, headers=admin)
    assert made.status_code == 201
    local_id = made.headers["Location"].rsplit("/", 1)[-1]
    only_a = {**secured.headers("operator", tenants=("a",)), "NGSILD-Tenant": "a"}
    listed = secured.client.get(contexts, headers=only_a).json()
    assert not any(local_id in url for url in listed)
    assert secured.client.get(f"{contexts}/{local_id}", headers=only_a).status_code == 404
    assert secured.client.delete(f"{contexts}/{local_id}", headers=only_a).status_code == 404
    assert secured.client.get(f"{contexts}/{local_id}", headers=admin).status_code == 200
    core = secured.client.get(f"{contexts}/ngsi-ld-core-context", headers=only_a)
    assert core.status_code == 200  # the core context is everyone's, and read-only


def test_open311_posts_only_into_a_tenant_that_exists(secured: Secured) -> None:
    citizen = secured.headers("citizen")
    url = "/open311/v2/requests.json"
    ghost = secured.client.post(
        url, data={**FORM, "api_key": "app"}, headers={**citizen, "NGSILD-Tenant": "ghost"}
    )
    assert ghost.status_code == 404 and "ghost" in ghost.json()[0]["description"]
    assert "ghost" not in secured.store.tenants()
    admin = {**secured.headers("admin"), "NGSILD-Tenant": "real"}
    body = {"id": "urn:ngsi-ld:Building:b1", "type": "Building"}
    assert secured.client.post(f"{V1}/entities", json=body, headers=admin).status_code == 201
    real = secured.client.post(
        url, data={**FORM, "api_key": "app"}, headers={**citizen, "NGSILD-Tenant": "real"}
    )
    assert real.status_code == 200, real.text


def test_live_indicators_only_for_the_live_citys_tenant(store: Store) -> None:
    live = LiveCity("warsaw", "city proper", ("urban-rail-length",), "test", tenant="w")
    secured = secured_app(store, live_city=live, indicators_every_s=3600)
    with secured.client as client:
        operator = secured.headers("operator")
        other = client.get("/indicators/live", headers={**operator, "NGSILD-Tenant": "a"})
        assert other.status_code == 404, other.text
        own = client.get("/indicators/live", headers={**operator, "NGSILD-Tenant": "w"})
        assert own.status_code == 200 and own.json()["city"] == "warsaw"


def test_contexts_kept_before_stay_with_the_default_tenant(tmp_path: Path) -> None:
    """A SQLite database made before contexts had tenants: its contexts are the default
    tenant's after the upgrade (the PostgreSQL migration 9 does the same)."""
    old = sqlite3.connect(tmp_path / "cityos.db")
    old.execute(
        "CREATE TABLE contexts (id TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, kind TEXT NOT "
        "NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, last_usage TEXT, hits INTEGER "
        "NOT NULL DEFAULT 0)"
    )
    old.execute("INSERT INTO contexts VALUES ('c1', 'http://x/c1', 'Hosted', '{}', 't', NULL, 0)")
    old.commit()
    old.close()
    store = SQLiteStore(tmp_path)
    try:
        assert [c.id for c in store.list_contexts("")] == ["c1"]
        assert store.list_contexts("a") == [] and store.get_context("c1", "a") is None
        assert not store.delete_context("c1", "a") and store.get_context("c1") is not None
    finally:
        store.close()
