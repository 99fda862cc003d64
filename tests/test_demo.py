"""The demo city: sample Chongqing entities load through the broker and answer queries."""

from __future__ import annotations

from starlette.testclient import TestClient

from cityos.cli import load_sample
from cityos.store.base import Store


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
