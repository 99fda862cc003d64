"""The dashboard's static files: served at /dashboard/, offline, with the right types."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

import cityos

WEB = Path(cityos.__file__).parent / "web"


def test_the_front_door_leads_to_the_dashboard(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/dashboard/"
    bare = client.get("/dashboard", follow_redirects=False)
    assert bare.status_code in (302, 307) and bare.headers["location"].endswith("/dashboard/")


def test_the_shell_is_served(client: TestClient) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<main id="page"' in response.text
    assert 'type="module" src="js/main.js"' in response.text
    assert response.headers["cache-control"] == "no-cache"


def test_modules_and_vendored_libraries_have_types_browsers_accept(client: TestClient) -> None:
    module = client.get("/dashboard/js/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    leaflet = client.get("/dashboard/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200
    assert leaflet.headers["content-type"].startswith("text/javascript")
    assert "max-age" in leaflet.headers["cache-control"]
    css = client.get("/dashboard/vendor/leaflet/leaflet.css")
    assert css.headers["content-type"].startswith("text/css")
    assert client.get("/dashboard/vendor/leaflet/images/marker-icon.png").status_code == 200
    for name in ("chongqing-districts.geojson", "world-countries-50m.topojson"):
        data = client.get(f"/dashboard/data/{name}")
        assert data.status_code == 200
        assert data.headers["content-type"] == "application/json"
        assert data.json()["type"] in ("FeatureCollection", "Topology")


def test_query_strings_and_missing_files(client: TestClient) -> None:
    # The NGSI-LD parameter check must leave the dashboard's own query strings alone.
    assert client.get("/dashboard/", params={"lang": "zh", "anything": "1"}).status_code == 200
    missing = client.get("/dashboard/js/nowhere.js")
    assert missing.status_code == 404
    assert client.get("/dashboard/../pyproject.toml").status_code == 404


def test_every_vendored_library_carries_its_licence() -> None:
    for package in ("leaflet", "leaflet.markercluster", "echarts", "topojson-client"):
        folder = WEB / "vendor" / package
        assert (folder / "LICENSE").is_file(), package
        assert any(p.suffix == ".js" for p in folder.iterdir()), package
    assert (WEB / "data" / "NOTICE.md").is_file()


URL = re.compile(r"(?:https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,}", re.IGNORECASE)
"""An address with a host (`https://example.org`, `//cdn.example`), not words about URLs."""


def test_nothing_is_fetched_from_the_internet() -> None:
    """No address outside this server in the dashboard's own files (vendored code and the
    licence / attribution texts may name their project's site)."""
    offenders = []
    for path in sorted(WEB.rglob("*")):
        relative = path.relative_to(WEB)
        if not path.is_file() or relative.parts[0] == "vendor":
            continue
        if path.suffix not in (".html", ".css", ".js", ".json", ".geojson", ".topojson"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if URL.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


def test_vendored_files_reference_nothing_remote_at_load() -> None:
    """Stylesheets of vendored libraries load no remote images or fonts (an inline `data:`
    image loads nothing, though its SVG names the http://www.w3.org/2000/svg namespace)."""
    for css in (WEB / "vendor").rglob("*.css"):
        urls = re.findall(r"url\(([^)]*)\)", css.read_text(encoding="utf-8"))
        fetched = [u for u in urls if not u.strip("'\" ").startswith("data:")]
        assert not [u for u in fetched if URL.search(u)], css


def test_the_dashboard_is_sent_compressed(client: TestClient) -> None:
    response = client.get(
        "/dashboard/vendor/echarts/echarts.min.js", headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.num_bytes_downloaded < len(response.content) / 2
    api = client.get("/ngsi-ld/v1/types", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in api.headers
