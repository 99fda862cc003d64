"""/governance through HTTP: reports, the case desk's actions, trail, statistics; and the
case entity under the NGSI-LD APIs (query, history)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.testclient import TestClient

from cityos.governance.service import CaseService
from tests.events.receiver import Receiver

CASES = "/governance/cases"
OPERATOR = {"CityOS-Actor": "li.operator", "CityOS-Roles": "operator"}
INSPECTOR = {"CityOS-Actor": "chen", "CityOS-Roles": "inspector"}
YUZHONG = {"type": "Point", "coordinates": [106.577, 29.557]}


def report(client: TestClient, **extra: Any) -> dict[str, Any]:
    body = {
        "category": "pothole",
        "description": "Deep hole by the bus stop",
        "location": YUZHONG,
        "reporter": {"email": "wang@example.cn"},
        **extra,
    }
    response = client.post(CASES, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{CASES}/{response.json()['id']}"
    created: dict[str, Any] = response.json()
    return created


def crew(department: str) -> dict[str, str]:
    return {"CityOS-Actor": "crew", "CityOS-Roles": f"department:{department}"}


def act(client: TestClient, case_id: str, action: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"{CASES}/{case_id}/{action}", json=body, headers=headers)


def test_report_then_walk_the_lifecycle(client: TestClient) -> None:
    case = report(client)
    assert case["state"] == "reported" and case["district"] == "Yuzhong"
    assert "reporter" not in case  # the anonymous reporter does not get contacts back
    assert case["actions"] == []
    seen = client.get(f"{CASES}/{case['id']}", headers=OPERATOR).json()
    assert seen["reporter"] == {"email": "wang@example.cn"}
    assert seen["actions"] == ["accept", "reject", "merge"]
    department = case["department"]
    other = "water" if department != "water" else "roads"
    assert "reporter" not in client.get(f"{CASES}/{case['id']}", headers=crew(other)).json()
    for action, headers in [
        ("accept", OPERATOR),
        ("dispatch", OPERATOR),
        ("start", crew(department)),
        ("resolve", crew(department)),
        ("verify", INSPECTOR),
        ("close", OPERATOR),
    ]:
        response = act(client, case["id"], action, headers)
        assert response.status_code == 200, response.text
    assert response.json()["state"] == "closed"
    trail = client.get(f"{CASES}/{case['id']}/trail").json()
    assert [t["to"] for t in trail] == [
        "reported",
        "accepted",
        "dispatched",
        "in_progress",
        "resolved",
        "verified",
        "closed",
    ]
    assert trail[1]["actor"] == "li.operator" and trail[1]["role"] == "operator"


def test_conflicts_and_refusals_say_why(client: TestClient) -> None:
    case = report(client)
    illegal = act(client, case["id"], "close", OPERATOR)
    assert illegal.status_code == 409
    assert illegal.json()["allowed"] == ["accept", "reject", "merge"]
    denied = act(client, case["id"], "accept", INSPECTOR)
    assert denied.status_code == 403 and "chen" in denied.json()["detail"]
    unknown = act(client, "urn:ngsi-ld:Case:none", "accept", OPERATOR)
    assert unknown.status_code == 404
    assert act(client, case["id"], "accept", OPERATOR, colour="red").status_code == 400
    for bad in (
        {"category": "dragons", "location": YUZHONG},
        {"description": "no category"},
        {"category": "pothole", "location": {"type": "Point", "coordinates": [1]}},
        {"category": "pothole", "priority": "whenever"},
        {"category": "pothole", "source": "oracle"},
        {"category": "pothole", "shoeSize": 44},
        ["not", "an", "object"],
    ):
        response = client.post(CASES, json=bad)
        assert response.status_code == 400, bad
        assert response.json()["detail"]


def test_listing_filters_and_counts(client: TestClient) -> None:
    first = report(client)
    report(client, category="illegal-dumping")
    act(client, first["id"], "accept", OPERATOR)
    listed = client.get(CASES, params={"state": "accepted"})
    assert [c["id"] for c in listed.json()] == [first["id"]]
    assert listed.headers["cityos-count"] == "1"
    both = client.get(CASES, params={"district": "Yuzhong", "limit": "1"})
    assert len(both.json()) == 1 and both.headers["cityos-count"] == "2"
    assert client.get(CASES, params={"category": "illegal-dumping"}).headers["cityos-count"] == "1"
    assert client.get(CASES, params={"overdue": "true"}).json() == []
    for bad in ({"state": "sleeping"}, {"since": "yesterday"}, {"limit": "-1"}, {"overdue": "1"}):
        assert client.get(CASES, params=bad).status_code == 400, bad


def test_statistics_and_catalogue(client: TestClient) -> None:
    report(client)
    report(client, category="illegal-dumping")
    rows = client.get("/governance/statistics", params={"groupBy": "category"}).json()
    assert sorted((r["category"], r["received"], r["backlog"]) for r in rows) == [
        ("illegal-dumping", 1, 1),
        ("pothole", 1, 1),
    ]
    assert client.get("/governance/statistics", params={"groupBy": "mood"}).status_code == 400
    catalogue = client.get("/governance/catalogue").json()
    assert "pothole" in [c["code"] for c in catalogue["categories"]]
    assert catalogue["states"][0] == "reported"


def test_cases_are_entities_for_queries_and_history(client: TestClient) -> None:
    case = report(client)
    act(client, case["id"], "accept", OPERATOR)
    q = quote('state=="accepted";district=="Yuzhong"')
    found = client.get(f"/ngsi-ld/v1/entities?type=Case&q={q}").json()
    assert [e["id"] for e in found] == [case["id"]]
    assert "wang@example.cn" not in str(found)
    history = client.get(
        f"/ngsi-ld/v1/temporal/entities/{case['id']}", params={"attrs": "state"}
    ).json()
    assert [i["value"] for i in history["state"]] == ["reported", "accepted"]


def test_an_overdue_case_is_notified_to_its_subscribers(
    client: TestClient, receiver: Receiver
) -> None:
    subscription = {
        "id": "urn:ngsi-ld:Subscription:overdue-cases",
        "type": "Subscription",
        "entities": [{"type": "Case"}],
        "q": 'overdue=="accept"',
        "notification": {
            "attributes": ["overdue", "escalatedTo"],
            "endpoint": {"uri": receiver.url},
        },
    }
    assert client.post("/ngsi-ld/v1/subscriptions", json=subscription).status_code == 201
    case = report(client)
    service: CaseService = client.app.state.services.cases  # type: ignore[attr-defined]
    due = datetime.fromisoformat(case["due"]["accept"])
    service.clock = lambda: due + timedelta(seconds=1)
    assert service.escalate_overdue() == 1
    [notification] = receiver.wait_for(1)
    [entity] = notification.body["data"]
    assert entity["id"] == case["id"]
    assert entity["overdue"]["value"] == "accept"
    assert entity["escalatedTo"]["value"] == "supervisor"


def test_the_generic_entity_api_cannot_change_a_case(client: TestClient) -> None:
    case = report(client)
    url = f"/ngsi-ld/v1/entities/{case['id']}"
    patched = client.patch(f"{url}/attrs", json={"state": {"type": "Property", "value": "closed"}})
    assert patched.status_code == 422 and "/governance/cases" in patched.json()["detail"]
    assert client.delete(url).status_code == 422
    forged = {
        "id": "urn:ngsi-ld:Case:forged",
        "type": "Case",
        "state": {"type": "Property", "value": "closed"},
    }
    assert client.post("/ngsi-ld/v1/entities", json=forged).status_code == 422
    assert client.get(url).json()["state"]["value"] == "reported"
    assert client.get(f"{CASES}/urn:ngsi-ld:Case:forged").status_code == 404


def test_a_report_never_takes_an_existing_entity_id(client: TestClient) -> None:
    """Issue 16, item 3: `id` of an existing entity was a take-over (the entity became a
    Case the entity API then refused to touch)."""
    street = {"id": "urn:ngsi-ld:Street:main", "type": "Street", "name": "Main street"}
    assert client.post("/ngsi-ld/v1/entities", json=street).status_code == 201
    for headers in ({}, OPERATOR, INSPECTOR):
        taken = client.post(
            CASES,
            json={"category": "pothole", "location": YUZHONG, "id": street["id"]},
            headers=headers,
        )
        assert taken.status_code == 409, taken.text
        assert taken.json()["type"].endswith("/AlreadyExists")
    kept = client.get(f"/ngsi-ld/v1/entities/{street['id']}").json()
    assert kept["type"] == "Street" and kept["name"]["value"] == "Main street"
    assert client.get(f"{CASES}/{street['id']}").status_code == 404


def test_a_report_never_takes_an_existing_case_id(client: TestClient) -> None:
    """Filing again under a case's id is refused: reopening is a lifecycle action."""
    case = report(client)
    for headers in ({}, OPERATOR, INSPECTOR):
        again = client.post(
            CASES,
            json={"category": "noise", "location": YUZHONG, "id": case["id"]},
            headers=headers,
        )
        assert again.status_code == 409, again.text
    kept = client.get(f"{CASES}/{case['id']}", headers=OPERATOR).json()
    assert kept["category"] == "pothole" and kept["reporter"] == {"email": "wang@example.cn"}
    assert len(client.get(f"{CASES}/{case['id']}/trail").json()) == 1
    for action in ("accept", "dispatch"):
        assert act(client, case["id"], action, OPERATOR).status_code == 200
    department = kept["department"]
    for action in ("start", "resolve"):
        assert act(client, case["id"], action, crew(department)).status_code == 200
    assert act(client, case["id"], "verify", INSPECTOR).status_code == 200
    assert act(client, case["id"], "close", OPERATOR).status_code == 200
    reopened = act(client, case["id"], "reopen", OPERATOR, note="it is back")
    assert reopened.status_code == 200 and reopened.json()["state"] == "dispatched"


def test_a_new_id_is_still_taken(client: TestClient) -> None:
    case = report(client, id="urn:ngsi-ld:Case:desk-42")
    assert case["id"] == "urn:ngsi-ld:Case:desk-42"


def test_a_case_is_found_by_every_attribute_a_query_names(client: TestClient) -> None:
    """Issue 16, item 10: the case's attributes are stored under the IRIs the core
    @context expands their names to, so `q` on any of them finds it (description was
    stored under default-context/, where the core context says dc:description)."""
    case = report(client, address="12 Minzu Rd")
    for q in (
        'description~="(?i)deep hole"',
        'description=="Deep hole by the bus stop"',
        'address=="12 Minzu Rd"',
        'category=="pothole"',
    ):
        found = client.get("/ngsi-ld/v1/entities", params={"type": "Case", "q": q}).json()
        assert [e["id"] for e in found] == [case["id"]], q
