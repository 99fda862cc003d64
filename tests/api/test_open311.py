"""/open311/v2: Open311 GeoReport v2 through HTTP, in JSON and XML, on the Chongqing config."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from httpx import Response
from starlette.testclient import TestClient
from typer.testing import CliRunner

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.cli import app as cli
from cityos.governance import open311
from cityos.governance.entity import iso
from cityos.governance.model import Actor, Stage
from cityos.governance.service import CaseService
from cityos.store.base import Store

API = "/open311/v2"
YUZHONG = ("106.577", "29.557")
"""(long, lat) of Jiefangbei, in Yuzhong district."""
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
OPERATOR = Actor("li.operator", frozenset({"operator"}))
INSPECTOR = Actor("chen.inspector", frozenset({"inspector"}))
EMAIL, PHONE = "wang.fang@example.cn", "+86 138 0013 8000"
CONTACT = {
    "email": EMAIL,
    "phone": PHONE,
    "first_name": "Fang",
    "last_name": "Wang",
    "device_id": "phone-7731",
    "account_id": "acct-42",
}


class Clock:
    """The cases' clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open_client(store: Store, settings: Settings | None = None) -> TestClient:
    return TestClient(create_app(store, settings), raise_server_exceptions=False)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(store: Store, clock: Clock) -> Iterator[TestClient]:
    with open_client(store) as test_client:
        cases(test_client).clock = clock
        yield test_client


def cases(client: TestClient) -> CaseService:
    service: CaseService = client.app.state.services.cases  # type: ignore[attr-defined]
    return service


def post(client: TestClient, fmt: str = "json", **fields: Any) -> Response:
    form: dict[str, Any] = {
        "api_key": "any-key",
        "service_code": "pothole",
        "long": YUZHONG[0],
        "lat": YUZHONG[1],
    }
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    response: Response = client.post(f"{API}/requests.{fmt}", data=form)
    return response


def filed(client: TestClient, **fields: Any) -> str:
    response = post(client, **fields)
    assert response.status_code == 200, response.text
    request_id: str = response.json()[0]["service_request_id"]
    return request_id


def listed(client: TestClient, **params: str) -> list[str]:
    response = client.get(f"{API}/requests.json", params=params)
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json()]


def xml(response: Response, root: str) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml")
    element = ET.fromstring(response.content)
    assert element.tag == root
    return element


def error(response: Response, status: int, fmt: str = "json") -> str:
    """The description of an Open311 error, after checking its status and shape."""
    assert response.status_code == status, response.text
    if fmt == "xml":
        errors = xml(response, "errors")
        assert [e.tag for e in errors] == ["error"]
        assert errors.findtext("error/code") == str(status)
        return errors.findtext("error/description") or ""
    body = response.json()
    assert len(body) == 1 and body[0]["code"] == status
    description: str = body[0]["description"]
    return description


def act(client: TestClient, case_id: str, *actions: str, **options: Any) -> None:
    service = cases(client)
    for action in actions:
        department = service.get("", case_id).department
        crew = Actor("crew", frozenset({f"department:{department}"}))
        actor = {"start": crew, "resolve": crew, "verify": INSPECTOR}.get(action, OPERATOR)
        note = options.pop("note", None) or ("why" if action in ("reject", "reopen") else None)
        service.act("", case_id, action, actor, note, into=options.pop("into", None))


# -- discovery and services ---------------------------------------------------------------


def test_discovery(client: TestClient) -> None:
    body = client.get(f"{API}/discovery.json").json()
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert body["key_service"] == "Any non-empty api_key is accepted."
    root = xml(client.get(f"{API}/discovery.xml"), "discovery")
    assert root.findtext("endpoints/endpoint/type") == "production"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


def test_services_list_every_category_in_config_order(client: TestClient) -> None:
    config = cases(client).config
    body = client.get(f"{API}/services.json").json()
    assert [s["service_code"] for s in body] == list(config.categories)
    pothole = body[0]
    assert pothole == {
        "service_code": "pothole",
        "service_name": "Pothole",
        "description": config.categories["pothole"].description,
        "metadata": True,
        "type": "realtime",
        "keywords": "road,pavement,bridge,asphalt,路面,坑",
        "group": "Roads",
    }
    flood = next(s for s in body if s["service_code"] == "flood")
    assert flood["metadata"] is False
    root = xml(client.get(f"{API}/services.xml"), "services")
    assert len(root) == len(config.categories)
    first = root[0]
    assert first.tag == "service"
    assert first.findtext("service_code") == "pothole"
    assert first.findtext("metadata") == "true"
    assert first.findtext("type") == "realtime"
    assert root[[s["service_code"] for s in body].index("flood")].findtext("metadata") == "false"


