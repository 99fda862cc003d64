"""The request's tenant, decided once, before anything else reads it.

A request names its tenant with the NGSILD-Tenant header (NGSI-LD), the fiware-service
header (FIWARE IoT Agents) or `?tenant=` (browsers' EventSource cannot send headers, and
`/audit` filters with it). `DecideTenant` reads all three once (`http.decide_tenant`) and
leaves one `Tenancy` in the scope: the authoriser checks that value, and every handler
serves that value (`http.tenant_of`); nothing else parses a tenant. The rules:

- named nowhere: the default tenant '';
- named empty (`?tenant=`, `NGSILD-Tenant:`): the default tenant too, and authorised as such;
- named twice differently (header against query, or two headers): 400, the request is
  ambiguous and guessing would serve one tenant while the caller meant another;
- not a valid name: 400.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityos.context.errors import NgsiError

from . import open311
from .http import TENANCY, TENANT_HEADER, decide_tenant, problem_response


def refusal(error: NgsiError, scope: Scope) -> Response:
    """An error answered before routing, in the shape of the API asked: Open311's errors
    under its prefix, NGSI-LD ProblemDetails elsewhere."""
    path: str = scope.get("path", "")
    if path.startswith(open311.PREFIX):
        fmt = path.rsplit(".", 1)[-1] if path.endswith((".json", ".xml")) else "json"
        return open311.error_response(error, fmt)
    return problem_response(error)


class DecideTenant:
    """Decides the tenant (400 when the request cannot name one) and answers with the
    NGSILD-Tenant header the request carried (ETSI GS CIM 009, 6.3.14)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope[TENANCY] = decide_tenant(scope)
        except NgsiError as error:
            await refusal(error, scope)(scope, receive, send)
            return
        echoed = next((v for k, v in scope.get("headers", ()) if k == TENANT_HEADER.encode()), None)
        if echoed is None:
            await self.app(scope, receive, send)
            return

        async def send_with_tenant(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"ngsild-tenant", echoed)]
            await send(message)

        await self.app(scope, receive, send_with_tenant)
