"""The demo city: sample Chongqing entities load through the broker and answer queries."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient
from typer.testing import CliRunner

from cityos.api.app import create_app
from cityos.cli import app, load_sample
from cityos.store.base import Store
from cityos.store.sqlite import SQLiteStore


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
