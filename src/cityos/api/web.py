"""The operations-centre dashboard: the static files of `cityos/web`, served at /dashboard/.

Nothing here builds or fetches anything: the dashboard is plain ES modules and vendored
libraries, read from the package directory (the source tree in an editable install).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
PREFIX = "/dashboard"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".geojson": "application/json",
    ".topojson": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/markdown; charset=utf-8",
}
"""Fixed here rather than left to `mimetypes`, which reads the host's /etc/mime.types: a
module script served as text/plain is refused by browsers, and the map data has no
registered type at all."""

VENDOR_CACHE = "public, max-age=86400"
"""Vendored libraries change only with their pinned version: let the browser keep them."""

APP_CACHE = "no-cache"
"""The dashboard's own files: revalidate every time (ETag), so an upgrade shows at once."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)
"""The pages run only the scripts this server serves: no inline script, no event-handler
attribute, no eval, no plug-in, never framed. Should a string from the API ever reach an
HTML sink despite the DOM-only rule (web/js/maps.js), the markup it brings cannot run.
data:/blob: images are Leaflet's and ECharts' own; everything else comes from here.
style-src-attr 'unsafe-inline' is the one allowance, for style attributes only: ECharts
writes its tooltips as markup with style="…" (refused otherwise, the tooltips lose their
layout). Style sheets and <style> elements stay 'self', and a style attribute runs no
script."""

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
"""On every page and file of the dashboard and on the API browser (/docs). no-referrer: a
link the dashboard shows (a case's photo) never learns which page of the city's dashboard,
with which query, the operator was on."""


class DashboardFiles(StaticFiles):
    """StaticFiles with explicit media types and cache headers."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        suffix = Path(full_path).suffix.lower()
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=MEDIA_TYPES.get(suffix),
        )
        relative = Path(full_path).resolve().relative_to(WEB_ROOT.resolve())
        vendored = relative.parts[:1] == ("vendor",)
        response.headers["cache-control"] = VENDOR_CACHE if vendored else APP_CACHE
        response.headers.update(SECURITY_HEADERS)
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


async def home(request: Request) -> Response:
    """The city's front door is its operations centre."""
    return RedirectResponse(f"{PREFIX}/", status_code=307)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET", "HEAD"]),
    # Compressed here only: the libraries shrink to a third, and the NGSI-LD API and its
    # event streams stay untouched by a middleware that would buffer or re-encode them.
    Mount(
        PREFIX,
        app=GZipMiddleware(DashboardFiles(directory=WEB_ROOT, html=True), minimum_size=1024),
        name="dashboard",
    ),
]
