"""The citizens' pages: /report (the reporting form), /report/map (the public map of
reports) and /report/{reference} (a report's public story).

One page shell serves all three; its script reads which one from the path. The shell and its
modules are static files under web/citizen/, served (with the dashboard's strict
Content-Security-Policy) through the dashboard's mount; the data come from /citizen/v1.
No key is needed: a citizen has none.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from .web import APP_CACHE, SECURITY_HEADERS, WEB_ROOT

PAGE = WEB_ROOT / "citizen" / "report.html"
REPORT = "/report"
"""/report/ arrives here as /report (StripTrailingSlash)."""
MAP = REPORT + "/map"
TRACK = REPORT + "/{reference}"


async def page(request: Request) -> Response:
    """The one shell of the citizens' pages, whatever the reference: an unknown one is the
    page's to explain (in the citizen's language), not a bare 404 from here."""
    return FileResponse(
        PAGE,
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, "cache-control": APP_CACHE},
    )


PATHS = (REPORT, MAP, TRACK)
"""In matching order: /report/map before the reference it would otherwise be taken for."""

routes: list[BaseRoute] = [Route(path, page, methods=["GET"]) for path in PATHS]
