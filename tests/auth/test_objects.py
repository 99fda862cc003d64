"""Object rules: a department's own cases, reporters' contacts, a device's own entity, the
entity types anonymous callers see, Open311 posts without a key."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.auth.config import AuthSettings
from cityos.store.base import Store
from tests.auth.conftest import DEVICE_ENTITY, Secured, secured_app

V1 = "/ngsi-ld/v1"
CASES = "/governance/cases"
YUZHONG = {"type": "Point", "coordinates": [106.577, 29.557]}
CATEGORIES = ("pothole", "illegal-dumping")


def two_departments(secured: Secured) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two cases routed to different departments, reported by a citizen with an email."""
    admin = secured.headers("admin")
    cases: dict[str, dict[str, Any]] = {}
    for category in CATEGORIES:
        body = {"category": category, "location": YUZHONG, "reporter": {"email": "w@example.cn"}}
        response = secured.client.post(CASES, json=body, headers=admin)
        assert response.status_code == 201, response.text
        case = response.json()
        cases.setdefault(case["department"], case)
    assert len(cases) >= 2, cases
    first, second = list(cases.values())[:2]
    return first, second


def test_a_department_sees_and_acts_only_on_its_own_cases(secured: Secured) -> None:
    mine, theirs = two_departments(secured)
    crew = secured.headers(f"department:{mine['department']}")
    listed = secured.client.get(CASES, headers=crew)
    assert {c["department"] for c in listed.json()} == {mine["department"]}
    assert listed.headers["cityos-count"] == str(len(listed.json()))
    asked = secured.client.get(f"{CASES}?department={theirs['department']}", headers=crew)
    assert asked.json() == [] and asked.headers["cityos-count"] == "0"
    assert secured.client.get(f"{CASES}/{mine['id']}", headers=crew).status_code == 200
    for path in (f"{CASES}/{theirs['id']}", f"{CASES}/{theirs['id']}/trail"):
        assert secured.client.get(path, headers=crew).status_code == 404  # not 403: no leak
    acted = secured.client.post(f"{CASES}/{theirs['id']}/accept", headers=crew)
    assert acted.status_code == 404
    operator = secured.headers("operator")
    everything = secured.client.get(CASES, headers=operator).json()
    assert {mine["department"], theirs["department"]} <= {c["department"] for c in everything}


def test_the_case_actor_is_the_principal_not_a_header(secured: Secured) -> None:
    case, _ = two_departments(secured)
    citizen_headers = {
        **secured.headers("inspector"),
        "CityOS-Actor": "boss",
        "CityOS-Roles": "admin",
    }
    refused = secured.client.post(f"{CASES}/{case['id']}/accept", headers=citizen_headers)
    assert refused.status_code == 403  # an inspector does not accept, whatever the headers say
    accepted = secured.client.post(
        f"{CASES}/{case['id']}/accept", headers=secured.headers("operator")
    )
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("admin", True),
        ("operator", True),
        ("supervisor", True),
        ("own-department", True),
        ("other-department", False),
        ("inspector", False),
    ],
)
def test_reporter_contacts_only_to_those_who_follow_up(
    secured: Secured, role: str, sees: bool
) -> None:
    case, other = two_departments(secured)
    name = {
        "own-department": f"department:{case['department']}",
        "other-department": f"department:{other['department']}",
    }.get(role, role)
    headers = secured.headers(name)
    listed = [c for c in secured.client.get(CASES, headers=headers).json() if c["id"] == case["id"]]
    if role == "other-department":
        assert listed == []
        return
    one = secured.client.get(f"{CASES}/{case['id']}", headers=headers).json()
    for shown in (listed[0], one):
        assert ("reporter" in shown) is sees
        if sees:
            assert shown["reporter"] == {"email": "w@example.cn"}


def test_a_device_writes_only_its_own_entity(secured: Secured) -> None:
    admin = secured.headers("admin")
    for entity_id in (DEVICE_ENTITY, "urn:ngsi-ld:WeatherObserved:other"):
        body = {"id": entity_id, "type": "WeatherObserved", "t": {"type": "Property", "value": 1}}
        assert secured.client.post(f"{V1}/entities", json=body, headers=admin).status_code == 201
    device = secured.headers("device")
    patch = {"t": {"type": "Property", "value": 2}}
    assert (
        secured.client.patch(
            f"{V1}/entities/{DEVICE_ENTITY}/attrs", json=patch, headers=device
        ).status_code
        == 204
    )
    assert (
        secured.client.post(
            f"{V1}/entities/{DEVICE_ENTITY}/attrs", json=patch, headers=device
        ).status_code
        == 204
    )
    other = "urn:ngsi-ld:WeatherObserved:other"
    for method, url in (
        ("PATCH", f"{V1}/entities/{other}/attrs"),
        ("POST", f"{V1}/entities/{other}/attrs"),
        ("PATCH", f"{V1}/entities/{other}/attrs/t"),
        ("PATCH", f"{V1}/entities/{other}"),
        ("POST", f"{V1}/entities"),
    ):
        refused = secured.client.request(method, url, json=patch, headers=device)
        assert refused.status_code == 403, (method, url)
    for method, url in (
        ("GET", f"{V1}/entities/{DEVICE_ENTITY}"),
        ("GET", f"{V1}/entities/{other}"),
        ("DELETE", f"{V1}/entities/{DEVICE_ENTITY}"),
        ("POST", f"{V1}/entityOperations/upsert"),
    ):
        assert secured.client.request(method, url, headers=device).status_code == 403
    stored = secured.client.get(f"{V1}/entities/{other}", headers=admin).json()
    assert stored["t"]["value"] == 1


