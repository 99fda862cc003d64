"""Authentication and authorisation at the door: every request's credentials, route class
and tenant are checked here, before any handler runs.

Credentials: `Authorization: Bearer <key or JWT>`, or `X-API-Key: <key>` for tools that
cannot set a bearer. No credentials: the anonymous principal, which reaches only the
`policy.PUBLIC` classes and, where configured, public entity types. The principal is left
at `scope["cityos.principal"]` (`http.principal_of`) for the object rules of the handlers,
and for whatever comes after (rate limits per key, the audit log): its `subject` is the
key id or the token's `sub`.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cityos import audit
from cityos.auth.config import AuthSettings
from cityos.auth.keys import ApiKeys, split_key
from cityos.auth.oidc import TokenError, TokenValidator
from cityos.auth.policy import Endpoint, allowed, may_write_entity
from cityos.auth.principal import ANONYMOUS, Method, Principal
from cityos.context.errors import Forbidden, NgsiError, Unauthorized

from . import (
    basemap,
    batch,
    citizen_pages,
    citizens,
    contexts,
    entities,
    governance,
    iot,
    open311,
    rules,
    subscriptions,
    temporal,
    web,
)
from .audit import AUDIT
from .discovery import V1
from .http import PRINCIPAL, plain_json, principal_of, problem_response, tenancy_in

E = Endpoint
READ, WRITE = ("GET",), ("POST", "PUT", "PATCH", "DELETE")
ME = "/auth/me"


CITIZEN_READS = ("/categories", "/reports", "/nearby", "/reports/{reference}")
CITIZEN_POSTS = ("/reports", "/reports/{reference}/support", "/reports/{reference}/photos")
"""The citizens' front door (docs/citizens.md): keyless, rate-limited per address."""


