"""What the public sees (both stores): moderation hides text and photos everywhere, Open311
carries references, media_url and updates, and no contact ever shows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cityos.store.base import Store
from tests.citizens.helpers import (
    API,
    EMAIL,
    NAME,
    OPERATOR,
    app_client,
    jpeg_with_gps,
    report,
)

SECRET = "only-the-operator-may-read-this"
BBOX = "106.4,29.4,106.7,29.7"


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(store, media_dir=tmp_path / "media") as test_client:
        yield test_client


def public_bodies(client: TestClient, reference: str, photo: str | None = None) -> list[str]:
    """Every public answer about the report: the front door's routes and Open311's."""
    paths = [
        f"{API}/reports/{reference}",
        f"{API}/reports?bbox={BBOX}",
        f"{API}/nearby?category=pothole&lat=29.557&long=106.577",
        f"/open311/v2/requests/{reference}.json",
        f"/open311/v2/requests/{reference}.xml",
        "/open311/v2/requests.json",
        "/open311/v2/servicerequestupdates.json",
        "/open311/v2/servicerequestupdates.xml",
    ]
    bodies = []
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        bodies.append(answer.text)
    return bodies


def test_moderation_hides_text_and_photo_from_every_public_surface(client: TestClient) -> None:
    filed = report(client, [jpeg_with_gps()], description=SECRET).json()
    reference, photo = filed["reference"], filed["photos"][0]
    assert any(SECRET in body for body in public_bodies(client, reference))
    staff = client.get(f"/governance/cases/{reference}", headers=OPERATOR).json()
    photo_id = staff["photos"][0]["id"]
    url = f"/governance/cases/{filed['id']}/moderate"
    hid = client.post(url, json={"hide": "text", "reason": "names a neighbour"}, headers=OPERATOR)
    assert hid.status_code == 200, hid.text
    hid = client.post(url, json={"hide": f"photo:{photo_id}", "reason": "a face"}, headers=OPERATOR)
    assert hid.status_code == 200, hid.text
    for body in public_bodies(client, reference):
        assert SECRET not in body and photo_id not in body and "a face" not in body
    assert client.get(photo).status_code == 404
    assert client.get(f"{API}/reports/{reference}").json()["photos"] == []
    trail = client.get(f"/governance/cases/{filed['id']}/trail", headers=OPERATOR).json()
    assert [t["note"] for t in trail if t["action"] == "moderate"] == [
        "hid text: names a neighbour",
        f"hid photo:{photo_id}: a face",
    ]
    staff = client.get(f"/governance/cases/{filed['id']}", headers=OPERATOR).json()
    assert staff["description"] == SECRET and staff["photos"][0]["hidden"] is True
    citizen = {"CityOS-Actor": "someone", "CityOS-Roles": "citizen"}
    refused = client.post(url, json={"show": "text", "reason": "x"}, headers=citizen)
    assert refused.status_code == 403


def test_a_rude_word_holds_the_text_for_review(client: TestClient) -> None:
    filed = report(client, description="Ta dziura to jakiś idiota zrobił").json()
    story = client.get(f"{API}/reports/{filed['reference']}").json()
    assert story["description"] is None
    staff = client.get(f"/governance/cases/{filed['id']}", headers=OPERATOR).json()
    assert staff["flagged"] == "rude word (pl)"
    url = f"/governance/cases/{filed['id']}/moderate"
    shown = client.post(url, json={"show": "text", "reason": "fine"}, headers=OPERATOR)
    assert shown.status_code == 200 and "flagged" not in shown.json()
    assert client.get(f"{API}/reports/{filed['reference']}").json()["description"]


def test_open311_carries_references_media_url_and_updates(client: TestClient) -> None:
    filed = report(client, [jpeg_with_gps()]).json()
    reference = filed["reference"]
    one = client.get(f"/open311/v2/requests/{reference}.json").json()[0]
    assert one["service_request_id"] == reference
    assert one["media_url"].startswith("http://testserver/media/")
    assert client.get(one["media_url"]).headers["content-type"] == "image/jpeg"
    client.post(f"/governance/cases/{filed['id']}/accept", headers=OPERATOR)
    client.post(f"/governance/cases/{filed['id']}/reject", json={"note": "x"}, headers=OPERATOR)
    updates = client.get("/open311/v2/servicerequestupdates.json").json()
    assert [(u["service_request_id"], u["external_status_code"]) for u in updates] == [
        (reference, "reported"),
        (reference, "accepted"),
    ]
    assert all(u["media_url"] == one["media_url"] for u in updates)
    assert updates[1]["status"] == "open" and updates[1]["description"] == ""
    later = client.get(
        "/open311/v2/servicerequestupdates.json",
        params={"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-01-02T00:00:00Z"},
    )
    assert later.json() == []


def test_a_keyless_open311_post_takes_a_media_photo(client: TestClient) -> None:
    form = {"api_key": "any", "service_code": "pothole", "lat": "29.557", "long": "106.577"}
    files = [("media", ("p.jpg", jpeg_with_gps(), "image/jpeg"))]
    posted = client.post("/open311/v2/requests.json", data=form, files=files)
    assert posted.status_code == 200, posted.text
    reference = posted.json()[0]["service_request_id"]
    stored = client.get(client.get(f"/open311/v2/requests/{reference}.json").json()[0]["media_url"])
    assert b"CityCam" not in stored.content
    svg = [("media", ("p.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"))]
    refused = client.post("/open311/v2/requests.json", data=form, files=svg)
    assert refused.status_code == 415 and refused.json()[0]["code"] == 415


def test_the_contact_never_appears_on_a_public_surface(client: TestClient) -> None:
    filed = report(client, [jpeg_with_gps()], email=EMAIL, name=NAME).json()
    client.post(
        f"{API}/reports/{filed['reference']}/support",
        data={"email": "li.na@example.cn", "name": "Li Na"},
    )
    client.post(f"/governance/cases/{filed['id']}/accept", headers=OPERATOR)
    bodies = public_bodies(client, filed["reference"])
    bodies.append(client.get(f"{API}/categories").text)
    for body in bodies:
        for secret in (EMAIL, NAME, "li.na@example.cn", "Li Na", "li.operator", filed["token"]):
            assert secret not in body


def test_references_are_unique_under_concurrent_reports(store: Store) -> None:
    citizens = store.citizens
    got: list[str] = []

    def allocate() -> None:
        for i in range(10):
            got.append(citizens.allocate_reference("", "CQ-2026", f"urn:ngsi-ld:Case:{i}"))

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == [f"CQ-2026-{n:06d}" for n in range(1, 41)]
    assert citizens.allocate_reference("other", "CQ-2026", "x") == "CQ-2026-000001"
