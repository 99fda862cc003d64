"""What a citizen without a key cannot do: upload anything but a photo, send too much or too
often, fill the honeypot, add photos without the report's token (both stores)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from cityos.api.ratelimit import RateLimit
from cityos.store.base import Store
from tests.citizens.helpers import API, app_client, jpeg_with_gps, png, report

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def polyglot() -> bytes:
    """A real JPEG with an HTML page appended (decodes as an image, sniffs as HTML)."""
    return jpeg_with_gps() + b"<html><script>alert(document.domain)</script></html>"


def gifar() -> bytes:
    """A PNG with a ZIP archive appended, the GIFAR kind of polyglot."""
    return png() + b"PK\x03\x04" + b"\x00" * 26 + b"evil.class" + b"\x00" * 64


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(store, media_dir=tmp_path / "media") as test_client:
        yield test_client


def cases_filed(client: TestClient) -> int:
    listed = client.get("/governance/cases", headers={"CityOS-Roles": "operator"})
    return len(listed.json())


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("svg", SVG, 415),
        ("html", HTML, 415),
        ("jpeg+html", polyglot(), 415),
        ("png+zip", gifar(), 415),
        ("gif", b"GIF89a" + b"\x00" * 64, 415),
        ("20MB", b"\xff\xd8\xff\xe0" + b"\x00" * (20 * 1024 * 1024), 413),
    ],
)
def test_only_real_photos_are_taken(
    client: TestClient, name: str, data: bytes, status: int
) -> None:
    refused = report(client, [data], headers={"Accept-Language": "pl"})
    assert refused.status_code == status, refused.text
    assert refused.json()["error"] in ("unsupported_media", "too_large")
    assert "JPEG" in refused.json()["message"] or "MB" in refused.json()["message"]
    assert cases_filed(client) == 0


def test_a_stored_png_and_webp_are_reencoded(client: TestClient) -> None:
    out = io.BytesIO()
    Image.new("RGB", (3000, 1000), (1, 2, 3)).save(out, "WEBP")
    sent = report(client, [png(), out.getvalue()])
    assert sent.status_code == 201, sent.text
    png_url, webp_url = sent.json()["photos"]
    assert png_url.endswith(".png") and webp_url.endswith(".webp")
    webp = client.get(webp_url)
    assert webp.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(webp.content)).size == (2048, 683)


def test_the_honeypot_refuses_quietly(client: TestClient) -> None:
    trapped = report(client, website="http://spam.example")
    assert trapped.status_code == 400
    assert trapped.json() == {
        "error": "bad_request",
        "message": "The report could not be accepted.",
    }
    assert cases_filed(client) == 0


def test_more_photos_later_need_the_reports_token(client: TestClient) -> None:
    filed = report(client).json()
    url = f"{API}/reports/{filed['reference']}/photos"
    files = [("photo", ("a.jpg", jpeg_with_gps(), "image/jpeg"))]
    wrong = client.post(url, files=files, headers={"X-Citizen-Token": "guess"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "bad_token"
    added = client.post(url, files=files, headers={"X-Citizen-Token": filed["token"]})
    assert added.status_code == 201, added.text
    assert len(added.json()["photos"]) == 1


def test_citizen_posts_are_rate_limited_per_address(store: Store, tmp_path: Path) -> None:
    limit = RateLimit(per_second=1 / 60, burst=2)
    with app_client(store, media_dir=tmp_path / "m", citizen_rate=limit) as client:
        assert report(client).status_code == 201
        assert report(client).status_code == 201
        refused = report(client, headers={"Accept-Language": "zh"})
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"] == "too_many_requests"
        assert "秒" in refused.json()["message"]
        open311 = client.post(
            "/open311/v2/requests.json",
            data={"api_key": "k", "service_code": "pothole", "lat": "29.5", "long": "106.5"},
        )
        assert open311.status_code in (200, 429)  # auth off: Open311 is not a keyless door
        assert client.get(f"{API}/categories").status_code == 200  # reading is not limited
