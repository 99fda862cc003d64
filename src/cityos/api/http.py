"""What every NGSI-LD route shares: bodies, @context, tenants, content negotiation, errors."""

from __future__ import annotations

import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from cityos.auth.config import AuthSettings
from cityos.auth.principal import Principal
from cityos.auth.visibility import EVERYTHING, Visibility, visibility
from cityos.citizens.desk import CitizenDesk
from cityos.citizens.mailer import SmtpSettings
from cityos.context.broker import Broker
from cityos.context.errors import (
    BadRequestData,
    InvalidRequest,
    LengthRequired,
    NgsiError,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from cityos.context.jsonld import (
    CORE_CONTEXT_URL,
    GEO_JSON,
    JSON,
    JSON_LD,
    LINK_REL,
    ContextLimits,
    ContextResolver,
    Terms,
    context_link,
)
from cityos.context.normalize import check_nesting
from cityos.context.query import DEFAULT_LIMITS, QueryLimits
from cityos.events.endpoints import EndpointPolicy
from cityos.events.notifier import RetryPolicy
from cityos.governance.service import CaseService
from cityos.indicators.live import LiveCity

from .ratelimit import RateLimit

MERGE_PATCH = "application/merge-patch+json"
TENANT_HEADER = "ngsild-tenant"

T = TypeVar("T")

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_TENANT = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Limits and defaults of the HTTP API."""

    max_body_bytes: int = 16 * 1024 * 1024
    default_limit: int = 20
    max_limit: int = 1000
    """The largest page (`limit`) a query may ask for; beyond: TooManyResults."""
    max_batch: int = 10_000
    """Entities in one batch operation."""
    query_limits: QueryLimits = DEFAULT_LIMITS
    """How long and how deeply nested a q or scopeQ may be."""
    max_attributes: int = 1000
    """Attributes one entity may carry in a write."""
    max_subscriptions: int = 1000
    """Subscriptions one tenant may hold."""
    max_geometry_vertices: int = 50_000
    """Positions (arrays, counted before parsing) one request body may hold (BadRequestData)."""
    context_limits: ContextLimits = field(default_factory=ContextLimits)
    """How many entries and levels of imports one @context may resolve."""
    rate: RateLimit | None = None
    """Requests per second and burst, per key (anonymous callers: per client address);
    None: not limited."""
    notify_policy: EndpointPolicy = field(default_factory=EndpointPolicy)
    """Which networks subscriptions may send notifications to."""
    notify_retry: RetryPolicy = field(default_factory=RetryPolicy)
    """How failed notifications are retried."""
    notify_tls: ssl.SSLContext | None = None
    """Verifies https and mqtts notification endpoints; None: the system's CAs."""
    governance: Path | None = None
    """The governance configuration (YAML); None: the packaged Chongqing one."""
    escalation_every_s: float = 30.0
    """How often overdue cases are looked for."""
    open311_keys: frozenset[str] = frozenset()
    """The api_keys Open311 POSTs must carry; empty: any non-empty key is accepted."""
    live_city: LiveCity | None = None
    """The city whose indicators are computed from its own data; None: none are."""
    indicators_every_s: float = 300.0
    """How often the live indicators are computed and stored as entities."""
    events: str = "local"
    """Where committed changes travel: `local` (in-process, one instance) or a NATS
    JetStream URL shared by several instances (see events/bus.py)."""
    public_url: str = ""
    """Where citizens reach the city (links in e-mails, Open311 media_url); '' the request's
    own address."""
    media_dir: Path | None = None
    """Where citizens' photos are kept; None: `media/` in the SQLite data directory (a
    PostgreSQL deployment names one, shared by its instances, or takes no photos)."""
    max_photo_bytes: int = 10_000_000
    """The largest photo a citizen may send (413)."""
    citizen_rate: RateLimit | None = field(default_factory=lambda: RateLimit(10 / 60, 10))
    """Citizen POSTs (reports, "me too", photos, keyless Open311) per client address."""
    smtp: SmtpSettings | None = None
    """The SMTP server followers' e-mails go through; None: none are sent (they wait)."""
    auth: AuthSettings | None = None
    """Credentials every request needs (see api/auth.py); None: none, the API is open (the
    library's default, for tests and embedding; `cityos serve` requires them)."""


@dataclass(slots=True)
class Services:
    """What routes reach through `request.app.state`."""

    broker: Broker
    contexts: ContextResolver
    settings: Settings
    cases: CaseService
    desk: CitizenDesk


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


PRINCIPAL = "cityos.principal"
"""Where api/auth.py puts the authenticated `Principal` in the ASGI scope."""


def principal_of(request: Request) -> Principal | None:
    """Who the request acts for; None when authentication is off."""
    found: Principal | None = request.scope.get(PRINCIPAL)
    return found


TENANCY = "cityos.tenancy"
"""Where api/tenancy.py puts the request's `Tenancy` in the ASGI scope."""
SERVICE_HEADER = "fiware-service"
TENANT_QUERY = "tenant"


@dataclass(frozen=True, slots=True)
class Tenancy:
    """The tenant a request acts in ('' the default tenant), and whether it named one at
    all (`/audit` reads every tenant when an unbound admin names none)."""

    tenant: str
    named: bool


def check_tenant(tenant: str) -> str:
    """`tenant` when it is a valid name ('' is the default tenant); BadRequestData if not."""
    if tenant and _TENANT.fullmatch(tenant) is None:
        raise BadRequestData(
            f"Tenant {tenant!r} is not valid: use 1 to 64 letters, digits, '-' or '_'."
        )
    return tenant


def decide_tenant(scope: Scope) -> Tenancy:
    """The one tenant the request names, from NGSILD-Tenant, fiware-service and `?tenant=`
    (see api/tenancy.py for the rules); BadRequestData when they disagree or it is invalid."""
    named: list[tuple[str, str]] = [
        (key.decode(), value.decode("latin-1").strip())
        for key, value in scope.get("headers", ())
        if key in (TENANT_HEADER.encode(), SERVICE_HEADER.encode())
    ]
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        named += [(f"?{TENANT_QUERY}=", value) for name, value in pairs if name == TENANT_QUERY]
    values = {value for _, value in named}
    if len(values) > 1:
        sources = ", ".join(f"{source} {value!r}" for source, value in named)
        raise BadRequestData(f"The request names different tenants ({sources}): name one.")
    return Tenancy(check_tenant(values.pop()) if values else "", named=bool(named))


def visibility_of(request: Request) -> Visibility:
    """What the caller reads (auth/visibility.py), for the layers below to apply; anonymous
    callers read the types `cityos serve --public-read` names."""
    principal = principal_of(request)
    auth = services(request).settings.auth
    if principal is None or auth is None:
        return EVERYTHING
    core = services(request).contexts.core
    return visibility(principal, (core.expand(t) for t in auth.public_types))


def tenancy_in(scope: Scope) -> Tenancy:
    """The request's tenant as api/tenancy.py decided it (decided here, by the same rules,
    when an app runs without that middleware)."""
    found: Tenancy | None = scope.get(TENANCY)
    if found is None:
        found = scope[TENANCY] = decide_tenant(scope)
    return found


def tenancy_of(request: Request) -> Tenancy:
    return tenancy_in(request.scope)


def tenant_of(request: Request) -> str:
    """The request's tenant ('' for the default tenant)."""
    return tenancy_in(request.scope).tenant


def link_context(request: Request) -> str | None:
    """The @context URL of a JSON-LD Link header, if any."""
    header = request.headers.get("link")
    if not header:
        return None
    for match in _LINK.finditer(header):
        if "rel" in match.group(2) and LINK_REL in match.group(2):
            return match.group(1)
    raise BadRequestData(f"The Link header {header!r} names no JSON-LD @context.")


def request_terms(request: Request, body: Any = None, media_type: str = JSON) -> Terms:
    """Terms from the body's @context (JSON-LD) or the Link header (JSON), else the core."""
    resolver = services(request).contexts
    if media_type == JSON_LD:
        if request.headers.get("link"):
            raise BadRequestData("A JSON-LD body carries its @context: send no Link header too.")
        contexts = [item.get("@context") for item in _items(body) if isinstance(item, dict)]
        if not contexts or any(context is None for context in contexts):
            raise BadRequestData("A body of type application/ld+json must contain an @context.")
        return resolver.resolve(contexts[0])
    if any(isinstance(item, dict) and "@context" in item for item in _items(body)):
        raise BadRequestData(
            "An @context in the body needs Content-Type application/ld+json; "
            "with application/json send it in the Link header."
        )
    return resolver.resolve(link_context(request))


def _items(body: Any) -> list[Any]:
    return body if isinstance(body, list) else [body]


async def read_body(
    request: Request, *, allowed: tuple[str, ...] = (JSON, JSON_LD)
) -> tuple[Any, str]:
    """The parsed JSON body and its media type, after checking type and size."""
    raw, media_type = await read_bytes(request, allowed=allowed)
    settings = services(request).settings
    if len(raw) > LARGE_BODY:
        return await offload(parse_body, raw, settings), media_type
    return parse_body(raw, settings), media_type


LARGE_BODY = 64 * 1024
"""Bytes above which a body is parsed on a worker thread: decoding and the walks that check
it cost milliseconds a megabyte, time every other request would wait for on the loop."""


def parse_body(raw: bytes, settings: Settings) -> Any:
    """The JSON in `raw`, once it nests no deeper than the broker walks.

    Before parsing, the arrays are counted (every `[`, a string's too): each geometry
    position is one, and decoding holds the interpreter lock throughout (a worker thread
    does not help), about a second for 400,000 positions. Past `--max-geometry-vertices`
    the body is refused unread (BadRequestData, 400)."""
    arrays = raw.count(b"[")
    if arrays > settings.max_geometry_vertices:
        raise BadRequestData(
            f"The body holds {arrays} arrays, more than the {settings.max_geometry_vertices} "
            "geometry positions a request may carry (cityos serve --max-geometry-vertices)."
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"The body is not valid JSON: {error}.") from None
    return check_nesting(body)


BodyReader = Callable[[Request], Awaitable[tuple[Any, str]]]
"""Reads and parses a request's body: (the JSON, its media type)."""
BodyHandler = Callable[[Request, Any, str], Response]
"""Does a request's work with its parsed body (blocking: store calls, parsing)."""


def with_body(read: BodyReader, work: BodyHandler) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that reads the body on the event loop and does `work` on a worker
    thread (body-less endpoints are plain functions, which Starlette runs on one)."""

    async def endpoint(request: Request) -> Response:
        body, media_type = await read(request)
        return await offload(work, request, body, media_type)

    return endpoint


async def offload(work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` on a worker thread: store reads and commits, parsing and @context
    resolution block, and on the event loop they would hold up every other request (the
    loop only reads bodies and writes responses). Context variables (the request id, the
    log context) go along."""
    return await run_in_threadpool(work, *args)


ENTITY_MEMBERS = frozenset(
    ["id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"]
)
"""Members of an entity that are not attributes."""


async def read_entity_body(
    request: Request, *, allowed: tuple[str, ...] = (JSON, JSON_LD)
) -> tuple[Any, str]:
    """`read_body` for entity writes: the entity, or each entity of an array, may carry at
    most `max_attributes` attributes (BadRequestData, before any of it is parsed)."""
    body, media_type = await read_body(request, allowed=allowed)
    limit = services(request).settings.max_attributes
    for item in _items(body):
        if isinstance(item, dict):
            count = sum(1 for name in item if name not in ENTITY_MEMBERS)
            if count > limit:
                raise BadRequestData(
                    f"An entity holds at most {limit} attributes in one write; "
                    f"{item.get('id', 'this one')!s:.200} has {count} "
                    "(cityos serve --max-attributes)."
                )
    return body, media_type


async def read_bytes(request: Request, *, allowed: tuple[str, ...]) -> tuple[bytes, str]:
    """The raw, non-empty body and its media type, after checking type and size."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'!r} is not supported here; use "
            + " or ".join(allowed)
            + "."
        )
    limit = services(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is None:
        raise LengthRequired("Send the body with a Content-Length header.")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(_too_large(limit))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(_too_large(limit))
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidRequest("The request needs a body.")
    return raw, media_type


def _too_large(limit: int) -> str:
    return f"The body is larger than the limit of {limit} bytes (cityos serve --max-body-bytes)."


def response_type(request: Request, *, geo: bool = False) -> str:
    """The media type to answer with, by the Accept header (406 when none fits).

    Each offered type takes the weight of the most specific Accept entry naming it; ties
    go to the order of 6.3.4 (JSON, then JSON-LD, then GeoJSON), not the client's order.
    """
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return JSON
    offered = (JSON, JSON_LD, GEO_JSON) if geo else (JSON, JSON_LD)
    weights: dict[str, tuple[int, float]] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = min(max(float(param[2:]), 0.0), 1.0)
                except ValueError:
                    quality = 1.0
        media = media.lower()
        for choice in offered:
            specificity = 2 if media == choice else 1 if media in ("*/*", "application/*") else 0
            if specificity and specificity >= weights.get(choice, (0, 0.0))[0]:
                weights[choice] = (specificity, quality)
    ranked = [c for c in offered if weights.get(c, (0, 0.0))[1] > 0]
    if not ranked:
        raise NotAcceptable(f"None of {accept!r} can be served; use {' or '.join(offered)}.")
    return max(ranked, key=lambda c: (weights[c][1], -offered.index(c)))


def json_response(
    request: Request,
    body: Any,
    terms: Terms,
    *,
    status: int = 200,
    media_type: str = JSON,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON body with its @context: inline for JSON-LD, a Link header otherwise."""
    out_headers = dict(headers or {})
    source = terms.source if terms.source is not None else CORE_CONTEXT_URL
    if media_type == JSON_LD:
        if isinstance(body, list):
            body = [{**item, "@context": source} for item in body]
        elif isinstance(body, dict) and body.get("type") != "FeatureCollection":
            body = {**body, "@context": source}
    elif isinstance(source, str):
        links = [context_link(source), out_headers.get("Link", "")]
        out_headers["Link"] = ",".join(link for link in links if link)
    if media_type == GEO_JSON and isinstance(body, dict):
        body = {**body, "@context": source}
    return Response(orjson.dumps(body), status, out_headers, media_type=media_type)


def plain_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Plain JSON, for the surfaces beside NGSI-LD (devices, cases, rules, KPIs…)."""
    return Response(orjson.dumps(body), status, headers, media_type=JSON)


def problem_response(error: NgsiError) -> Response:
    """ProblemDetails as JSON; 411 and 415 carry no body (RFC 9110, as the suite checks)."""
    if error.status in (411, 415):
        return Response(status_code=error.status)
    return Response(orjson.dumps(error.problem()), error.status, media_type="application/json")


def flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value in ("true", "false"):
        return value == "true"
    raise BadRequestData(f"{name} must be true or false, not {value!r}.")


def moment_param(request: Request, name: str) -> datetime | None:
    """A query parameter holding an ISO 8601 date-time (UTC when it names no zone)."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequestData(
            f"{name} must be a date-time like 2026-11-29T08:00:00Z, not {value!r}."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