def _table() -> dict[tuple[str, str], Endpoint]:
    rows: list[tuple[tuple[str, ...], str, Endpoint]] = [
        (READ, "/version", E.PUBLIC),
        (READ, ME, E.SELF),
        (READ, "/", E.DASHBOARD),
        (("*",), web.PREFIX, E.DASHBOARD),
        # the base map is the dashboard's, public like its other static files
        (READ, basemap.BASEMAP + "/{name}.pmtiles", E.DASHBOARD),
        *((READ, path, E.DASHBOARD) for path in citizen_pages.PATHS),
        (READ, entities.ENTITIES, E.ENTITIES_READ),
        (("POST",), entities.ENTITIES, E.ENTITIES_WRITE),
        (READ, entities.ENTITIES + "/{entity_id}", E.ENTITIES_READ),
        (("PUT", "PATCH"), entities.ENTITIES + "/{entity_id}", E.ENTITIES_WRITE),
        (("DELETE",), entities.ENTITIES + "/{entity_id}", E.ENTITIES_DELETE),
        (("POST", "PATCH"), entities.ENTITIES + "/{entity_id}/attrs", E.ENTITIES_WRITE),
        (WRITE, entities.ENTITIES + "/{entity_id}/attrs/{attr}", E.ENTITIES_WRITE),
        (("POST",), batch.OPERATIONS + "/query", E.ENTITIES_READ),
        *(
            (("POST",), f"{batch.OPERATIONS}/{op}", E.BATCH_WRITE)
            for op in ("create", "upsert", "update", "merge", "delete")
        ),
        *((READ, V1 + path, E.TYPES_READ) for path in ("/types", "/attributes")),
        *(
            (READ, V1 + path, E.TYPES_READ)
            for path in ("/types/{type:path}", "/attributes/{attr:path}")
        ),
        (READ, contexts.CONTEXTS, E.CONTEXTS_READ),
        (("POST",), contexts.CONTEXTS, E.CONTEXTS_WRITE),
        (READ, contexts.CONTEXTS + "/{context_id:path}", E.CONTEXTS_READ),
        (("DELETE",), contexts.CONTEXTS + "/{context_id:path}", E.CONTEXTS_WRITE),
        ((*READ, *WRITE), iot.DEVICES, E.IOT_PROVISION),
        ((*READ, *WRITE), iot.DEVICES + "/{device_id}", E.IOT_PROVISION),
        (READ, "/iot/stats", E.IOT_PROVISION),
        (("POST",), "/iot/json", E.IOT_MEASURE),
        (READ, subscriptions.SUBSCRIPTIONS, E.SUBSCRIPTIONS_READ),
        (("POST",), subscriptions.SUBSCRIPTIONS, E.SUBSCRIPTIONS_WRITE),
        (READ, subscriptions.SUBSCRIPTIONS + "/{subscription_id}", E.SUBSCRIPTIONS_READ),
        (READ, subscriptions.SUBSCRIPTIONS + "/{subscription_id}/stream", E.SUBSCRIPTIONS_READ),
        (WRITE, subscriptions.SUBSCRIPTIONS + "/{subscription_id}", E.SUBSCRIPTIONS_WRITE),
        (READ, temporal.TEMPORAL, E.TEMPORAL_READ),
        (("POST",), temporal.QUERY, E.TEMPORAL_READ),
        (READ, temporal.TEMPORAL + "/{entity_id}", E.TEMPORAL_READ),
        *(
            (methods, temporal.TEMPORAL + path, cls)
            for path in (
                "//{rest:path}",
                "/{entity_id}/attrs//{rest:path}",
                "",
                "/{entity_id}",
                "/{entity_id}/attrs",
                "/{entity_id}/attrs/{attr}",
                "/{entity_id}/attrs/{attr}/{instance_id}",
            )
            for methods, cls in ((READ, E.TEMPORAL_READ), (WRITE, E.TEMPORAL_WRITE))
        ),
        (("POST",), governance.CASES, E.GOVERNANCE_REPORT),
        (READ, governance.CASES, E.GOVERNANCE_READ),
        (READ, governance.CASES + "/{id}", E.GOVERNANCE_READ),
        (READ, governance.CASES + "/{id}/trail", E.GOVERNANCE_READ),
        (("POST",), governance.CASES + "/{id}/{action}", E.GOVERNANCE_ACT),
        (("POST",), governance.CASES + "/{id}/moderate", E.GOVERNANCE_ACT),
        (READ, "/governance/statistics", E.GOVERNANCE_READ),
        (READ, "/governance/catalogue", E.GOVERNANCE_READ),
        *(
            (READ, open311.PREFIX + path, E.OPEN311_SERVICES)
            for path in ("/discovery.{format}", "/services.{format}")
        ),
        (READ, open311.PREFIX + "/services/{service_code}.{format}", E.OPEN311_SERVICES),
        (("POST",), open311.PREFIX + "/requests.{format}", E.OPEN311_REPORT),
        (READ, open311.PREFIX + "/requests.{format}", E.OPEN311_READ),
        (READ, open311.PREFIX + "/requests/{id}.{format}", E.OPEN311_READ),
        (READ, open311.PREFIX + "/tokens/{token}.{format}", E.OPEN311_REPORT),
        (READ, open311.PREFIX + "/servicerequestupdates.{format}", E.OPEN311_READ),
        (("*",), open311.PREFIX + "/{path:path}", E.OPEN311_SERVICES),
        (READ, rules.RULES, E.RULES_READ),
        (("POST",), rules.RULES, E.RULES_WRITE),
        (READ, rules.RULES + "/{rule_id}", E.RULES_READ),
        (READ, rules.RULES + "/{rule_id}/state", E.RULES_READ),
        (("PUT", "DELETE"), rules.RULES + "/{rule_id}", E.RULES_WRITE),
        (READ, "/kpis", E.KPIS_READ),
        (READ, "/kpis/{pack}", E.KPIS_READ),
        *((READ, "/indicators" + p, E.INDICATORS_READ) for p in ("", "/compare", "/live")),
        (READ, AUDIT, E.AUDIT_READ),
        *((READ, citizens.PREFIX + p, E.PUBLIC) for p in CITIZEN_READS),
        *((("POST",), citizens.PREFIX + p, E.PUBLIC) for p in CITIZEN_POSTS),
        (READ, "/media/{name}", E.PUBLIC),
        (READ, "/unsubscribe/{token}", E.PUBLIC),
    ]
    return {(method, path): cls for methods, path, cls in rows for method in methods}


ROUTE_CLASSES: dict[tuple[str, str], Endpoint] = _table()
"""(method, route path template) → its endpoint class; `*` for any method. A test checks
that every route of `create_app` is here: a new route cannot be forgotten."""

