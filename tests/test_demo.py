"""The demo city: sample Chongqing entities load through the broker and answer queries; the
demo requires keys, makes its admin key once and prints the link that signs in with it."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import httpx
from starlette.testclient import TestClient
from typer.testing import CliRunner

from cityos.api.app import create_app
from cityos.auth.demo import KEY_FILE as DEMO_KEY_FILE
from cityos.auth.demo import demo_key
from cityos.auth.keys import ApiKeys
from cityos.cli import app, load_sample
from cityos.store.base import Store
from cityos.store.sqlite import SQLiteStore
from tests.web.browser import bearer, demo_city
from tests.web.browser import demo_key as demo_key_of


def test_sample_districts_load_and_answer_geo_queries(store: Store, client: TestClient) -> None:
    assert load_sample(store) == 39
    districts = client.get(
        "/ngsi-ld/v1/entities", params={"type": "District", "count": "true", "limit": "0"}
    )
    assert districts.headers["NGSILD-Results-Count"] == "38"
    # Which district holds Jiefangbei? The one whose boundary contains the point.
    found = client.get(
        "/ngsi-ld/v1/entities",
        params={
            "type": "District",
            "georel": "contains",
            "geometry": "Point",
            "coordinates": "[106.577,29.5587]",
            "geoproperty": "boundary",
            "lang": "en",
            "options": "keyValues",
            "attrs": "name",
        },
    ).json()
    assert found == [{"id": "urn:ngsi-ld:District:500103", "type": "District", "name": "Yuzhong"}]
    # Loading twice replaces, never duplicates.
    assert load_sample(store) == 39
    again = client.get(
        "/ngsi-ld/v1/entities", params={"type": "District", "count": "true", "limit": "0"}
    )
    assert again.headers["NGSILD-Results-Count"] == "38"


def test_context_add_keeps_a_local_copy(tmp_path: Path) -> None:
    document = tmp_path / "ctx.jsonld"
    document.write_text('{"@context": {"Tram": "https://example.org/Tram"}}')
    url = "https://example.org/ctx.jsonld"
    data = tmp_path / "city"
    result = CliRunner().invoke(app, ["context-add", url, str(document), "--data", str(data)])
    assert result.exit_code == 0, result.output
    store = SQLiteStore(data)
    with TestClient(create_app(store)) as client:
        body = {"id": "urn:ngsi-ld:Tram:1", "type": "Tram"}
        link = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
        assert (
            client.post("/ngsi-ld/v1/entities", json=body, headers={"Link": link}).status_code
            == 201
        )
        full = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Tram:1").json()
        assert full["type"] == "https://example.org/Tram"
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    refused = CliRunner().invoke(app, ["context-add", url, str(bad), "--data", str(data)])
    assert refused.exit_code != 0


def test_the_demo_key_is_made_once_kept_private_and_replaced_when_it_stops_working(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path)
    keys = ApiKeys(store.keys)
    key, made = demo_key(store.keys, tmp_path)
    assert made
    kept = tmp_path / DEMO_KEY_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    principal = keys.authenticate(key)
    assert principal is not None and principal.role_names == {"admin"}
    assert demo_key(store.keys, tmp_path) == (key, False)  # the next start reuses it

    first_id = key.split("_")[1]
    keys.revoke(first_id)
    second, made = demo_key(store.keys, tmp_path)  # revoked: a new one
    assert made and second != key and kept.read_text().strip() == second

    kept.unlink()  # lost: a new one, and the one nobody can print any more is revoked
    third, made = demo_key(store.keys, tmp_path)
    assert made and third != second
    assert keys.authenticate(second) is None and keys.authenticate(third) is not None
    working = [k for k in keys.list() if k.revoked_at is None]
    assert [k.key_id for k in working] == [third.split("_")[1]]
    store.close()


def test_demo_prints_its_key_and_the_dashboard_link_that_signs_in(tmp_path: Path) -> None:
    data = tmp_path / "city"
    log = tmp_path / "city.log"
    with demo_city(data) as base:
        deadline = time.monotonic() + 60
        while "the city is alive" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        printed = log.read_text()
        key = demo_key_of(data)
        assert "the city is alive" in printed
        assert f"{base}/dashboard/#key={key}" in printed
        assert 'curl -H "Authorization: Bearer $KEY"' in printed
        assert httpx.get(f"{base}/ngsi-ld/v1/types", timeout=10).status_code == 401
        answer = httpx.get(f"{base}/ngsi-ld/v1/types", headers=bearer(key), timeout=10)
        assert answer.status_code == 200 and answer.json()["typeList"]
