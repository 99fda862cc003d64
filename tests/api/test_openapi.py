"""The OpenAPI document describes the app that serves it: every route of create_app is an
operation of the document and every operation a route, and /docs browses it with nothing
fetched from elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from cityos.api import open311, temporal
from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.api.openapi import openapi_document
from cityos.store.sqlite import SQLiteStore

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_ROUTES = (temporal.missing_path_part, open311.elsewhere)
"""Routes that only answer errors for paths no operation has (`entities//x`, an unknown
Open311 resource): the document describes the operations, not these."""
MOUNTED_FILE = "{file}"
"""A mounted app (the dashboard's static files) is one operation, `<mount>/{file}`."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    store = SQLiteStore(tmp_path_factory.mktemp("openapi"))
    yield create_app(store)
    store.close()


def route_operations(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    """(method, path template) of every route; `{name:path}` is written `{name}`, and HEAD,
    which Starlette adds to every GET, is left out."""
    found = set()
    for route in routes:
        if isinstance(route, Route) and route.endpoint not in ERROR_ROUTES:
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            found |= {(method, path) for method in route.methods or () if method != "HEAD"}
        elif isinstance(route, Mount):
            found.add(("GET", f"{route.path}/{MOUNTED_FILE}"))
    return found


def document_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def test_every_route_is_described(app: Starlette) -> None:
    missing = route_operations(app.routes) - document_operations(openapi_document(Settings()))
    assert not missing, f"routes the OpenAPI document does not describe: {sorted(missing)}"


def test_every_described_operation_is_served(app: Starlette) -> None:
    extra = document_operations(openapi_document(Settings())) - route_operations(app.routes)
    assert not extra, f"operations of the OpenAPI document no route serves: {sorted(extra)}"


def test_the_comparison_sees_a_missing_route(app: Starlette) -> None:
    """The two tests above would pass on an empty set: one route more must be seen."""

    async def extra(request: Any) -> Any:
        raise NotImplementedError

    routes = [*app.routes, Route("/extra/{name:path}", extra, methods=["GET", "POST"])]
    added = route_operations(routes) - route_operations(app.routes)
    assert added == {("GET", "/extra/{name}"), ("POST", "/extra/{name}")}


def test_every_reference_resolves_and_operation_ids_are_unique() -> None:
    document = openapi_document(Settings())
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    for ref in refs:
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, f"{ref} does not resolve"
            target = target[part]
    ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(ids) == len(set(ids)) == len(document_operations(document))


def test_served_document_states_the_servers_limits(tmp_path: Path) -> None:
    settings = Settings(max_limit=50, default_limit=5, max_batch=7)
    with TestClient(create_app(SQLiteStore(tmp_path), settings)) as client:
        as_json = client.get("/openapi.json")
        as_yaml = client.get("/openapi.yaml")
    assert as_json.headers["content-type"] == "application/json"
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    document = as_json.json()
    assert yaml.safe_load(as_yaml.text) == document
    limit = document["components"]["parameters"]["Limit"]["schema"]
    assert (limit["maximum"], limit["default"]) == (50, 5)
    assert document["components"]["schemas"]["UriBatch"]["maxItems"] == 7
    assert document["openapi"].startswith("3.1")


def test_docs_page_loads_only_what_this_server_serves(app: Starlette) -> None:
    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources, "the page loads Swagger UI"
        assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
        for source in (s for s in sources if not s.startswith("data:")):
            assert client.get(source).status_code == 200, source
        # The page's own script (a file: the CSP allows no inline script) loads this spec.
        script = client.get("/dashboard/js/api-docs.js").text
        assert "/dashboard/js/api-docs.js" in sources
        assert 'url: "/openapi.json"' in script
        assert "validatorUrl: null" in script  # Swagger UI's default sends the spec away
