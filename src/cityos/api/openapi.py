"""The API's own description: GET /openapi.json, /openapi.yaml, and /docs to browse it.

The document is the packaged `openapi.yaml`, written by hand from the handlers and kept
honest by tests/api/test_openapi.py (every route described, nothing described that is not
served) and the schemathesis run (answers match it). What depends on the server's settings
(page and batch sizes) and the version is filled in when it is served. /docs is Swagger UI,
vendored under the dashboard's files: nothing is fetched from elsewhere.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from cityos import __version__

from .http import Settings, services
from .web import SECURITY_HEADERS, WEB_ROOT

DOCS_PAGE = WEB_ROOT / "api-docs.html"


@cache
def _source() -> dict[str, Any]:
    text = resources.files("cityos.api").joinpath("openapi.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


@cache
def _document(max_limit: int, default_limit: int, max_batch: int) -> dict[str, Any]:
    document = copy.deepcopy(_source())
    document["info"]["version"] = __version__
    components = document["components"]
    components["parameters"]["Limit"]["schema"].update(maximum=max_limit, default=default_limit)
    for body in components["requestBodies"]["EntityBatch"]["content"].values():
        body["schema"]["maxItems"] = max_batch
    components["schemas"]["UriBatch"]["maxItems"] = max_batch
    return document


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI document of a server with these settings."""
    return _document(settings.max_limit, settings.default_limit, settings.max_batch)


@cache
def _encoded(max_limit: int, default_limit: int, max_batch: int) -> tuple[bytes, bytes]:
    document = _document(max_limit, default_limit, max_batch)
    as_yaml = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return orjson.dumps(document), as_yaml.encode()


def _bodies(request: Request) -> tuple[bytes, bytes]:
    settings = services(request).settings
    return _encoded(settings.max_limit, settings.default_limit, settings.max_batch)


async def openapi_json(request: Request) -> Response:
    return Response(_bodies(request)[0], media_type="application/json")


async def openapi_yaml(request: Request) -> Response:
    return Response(_bodies(request)[1], media_type="application/yaml")


async def docs(request: Request) -> Response:
    return FileResponse(DOCS_PAGE, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/openapi.yaml", openapi_yaml, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
]
