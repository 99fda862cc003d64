"""The cityos ASGI application: NGSI-LD routes over a broker and a store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cityos import __version__
from cityos.auth.keys import ApiKeys
from cityos.citizens.desk import CitizenDesk, DeskSettings
from cityos.citizens.mailer import Mailer
from cityos.citizens.photos import MediaStore
from cityos.context.broker import Broker
from cityos.context.errors import (
    BadRequestData,
    InvalidRequest,
    MethodNotAllowed,
    NgsiError,
    ResourceNotFound,
)
from cityos.context.jsonld import ContextResolver
from cityos.events.bus import make_bus
from cityos.events.notifier import Notifier
from cityos.governance.config import load_config
from cityos.governance.service import CaseService
from cityos.logs import request_id
from cityos.metrics import Metrics
from cityos.rules.engine import RuleEngine
from cityos.sim.packs import PACK_MODULES, create_pack
from cityos.store.base import Store

from . import (
    audit,
    auth,
    basemap,
    batch,
    citizen_pages,
    citizens,
    contexts,
    discovery,
    entities,
    governance,
    health,
    indicators,
    iot,
    kpis,
    metrics,
    open311,
    openapi,
    rules,
    subscriptions,
    temporal,
    web,
)
from .http import PRINCIPAL, Services, Settings, problem_response
from .middleware import RejectUnknownParameters, StripTrailingSlash
from .observe import Observe
from .ratelimit import RateLimiter, TokenBuckets
from .tenancy import DecideTenant

log = logging.getLogger("cityos.api")


async def ngsi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NgsiError)
    return problem_response(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as NGSI-LD ProblemDetails."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        if f"{entities.ENTITIES}//" in request.url.path:
            return problem_response(BadRequestData("The entity id is missing from the path."))
        return problem_response(ResourceNotFound(f"No resource at {request.url.path}."))
    if exc.status_code == 405:
        if request.url.path.rstrip("/") == entities.ENTITIES:
            return problem_response(BadRequestData(f"{request.method} needs an entity id."))
        error = MethodNotAllowed(f"{request.method} is not supported on {request.url.path}.")
        response = problem_response(error)
        if exc.headers:
            response.headers.update(exc.headers)
        return response
    return problem_response(InvalidRequest(str(exc.detail)))


async def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path)
    error = NgsiError("The broker failed on this request; the error was logged.")
    response = problem_response(error)
    rid = request_id.get()
    if rid is not None:  # answered outside the middleware that echoes it
        response.headers["X-Request-Id"] = rid
    return response


async def version(request: Request) -> Response:
    return JSONResponse({"name": "cityos", "version": __version__})


BackgroundService = Callable[[Starlette], AbstractAsyncContextManager[None]]
"""Something that runs beside the API for the app's lifetime (notifier, MQTT gateway…):
called with the app at start-up, it is entered then and exited at shutdown."""


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Start every background service in `app.state.background`, stop them in reverse."""
    async with AsyncExitStack() as stack:
        for service in app.state.background:
            await stack.enter_async_context(service(app))
        yield


def _media(store: Store, settings: Settings) -> MediaStore | None:
    """Where photos go: the configured directory, else the SQLite data directory's media/."""
    if settings.media_dir is not None:
        return MediaStore(settings.media_dir)
    data_dir = getattr(store, "data_dir", None)
    return MediaStore(Path(data_dir) / "media") if data_dir is not None else None


def create_app(store: Store, settings: Settings | None = None) -> Starlette:
    """The ASGI app serving the NGSI-LD API from `store`.

    Background services are appended to `app.state.background` before the app starts.
    """
    settings = settings or Settings()
    observed = Metrics(process=True)
    keys = ApiKeys(store.keys)
    app_routes = [
        Route("/version", version, methods=["GET"]),
        *auth.routes,
        *entities.routes,
        *batch.routes,
        *discovery.routes,
        *contexts.routes,
        *iot.routes,
        *subscriptions.routes,
        *temporal.routes,
        *governance.routes,
        *open311.routes,
        *citizens.routes,
        *rules.routes,
        *kpis.routes,
        *indicators.routes,
        *audit.routes,
        *openapi.routes,
        *web.routes,
        *basemap.routes,
        *citizen_pages.routes,
        *health.routes,
        *metrics.routes,
    ]
    authenticate = (
        [Middleware(auth.Authenticate, settings=settings.auth, keys=keys, routes=app_routes)]
        if settings.auth is not None
        else []
    )
    throttle = (
        [Middleware(RateLimiter, limit=settings.rate, principal_key=PRINCIPAL)]
        if settings.rate is not None
        else []
    )
    app = Starlette(
        lifespan=lifespan,
        routes=app_routes,
        middleware=[
            Middleware(StripTrailingSlash),
            Middleware(Observe, metrics=observed),
            Middleware(DecideTenant),
            *authenticate,
            *throttle,
            Middleware(RejectUnknownParameters),
        ],
        exception_handlers={
            NgsiError: ngsi_error,
            HTTPException: http_error,
            Exception: internal_error,
        },
    )
    app.state.keys = keys
    app.state.metrics = observed
    broker = Broker(store, metrics=observed)
    resolver = ContextResolver(
        contexts.stored_context_loader(store), limits=settings.context_limits
    )
    bus = make_bus(settings.events, observed)
    bus.attach(broker)
    notifier = Notifier(
        broker,
        resolver,
        settings.notify_policy,
        retry=settings.notify_retry,
        tls=settings.notify_tls,
        bus=bus,
        metrics=observed,
        max_streams=settings.max_streams,
    )
    app.state.bus = bus
    app.state.notifier = notifier
    app.state.background = [lambda _: bus.running(), lambda _: notifier.running()]
    app.state.background.append(metrics.loop_lag_service)
    app.state.background.append(temporal.start_retention)
    app.state.background.append(governance.escalation_service)
    cases = CaseService(broker, load_config(settings.governance), metrics=observed)
    cases.reexpand_stale()
    app.state.rules = RuleEngine(
        broker,
        resolver,
        open_case=cases.open_for_rule,
        notifier=notifier,
        bus=bus,
        metrics=observed,
    )
    app.state.rules_preload = []
    app.state.packs = {name: create_pack(name) for name in PACK_MODULES}
    app.state.background.append(rules.rules_service)
    app.state.background.append(indicators.live_indicators_service)
    desk = CitizenDesk(
        cases,
        _media(store, settings),
        DeskSettings(
            public_url=settings.public_url or "", max_photo_bytes=settings.max_photo_bytes
        ),
    )
    app.state.citizen_buckets = (
        TokenBuckets(settings.citizen_rate) if settings.citizen_rate is not None else None
    )
    if settings.smtp is not None:
        mailer = Mailer(store.citizens, settings.smtp, settings.notify_retry)
        desk.queued.append(mailer.kick)
        app.state.mailer = mailer
        app.state.background.append(lambda _: mailer.running())
    app.state.services = Services(
        broker=broker, contexts=resolver, settings=settings, cases=cases, desk=desk
    )
    return app