def test_service_definition(client: TestClient) -> None:
    body = client.get(f"{API}/services/pothole.json").json()
    assert body["service_code"] == "pothole"
    size, traffic = body["attributes"]
    assert size == {
        "variable": True,
        "code": "size",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "",
        "order": 1,
        "description": "How big is it?",
        "values": [
            {"key": "small", "name": "Smaller than a plate"},
            {"key": "medium", "name": "About the size of a car wheel"},
            {"key": "large", "name": "Larger than a car wheel"},
        ],
    }
    assert traffic["order"] == 2
    depth = client.get(f"{API}/services/waterlogging.json").json()["attributes"][0]
    assert depth["required"] is True
    root = xml(client.get(f"{API}/services/pothole.xml"), "service_definition")
    assert root.findtext("service_code") == "pothole"
    attribute = root.find("attributes/attribute")
    assert attribute is not None
    assert attribute.findtext("code") == "size"
    assert attribute.findtext("variable") == "true"
    assert attribute.findtext("required") == "false"
    assert [v.findtext("key") for v in attribute.findall("values/value")] == [
        "small",
        "medium",
        "large",
    ]
    assert client.get(f"{API}/services/flood.json").json()["attributes"] == []


# -- posting -------------------------------------------------------------------------------


def test_post_files_a_case_answered_with_id_and_token(client: TestClient) -> None:
    response = post(client, description="A deep hole", media_url="https://img.example/1.jpg")
    assert response.status_code == 200
    (answer,) = response.json()
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    record = cases(client).get("", answer["service_request_id"])
    assert record.token == answer["token"]
    assert record.category == "pothole"
    assert record.source == "citizen"
    assert record.location == (106.577, 29.557)
    assert record.district == "Yuzhong"
    assert record.media == ["https://img.example/1.jpg"]
    assert answer["service_notice"] == record.routing
    assert answer["account_id"] == ""
    root = xml(post(client, "xml", account_id="acct-1"), "service_requests")
    assert root[0].tag == "request"
    assert root.findtext("request/service_request_id", "").startswith("CQ-20")
    assert root.findtext("request/account_id") == "acct-1"
    assert root.findtext("request/token")


def test_reporter_is_kept_private_and_the_key_hashed(client: TestClient) -> None:
    request_id = filed(client, api_key="secret-key", **CONTACT)
    record = cases(client).get("", request_id)
    digest = hashlib.sha256(b"secret-key").hexdigest()[:16]
    assert record.reporter == {**CONTACT, "api_key_sha256": digest}
    assert "secret-key" not in str(record)
    trail = cases(client).trail("", request_id)
    assert trail[0].actor == EMAIL
    assert trail[0].role == "citizen"


@pytest.mark.parametrize(
    ("contact", "actor"),
    [
        ({"device_id": "d-1", "account_id": "a-1"}, "d-1"),
        ({"account_id": "a-1"}, "a-1"),
        ({}, "open311"),
    ],
)
def test_the_actor_is_the_first_contact_given(
    client: TestClient, contact: dict[str, str], actor: str
) -> None:
    request_id = filed(client, **contact)
    assert cases(client).trail("", request_id)[0].actor == actor


def test_address_alone_is_a_location(client: TestClient) -> None:
    request_id = filed(client, long=None, lat=None, address_string="渝中区解放碑步行街")
    record = cases(client).get("", request_id)
    assert record.location is None
    assert record.district == "Yuzhong"
    body = client.get(f"{API}/requests/{request_id}.json").json()[0]
    assert body["address"] == "渝中区解放碑步行街"
    assert body["lat"] is None and body["long"] is None
    by_id = filed(client, long=None, lat=None, address_id="addr-88")
    assert cases(client).get("", by_id).address == "addr-88"


