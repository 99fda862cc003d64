"""The citizens' front door through HTTP, on both stores: report, photo, "me too", story."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
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


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(store, media_dir=tmp_path / "media") as test_client:
        yield test_client


def test_categories_are_the_citizens_only_in_their_language(client: TestClient) -> None:
    found = client.get(f"{API}/categories", params={"lang": "pl"}).json()
    codes = {c["code"] for c in found}
    assert "pothole" in codes and "freight-delay" not in codes and "machine-fault" not in codes
    pothole = next(c for c in found if c["code"] == "pothole")
    assert pothole["name"] == "Dziura w jezdni"
    assert pothole["attributes"][0]["values"][0] == {"key": "small", "name": "Smaller than a plate"}
    zh = client.get(f"{API}/categories", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()
    assert next(c for c in zh if c["code"] == "pothole")["name"] == "道路坑洼"


def test_a_report_with_a_photo_gets_a_reference_a_promise_and_a_clean_photo(
    client: TestClient,
) -> None:
    sent = report(client, [jpeg_with_gps()], email=EMAIL, name=NAME)
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert re.fullmatch(r"CQ-20\d\d-\d{6}", body["reference"])
    assert body["promise"].startswith("We will answer by ")
    assert body["state"] == "reported" and body["token"]
    stored = client.get(body["photos"][0])
    assert stored.status_code == 200
    assert stored.headers["content-type"] == "image/jpeg"
    assert stored.headers["x-content-type-options"] == "nosniff"
    assert stored.headers["content-disposition"].startswith("inline; filename=")
    assert "default-src 'none'" in stored.headers["content-security-policy"]
    image = Image.open(io.BytesIO(stored.content))
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert b"CityCam" not in stored.content and b"GPS" not in stored.content
    second = report(client)
    assert second.status_code == 201, second.text
    number = int(body["reference"][-6:])
    assert second.json()["reference"].endswith(f"{number + 1:06d}")


def test_the_public_story_tells_the_change_and_never_the_contact(client: TestClient) -> None:
    filed = report(client, [jpeg_with_gps()], email=EMAIL, name=NAME).json()
    case_id, reference = filed["id"], filed["reference"]
    accepted = client.post(
        f"/governance/cases/{case_id}/accept", json={"note": "internal: call Li"}, headers=OPERATOR
    )
    assert accepted.status_code == 200, accepted.text
    story = client.get(f"{API}/reports/{reference}")
    assert story.status_code == 200, story.text
    body = story.json()
    assert body["state"] == "accepted" and body["department"]
    assert [s["state"] for s in body["timeline"]] == ["reported", "accepted"]
    assert body["timeline"][1]["note"] is None  # not a public note
    assert len(body["photos"]) == 1
    for text in (EMAIL, NAME, "li.operator", "internal"):
        assert text not in story.text


def test_me_too_makes_a_follower_and_no_new_case(client: TestClient) -> None:
    filed = report(client).json()
    near = client.get(
        f"{API}/nearby", params={"category": "pothole", "lat": "29.5571", "long": "106.5771"}
    ).json()
    assert [n["reference"] for n in near] == [filed["reference"]]
    before = len(client.get("/governance/cases", headers=OPERATOR).json())
    backed = client.post(
        f"{API}/reports/{filed['reference']}/support", data={"email": "li.na@example.cn"}
    )
    assert backed.status_code == 200, backed.text
    assert backed.json() == {"reference": filed["reference"], "supporters": 1}
    assert len(client.get("/governance/cases", headers=OPERATOR).json()) == before
    staff = client.get(f"/governance/cases/{filed['id']}", headers=OPERATOR).json()
    assert staff["supporters"] == 1
    assert [f["email"] for f in staff["followers"]] == ["li.na@example.cn"]


def test_refusals_are_in_the_citizens_language(client: TestClient) -> None:
    wrong = report(client, headers={"Accept-Language": "pl"}, category="freight-delay")
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error": "bad_request",
        "message": "Wybierz jedną z wymienionych kategorii.",
    }
    missing = client.get(f"{API}/reports/CQ-2026-999999", params={"lang": "zh"})
    assert missing.status_code == 404 and "CQ-2026-999999" in missing.json()["message"]
    assert "没有" in missing.json()["message"]