def test_a_device_measures_only_for_its_own_entity(secured: Secured) -> None:
    admin = secured.headers("admin")
    devices = [
        {
            "device_id": device_id,
            "apikey": "k3y",
            "entity_name": entity,
            "entity_type": "WeatherObserved",
            "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}],
        }
        for device_id, entity in (
            ("own", DEVICE_ENTITY),
            ("other", "urn:ngsi-ld:WeatherObserved:x"),
        )
    ]
    assert (
        secured.client.post("/iot/devices", json={"devices": devices}, headers=admin).status_code
        == 201
    )
    device = secured.headers("device")
    own = secured.client.post("/iot/json?k=k3y&i=own", json={"t": 3}, headers=device)
    assert own.status_code == 204
    other = secured.client.post("/iot/json?k=k3y&i=other", json={"t": 3}, headers=device)
    assert other.status_code == 403
    assert secured.client.get("/iot/devices", headers=device).status_code == 403


def test_anonymous_reads_only_the_public_types(secured: Secured) -> None:
    admin = secured.headers("admin")
    for kind in ("District", "Building"):
        body = {
            "id": f"urn:ngsi-ld:{kind}:1",
            "type": kind,
            "name": {"type": "Property", "value": kind},
        }
        assert secured.client.post(f"{V1}/entities", json=body).status_code == 401
        assert secured.client.post(f"{V1}/entities", json=body, headers=admin).status_code == 201
    client = secured.client
    assert [e["id"] for e in client.get(f"{V1}/entities?type=District").json()] == [
        "urn:ngsi-ld:District:1"
    ]
    assert client.get(f"{V1}/entities?type=Building").json() == []
    assert [e["type"] for e in client.get(f"{V1}/entities?type=Building,District").json()] == [
        "District"
    ]
    assert [e["type"] for e in client.get(f"{V1}/entities?q=name").json()] == ["District"]
    assert client.get(f"{V1}/entities/urn:ngsi-ld:District:1").status_code == 200
    assert client.get(f"{V1}/entities/urn:ngsi-ld:Building:1").status_code == 404
    queried = client.post(
        f"{V1}/entityOperations/query", json={"type": "Query", "entities": [{"type": "Building"}]}
    )
    assert queried.status_code == 200 and queried.json() == []
    assert client.get(f"{V1}/types").status_code == 401
    assert client.get(f"{V1}/entities?type=Building", headers=admin).json() != []


def test_without_public_types_anonymous_reads_nothing(store: Store) -> None:
    secured = secured_app(store, AuthSettings())
    with secured.client as client:
        response = client.get(f"{V1}/entities?type=District")
        assert response.status_code == 401


FORM = {"service_code": "pothole", "lat": "29.557", "long": "106.577", "email": "w@example.cn"}


def test_open311_posts_need_a_service_api_key(store: Store, tmp_path: Any) -> None:
    keyed = secured_app(store, open311_keys=frozenset({"citizen-app"}))
    with keyed.client as client:
        url = "/open311/v2/requests.json"
        assert client.post(url, data={**FORM, "api_key": "citizen-app"}).status_code == 200
        refused = client.post(url, data={**FORM, "api_key": "guess"})
        assert refused.status_code == 403 and refused.json()[0]["code"] == 403
        listed = client.get(url)
        assert listed.status_code == 401 and listed.json()[0]["code"] == 401
        assert client.get("/open311/v2/services.json").status_code == 200


def test_open311_without_configured_keys_files_citizen_categories_only(
    secured: Secured,
) -> None:
    """Issue 18: a citizen's app holding only the service's api_key may report what the
    front door offers citizens (rate-limited per address), never a staff category."""
    url = "/open311/v2/requests.json"
    filed = secured.client.post(url, data={**FORM, "api_key": "anything"})
    assert filed.status_code == 200, filed.text
    assert filed.json()[0]["service_request_id"].startswith("CQ-")
    staff_only = {**FORM, "service_code": "freight-delay", "api_key": "anything"}
    refused = secured.client.post(url, data=staff_only)
    assert refused.status_code == 403
    citizen = secured.headers("citizen")
    assert (
        secured.client.post(url, data={**FORM, "api_key": "app"}, headers=citizen).status_code
        == 200
    )
    assert secured.client.get(url, headers=citizen).status_code == 200