def test_attributes_are_validated_against_the_service(client: TestClient) -> None:
    request_id = filed(client, **{"attribute[size]": "large", "attribute[traffic]": "yes"})
    assert cases(client).get("", request_id).attributes == {"size": "large", "traffic": "yes"}
    dumped = client.post(
        f"{API}/requests.json",
        content="api_key=k&service_code=illegal-dumping&lat=29.557&long=106.577"
        "&attribute[waste][]=household&attribute%5Bwaste%5D%5B%5D=bulky",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert dumped.status_code == 200, dumped.text
    record = cases(client).get("", dumped.json()[0]["service_request_id"])
    assert record.attributes == {"waste": ["household", "bulky"]}
    noise = filed(client, service_code="noise", **{"attribute[since]": "2026-11-29T22:00:00+08:00"})
    assert cases(client).get("", noise).attributes["since"].startswith("2026-11-29T")

    missing = post(client, service_code="waterlogging")
    assert "depth" in error(missing, 400)
    bad = post(client, **{"attribute[size]": "huge"})
    assert "small, medium, large" in error(bad, 400)
    unknown = post(client, **{"attribute[colour]": "red"})
    assert "colour" in error(unknown, 400)
    not_a_date = post(client, service_code="noise", **{"attribute[since]": "yesterday"})
    assert "date" in error(not_a_date, 400)
    twice = client.post(
        f"{API}/requests.json",
        content="api_key=k&service_code=pothole&lat=29.5&long=106.5"
        "&attribute[size]=small&attribute[size]=large",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "attribute[size] is given twice" in error(twice, 400)
    mixed = client.post(
        f"{API}/requests.json",
        content="api_key=k&service_code=illegal-dumping&lat=29.5&long=106.5"
        "&attribute[waste]=household&attribute[waste][]=bulky",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "both as one value and as a list" in error(mixed, 400)
    required_list = post(client, service_code="building-safety")
    assert "signs" in error(required_list, 400, "json")


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"api_key": None}, 403, "api_key is needed"),
        ({"api_key": ""}, 403, "api_key is needed"),
        ({"service_code": None}, 400, "service_code is required"),
        ({"service_code": "unicorn"}, 400, "no service_code 'unicorn'"),
        ({"lat": None, "long": None}, 400, "needs a location"),
        ({"lat": None}, 400, "lat and long go together"),
        ({"lat": "north"}, 400, "lat must be a number"),
        ({"lat": "91"}, 400, "lat must be between -90 and 90"),
        ({"long": "nan"}, 400, "long must be between"),
        ({"description": "x" * 4001}, 400, "longer than 4000"),
        ({"media_url": "ftp://x/y.jpg"}, 400, "not an http(s) URL"),
        ({"colour": "red"}, 400, "no field 'colour'"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_errors(
    client: TestClient, fields: dict[str, Any], status: int, words: str, fmt: str
) -> None:
    assert words in error(post(client, fmt, **fields), status, fmt)
    assert listed(client) == []


def test_a_body_that_is_not_a_form(client: TestClient) -> None:
    as_json = client.post(f"{API}/requests.json", json={"service_code": "pothole"})
    assert "application/x-www-form-urlencoded" in error(as_json, 400)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    not_utf8 = client.post(f"{API}/requests.xml", content=b"description=\xff", headers=form)
    assert "not form-encoded" in error(not_utf8, 400, "xml")
    bad_escape = client.post(f"{API}/requests.json", content=b"description=%FF", headers=form)
    assert "not form-encoded" in error(bad_escape, 400)
    empty = client.post(f"{API}/requests.json", content=b"", headers=form)
    assert "body" in error(empty, 400)
    twice = client.post(
        f"{API}/requests.json", content=b"api_key=a&service_code=x&api_key=b", headers=form
    )
    assert "api_key is given twice" in error(twice, 400)


# -- keys ----------------------------------------------------------------------------------


def test_keys_file(tmp_path: Path, store: Store) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# issued 2026-11\nk-one\n\n  k-two  # the app\n", encoding="utf-8")
    keys = open311.load_keys(keys_file)
    assert keys == {"k-one", "k-two"}
    with open_client(store, Settings(open311_keys=keys)) as client:
        assert post(client, api_key="k-two").status_code == 200
        assert "not valid" in error(post(client, api_key="k-three"), 403)
        assert "not valid" in error(post(client, "xml", api_key="K-ONE"), 403, "xml")
        assert "is needed" in error(post(client, api_key=None), 403)
        key_service = client.get(f"{API}/discovery.json").json()["key_service"]
        assert "Ask the city" in key_service
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no api_key"):
        open311.load_keys(empty)
    refused = CliRunner().invoke(
        cli,
        ["serve", "--data", str(tmp_path / "d"), "--open311-keys", str(empty)],
        env={"COLUMNS": "300"},  # the message in one line, however long tmp_path is
    )
    assert refused.exit_code == 2
    assert "holds no api_key" in refused.output


# -- reading requests ----------------------------------------------------------------------


def test_get_request_and_token_in_both_formats(client: TestClient, clock: Clock) -> None:
    post_answer = post(client, description="Deep", media_url="https://img.example/a.jpg").json()
    request_id, token = post_answer[0]["service_request_id"], post_answer[0]["token"]
    record = cases(client).get("", request_id)
    (body,) = client.get(f"{API}/requests/{request_id}.json").json()
    assert body == {
        "service_request_id": request_id,
        "status": "open",
        "status_notes": "",
        "service_name": "Pothole",
        "service_code": "pothole",
        "description": "Deep",
        "agency_responsible": cases(client).config.departments[record.department].name,
        "service_notice": record.routing,
        "requested_datetime": "2026-11-30T01:00:00.000Z",
        "updated_datetime": "2026-11-30T01:00:00.000Z",
        "expected_datetime": iso(record.due[Stage.ACCEPT]),
        "address": "",
        "address_id": "",
        "zipcode": "",
        "lat": 29.557,
        "long": 106.577,
        "media_url": "https://img.example/a.jpg",
    }
    root = xml(client.get(f"{API}/requests/{request_id}.xml"), "service_requests")
    (request,) = root
    assert request.tag == "request"
    assert {child.tag: child.text or "" for child in request} == {
        k: str(v) for k, v in body.items()
    }
    assert client.get(f"{API}/tokens/{token}.json").json() == [
        {"service_request_id": request_id, "token": token}
    ]
    tokens = xml(client.get(f"{API}/tokens/{token}.xml"), "service_requests")
    assert tokens.findtext("request/service_request_id") == request_id
    assert tokens.findtext("request/token") == token
    missing = client.get(f"{API}/requests/urn:ngsi-ld:Case:nope.xml")
    assert "urn:ngsi-ld:Case:nope" in error(missing, 404, "xml")
    assert "token" in error(client.get(f"{API}/tokens/0000.json"), 404)


def test_status_follows_the_lifecycle(client: TestClient, clock: Clock) -> None:
    request_id = filed(client)

    def shown() -> dict[str, Any]:
        body: dict[str, Any] = client.get(f"{API}/requests/{request_id}.json").json()[0]
        return body

    for action in ("accept", "dispatch", "start", "resolve", "verify"):
        clock.advance(hours=1)
        act(client, request_id, action)
        assert shown()["status"] == "open", action
    record = cases(client).get("", request_id)
    assert shown()["expected_datetime"] == iso(record.due[Stage.RESOLVE])
    assert shown()["updated_datetime"] == "2026-11-30T06:00:00.000Z"
    act(client, request_id, "close", note="Filled and rolled")
    assert shown()["status"] == "closed"
    assert shown()["status_notes"] == "Filled and rolled"
    act(client, request_id, "reopen", note="It is back")
    assert shown()["status"] == "open"
    assert shown()["status_notes"] == "It is back"

    rejected = filed(client)
    act(client, rejected, "reject", note="Not a public road")
    (body,) = client.get(f"{API}/requests/{rejected}.json").json()
    assert (body["status"], body["status_notes"]) == ("closed", "Not a public road")


def test_a_merged_request_follows_its_original(client: TestClient, clock: Clock) -> None:
    original = filed(client)
    clock.advance(minutes=5)
    duplicate = filed(client)
    act(client, duplicate, "merge", into=original)
    (body,) = client.get(f"{API}/requests/{duplicate}.json").json()
    assert body["status"] == "open"
    assert body["status_notes"] == f"merged into {original}"
    assert duplicate in listed(client, status="open")
    assert duplicate not in listed(client, status="closed")
    act(client, original, "accept", "dispatch", "start", "resolve", "verify", "close")
    root = xml(client.get(f"{API}/requests/{duplicate}.xml"), "service_requests")
    assert root.findtext("request/status") == "closed"
    assert root.findtext("request/status_notes") == f"merged into {original}"
    assert listed(client, status="closed") == [duplicate, original]
    assert listed(client, status="open") == []


def test_list_filters(client: TestClient, clock: Clock) -> None:
    first = filed(client)
    clock.advance(hours=1)
    dumping = filed(client, service_code="illegal-dumping")
    clock.advance(hours=1)
    noise = filed(client, service_code="noise")
    clock.advance(hours=1)
    act(client, noise, "reject", note="Not heard")

    assert listed(client) == [noise, dumping, first]  # newest first
    assert listed(client, service_code="pothole") == [first]
    assert listed(client, service_code="pothole,noise") == [noise, first]
    repeated = client.get(f"{API}/requests.json?service_code=pothole&service_code=noise")
    assert [r["service_request_id"] for r in repeated.json()] == [noise, first]
    assert listed(client, status="open") == [dumping, first]
    assert listed(client, status="closed") == [noise]
    assert listed(client, status="open,closed") == [noise, dumping, first]
    assert listed(client, service_code="noise", status="open") == []
    assert listed(client, service_code="illegal-dumping,noise", status="open") == [dumping]
    # service_request_id overrides every other filter
    both = f"{first},{noise},urn:ngsi-ld:Case:unknown"
    assert listed(client, service_request_id=both, status="open") == [noise, first]
    assert listed(client, service_request_id=first, service_code="noise") == [first]

    assert listed(client, start_date="2026-11-30T02:00:00Z") == [noise, dumping]
    assert listed(client, end_date="2026-11-30T02:00:00Z") == [dumping, first]
    assert listed(client, end_date="2026-11-30T01:59:59Z") == [first]
    between = {"start_date": "2026-11-30T09:30:00+08:00", "end_date": "2026-11-30T10:30+08:00"}
    assert listed(client, **between) == [dumping]
    assert listed(client, **between, service_code="pothole") == []
    assert listed(client, start_date="2026-11-30", status="closed") == [noise]
    assert listed(client, start_date="2026-12-01") == []
    assert listed(client, end_date="2026-11-29") == []
    # an unencoded '+' of the offset arrives as a space
    spaced = client.get(f"{API}/requests.json?start_date=2026-11-30T10:00:00+08:00")
    assert [r["service_request_id"] for r in spaced.json()] == [noise, dumping]

    root = xml(client.get(f"{API}/requests.xml", params={"status": "open"}), "service_requests")
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [
        dumping,
        first,
    ]


def test_the_default_window_is_the_last_90_days(client: TestClient, clock: Clock) -> None:
    old = filed(client)
    clock.advance(days=91)
    recent = filed(client)
    assert listed(client) == [recent]
    assert listed(client, start_date="2026-11-29T00:00:00Z") == [old]
    assert listed(client, end_date="2026-12-01T00:00:00Z") == [old]
    assert listed(client, service_request_id=old) == [old]


def test_at_most_1000_requests(
    client: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(open311, "MAX_REQUESTS", 3)
    filed_ids = []
    for _ in range(5):
        clock.advance(minutes=1)
        filed_ids.append(filed(client))
    for case_id in filed_ids[3:]:
        act(client, case_id, "reject")
    assert listed(client) == filed_ids[::-1][:3]
    # pages past the first are read when the status leaves too few on one
    assert listed(client, status="open") == filed_ids[2::-1]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"status": "pending"}, "status must be open or closed"),
        ({"start_date": "yesterday"}, "start_date 'yesterday' is not a W3C datetime"),
        ({"end_date": "2026-13-01"}, "end_date"),
        ({"start_date": "2026-11-30T10:00:00"}, "needs a time zone"),
        (
            {"start_date": "2026-11-30T00:00:00Z", "end_date": "2026-11-29T00:00:00Z"},
            "end_date is before start_date",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-29T00:00:00Z"},
            "at most 90 days",
        ),
        ({"service_code": "pothole,unicorn"}, "no service_code unicorn"),
        ({"page": "2"}, "Unknown query parameter(s): page"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_list_errors(client: TestClient, params: dict[str, str], words: str, fmt: str) -> None:
    assert words in error(client.get(f"{API}/requests.{fmt}", params=params), 400, fmt)


def test_jurisdiction_and_api_key_are_accepted_on_reads(client: TestClient) -> None:
    request_id = filed(client, jurisdiction_id="chongqing")
    params = {"jurisdiction_id": "chongqing", "api_key": "k"}
    assert listed(client, **params) == [request_id]
    assert client.get(f"{API}/services.json", params=params).status_code == 200


def test_requests_belong_to_the_tenant(client: TestClient) -> None:
    tenant = {"NGSILD-Tenant": "wanzhou"}
    form = {"api_key": "k", "service_code": "flood", "lat": "30.8", "long": "108.4"}
    refused = client.post(f"{API}/requests.json", data=form, headers=tenant)
    assert "does not exist" in error(refused, 404)  # a tenant exists once it holds data
    building = {"id": "urn:ngsi-ld:Building:b", "type": "Building"}
    assert client.post("/ngsi-ld/v1/entities", json=building, headers=tenant).status_code == 201
    response = client.post(f"{API}/requests.json", data=form, headers=tenant)
    request_id = response.json()[0]["service_request_id"]
    assert listed(client) == []
    assert client.get(f"{API}/requests/{request_id}.json").status_code == 404
    mine = client.get(f"{API}/requests/{request_id}.json", headers=tenant)
    assert mine.json()[0]["service_code"] == "flood"
    bad = client.get(f"{API}/requests.json", headers={"NGSILD-Tenant": "no such!"})
    assert "Tenant" in error(bad, 400)


def test_formats_paths_and_methods(client: TestClient) -> None:
    assert ".yaml" in error(client.get(f"{API}/services.yaml"), 404)
    assert ".html" in error(client.get(f"{API}/requests/x.html"), 404)
    assert "no Open311 resource" in error(client.get(f"{API}/services"), 404)
    assert "no Open311 resource" in error(client.get(f"{API}/cases.xml"), 404, "xml")
    refused = client.delete(f"{API}/requests.json")
    assert "DELETE" in error(refused, 405)
    assert refused.headers["allow"] == "GET, HEAD, POST"
    assert error(client.put(f"{API}/services/pothole.xml"), 405, "xml")
    assert "Unknown query parameter(s): locale" in error(
        client.get(f"{API}/services.json?locale=zh"), 400
    )


def test_no_contact_detail_ever_appears(client: TestClient) -> None:
    answer = post(client, **CONTACT).json()[0]
    request_id, token = answer["service_request_id"], answer["token"]
    original = filed(client)
    act(client, request_id, "merge", into=original)
    paths = [
        "/discovery",
        "/services",
        "/services/pothole",
        "/requests",
        f"/requests/{request_id}",
        f"/tokens/{token}",
    ]
    bodies = [post(client, fmt, **CONTACT).text for fmt in ("json", "xml")]
    bodies += [client.get(f"{API}{path}.{fmt}").text for path in paths for fmt in ("json", "xml")]
    bodies.append(client.get(f"{API}/requests.xml", params={"service_request_id": request_id}).text)
    for body in bodies:
        for secret in (EMAIL, PHONE, "Fang", "Wang", "phone-7731", "any-key"):
            assert secret not in body


def test_post_never_takes_a_caller_chosen_id(client: TestClient) -> None:
    """Issue 16, item 3: Open311 files under an id of its own, whatever the form says."""
    street = {"id": "urn:ngsi-ld:Street:main", "type": "Street"}
    assert client.post("/ngsi-ld/v1/entities", json=street).status_code == 201
    for field in ("service_request_id", "id"):
        response = post(client, **{field: street["id"]})
        if response.status_code == 200:
            assert response.json()[0]["service_request_id"] != street["id"]
        else:
            assert response.status_code == 400
    assert client.get(f"/ngsi-ld/v1/entities/{street['id']}").json()["type"] == "Street"
