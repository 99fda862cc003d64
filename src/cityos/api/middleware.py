"""Two small ASGI middlewares every NGSI-LD route shares."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class StripTrailingSlash:
    """`/ngsi-ld/v1/types/` is `/ngsi-ld/v1/types`: clients and the ETSI suite send both."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


class EchoTenant:
    """Answer with the NGSILD-Tenant header the request carried (ETSI GS CIM 009, 6.3.14)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant = (
            next((v for k, v in scope.get("headers", ()) if k == b"ngsild-tenant"), None)
            if scope["type"] == "http"
            else None
        )
        if tenant is None:
            await self.app(scope, receive, send)
            return

        async def send_with_tenant(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"ngsild-tenant", tenant)]
            await send(message)

        await self.app(scope, receive, send_with_tenant)
