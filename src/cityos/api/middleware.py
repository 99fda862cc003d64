"""Small ASGI middlewares every NGSI-LD route shares."""

from __future__ import annotations

from urllib.parse import unquote_plus

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cityos.context.errors import BadRequestData, InvalidRequest, NgsiError

KEEP_TRAILING_SLASH = ("/dashboard/",)
"""Static files where `dir/` (its index.html) and `dir` (a redirect to `dir/`) differ."""


class StripTrailingSlash:
    """`/ngsi-ld/v1/types/` is `/ngsi-ld/v1/types`: clients and the ETSI suite send both."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and len(path) > 1
            and path.endswith("/")
            and not path.startswith(KEEP_TRAILING_SLASH)
        ):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


NOT_SUPPORTED = frozenset(["csf", "orderBy", "collect", "expandValues", "entityMap"])
"""NGSI-LD parameters cityos knows of but does not implement: a bad request, named as such."""

KNOWN_PARAMETERS = frozenset(
    [
        "type",
        "id",
        "idPattern",
        "attrs",
        "pick",
        "omit",
        "q",
        "scopeQ",
        "georel",
        "geometry",
        "coordinates",
        "geoproperty",
        "geometryProperty",
        "limit",
        "offset",
        "count",
        "options",
        "format",
        "lang",
        "datasetId",
        "deleteAll",
        "details",
        "kind",
        "reload",
        "local",
        "join",
        "joinLevel",
        "tenant",
        "timerel",
        "timeAt",
        "endTimeAt",
        "timeproperty",
        "lastN",
        "aggrMethods",
        "aggrPeriodDuration",
    ]
)
"""Query parameters NGSI-LD defines for the operations cityos serves."""

OWN_PARAMETERS = (
    "/iot/",
    "/governance/",
    "/open311/",
    "/rules",
    "/kpis",
    "/indicators",
    "/dashboard",
    "/health",
    "/metrics",
    "/audit",
    "/citizen/",
    "/media/",
    "/unsubscribe/",
)
"""Path prefixes of APIs outside NGSI-LD, whose routes check their own query parameters
(the probes and the metrics ignore them)."""


class RejectUnknownParameters:
    """An unknown query parameter is a client's mistake: say so (InvalidRequest, 400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("query_string")
            and not scope.get("path", "").startswith(OWN_PARAMETERS)
        ):
            names = {
                unquote_plus(pair.split("=", 1)[0])
                for pair in scope["query_string"].decode("latin-1").split("&")
                if pair
            }
            unknown = sorted(names - KNOWN_PARAMETERS)
            unsupported = sorted(names & NOT_SUPPORTED)
            error: NgsiError | None = None
            if unsupported:
                error = BadRequestData(
                    f"cityos does not support the NGSI-LD parameter(s) {', '.join(unsupported)} "
                    "yet."
                )
            elif unknown:
                error = InvalidRequest(f"Unknown query parameter(s): {', '.join(unknown)}.")
            if error is not None:
                body = orjson.dumps(error.problem())
                await send(
                    {
                        "type": "http.response.start",
                        "status": error.status,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
