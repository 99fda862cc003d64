"""/basemap/{name}.pmtiles: whole, by range (206), refused ranges (416), HEAD, revalidation,
public under `--auth required`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.auth.config import AuthSettings
from cityos.store.base import Store

ARCHIVE = bytes(range(256)) * 40  # 10,240 bytes: any content serves, the server never parses


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "city.pmtiles"
    path.write_bytes(ARCHIVE)
    return path


@pytest.fixture
def served(store: Store, archive: Path) -> Iterator[TestClient]:
    settings = Settings(basemaps={"city": archive}, auth=AuthSettings())
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as client:
        yield client


def test_a_range_gets_206_with_exactly_those_bytes(served: TestClient) -> None:
    response = served.get("/basemap/city.pmtiles", headers={"Range": "bytes=127-16510"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 127-10239/{len(ARCHIVE)}"
    assert response.content == ARCHIVE[127:]
    first = served.get("/basemap/city.pmtiles", headers={"Range": "bytes=0-126"})
    assert first.status_code == 206
    assert first.content == ARCHIVE[:127]
    assert first.headers["content-range"] == f"bytes 0-126/{len(ARCHIVE)}"
    assert first.headers["accept-ranges"] == "bytes"
    suffix = served.get("/basemap/city.pmtiles", headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206
    assert suffix.content == ARCHIVE[-10:]


@pytest.mark.parametrize(
    "asked",
    ["bytes=20000-20100", "bytes=10240-", "bytes=50-10", "bytes=abc", "lines=0-1", "bytes="],
)
def test_an_unsatisfiable_or_malformed_range_gets_416(served: TestClient, asked: str) -> None:
    response = served.get("/basemap/city.pmtiles", headers={"Range": asked})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(ARCHIVE)}"


def test_the_whole_archive_head_and_revalidation(served: TestClient) -> None:
    whole = served.get("/basemap/city.pmtiles")
    assert whole.status_code == 200
    assert whole.content == ARCHIVE
    assert whole.headers["etag"] and whole.headers["last-modified"]
    assert whole.headers["x-content-type-options"] == "nosniff"
    head = served.head("/basemap/city.pmtiles")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(ARCHIVE))
    assert head.headers["etag"] == whole.headers["etag"]
    again = served.get("/basemap/city.pmtiles", headers={"If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304


def test_public_without_credentials_and_404_for_an_unknown_name(served: TestClient) -> None:
    # the app above requires credentials for the API: the base map needs none
    assert served.get("/ngsi-ld/v1/entities?type=District").status_code == 401
    assert (
        served.get("/basemap/city.pmtiles", headers={"Range": "bytes=0-6"}).content == (ARCHIVE[:7])
    )
    missing = served.get("/basemap/elsewhere.pmtiles")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")


def test_no_archive_configured_is_404(client: TestClient) -> None:
    assert client.get("/basemap/city.pmtiles").status_code == 404


def test_several_ranges_come_as_multipart(served: TestClient) -> None:
    response = served.get("/basemap/city.pmtiles", headers={"Range": "bytes=0-3, 100-103"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges")
    assert ARCHIVE[0:4] in response.content and ARCHIVE[100:104] in response.content


def test_a_replaced_archive_is_served_anew(served: TestClient, archive: Path) -> None:
    before = served.get("/basemap/city.pmtiles", headers={"Range": "bytes=0-9"})
    replacement = archive.with_suffix(".new")
    replacement.write_bytes(b"PMTiles" + bytes(100))
    os.utime(replacement, ns=(1, 1))  # another mtime than the first file's, surely
    replacement.replace(archive)
    after = served.get("/basemap/city.pmtiles", headers={"Range": "bytes=0-9"})
    assert before.content == ARCHIVE[:10]
    assert after.content == b"PMTiles\0\0\0"
    assert after.headers["content-range"] == "bytes 0-9/107"
    assert after.headers["etag"] != before.headers["etag"]