PUBLIC_PATHS = ("/health", "/metrics", "/openapi", "/docs")
"""Operational routes (probes, metrics, the API description): public, by prefix."""


def route_class(method: str, path: str) -> Endpoint | None:
    method = "GET" if method == "HEAD" else method
    found = ROUTE_CLASSES.get((method, path)) or ROUTE_CLASSES.get(("*", path))
    if found is None and path.startswith(PUBLIC_PATHS):
        return E.PUBLIC
    return found


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def credentials(scope: Scope) -> str | None:
    """The key or token of `Authorization: Bearer …` or `X-API-Key`; '' when malformed."""
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""
    return _header(scope, b"x-api-key")


class Authenticate:
    """The middleware: 401 without valid credentials, 403 when they do not allow the route,
    tenant or written entity; otherwise the principal goes on in the scope."""

    def __init__(
        self,
        app: ASGIApp,
        settings: AuthSettings,
        keys: ApiKeys,
        routes: Sequence[BaseRoute],
    ) -> None:
        self.app = app
        self.settings = settings
        self.keys = keys
        self.routes = routes
        self.tokens = TokenValidator(settings.oidc) if settings.oidc else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            principal = self.principal(scope)
            scope[PRINCIPAL] = principal
            self.authorise(scope, principal)
        except NgsiError as error:
            await self.refuse(error, scope)(scope, receive, send)
            return
        with audit.acting_as(audit.Who(principal.subject, principal.method.value)):
            await self.app(scope, receive, send)

    def principal(self, scope: Scope) -> Principal:
        given = credentials(scope)
        if given is None:
            return ANONYMOUS
        found: Principal | None = None
        if split_key(given) is not None:
            found = self.keys.authenticate(given)
        elif self.tokens is not None:
            try:
                found = self.tokens.validate(given)
            except TokenError as error:
                raise Unauthorized(f"The bearer token is not valid: {error}.") from None
        if found is None:
            raise Unauthorized("The credentials are not valid (unknown, revoked or expired).")
        return found

    def authorise(self, scope: Scope, principal: Principal) -> None:
        matched = self.match(scope)
        if matched is None:
            return  # no such route: the router answers 404 or 405
        endpoint, params = matched
        decision = allowed(principal, endpoint, tenancy_in(scope).tenant)
        if not decision.allowed:
            error = Unauthorized if decision.status == 401 else Forbidden
            raise error(decision.reason)
        if (
            endpoint is E.ENTITIES_READ
            and principal.method is Method.ANONYMOUS
            and not self.settings.public_types
        ):
            raise Unauthorized("This needs credentials: an API key or a bearer token.")
        if endpoint is E.ENTITIES_WRITE and not may_write_entity(
            principal, params.get("entity_id")
        ):
            raise Forbidden(f"A device key writes only its own entity, {principal.entity}.")

    def match(self, scope: Scope) -> tuple[Endpoint, dict[str, str]] | None:
        for route in self.routes:
            found, child = route.matches(scope)
            if found is Match.FULL:
                path = route.path if isinstance(route, Route | Mount) else ""
                endpoint = route_class(scope["method"], path)
                if endpoint is None:
                    raise Forbidden(f"{scope['method']} {path} has no endpoint class: refused.")
                return endpoint, child.get("path_params", {})
        return None

    def refuse(self, error: NgsiError, scope: Scope) -> Response:
        path: str = scope.get("path", "")
        if path.startswith(open311.PREFIX):
            fmt = path.rsplit(".", 1)[-1] if path.endswith((".json", ".xml")) else "json"
            body = [{"code": error.status, "description": error.detail}]
            response = open311.render(body, "errors", fmt, error.status)
        else:
            response = problem_response(error)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="cityos"'
        return response


async def me(request: Request) -> Response:
    """Who the credentials say the caller is (the dashboard checks a pasted key here)."""
    principal = principal_of(request)
    if principal is None:
        return plain_json({"auth": "off"})
    return plain_json(
        {
            "subject": principal.subject,
            "method": principal.method.value,
            "roles": sorted(principal.role_names),
            "tenants": sorted(principal.tenants),
            "entity": principal.entity,
        }
    )


routes = [Route(ME, me, methods=["GET"])]
