"""Every request observed: a request id, one access line, the HTTP metrics.

The middleware sits right after StripTrailingSlash, so it sees every response the app
gives (those the parameter check refuses before routing included) and the scope the
router writes the matched route into. Routes are labelled by their template
(`/ngsi-ld/v1/entities/{entityId}`), never by the raw path, so the metrics' label sets stay
bounded whatever clients ask for.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityos import logs
from cityos.metrics import Metrics

from .http import TENANCY

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
"""An incoming X-Request-Id is kept when it is this short and plain; else a new one."""
UNMATCHED = "(unmatched)"
"""The route label of a request no route takes (a 404)."""
METHODS = frozenset(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
QUIET = ("/health", "/metrics")
"""Paths probed every few seconds: their access lines are logged at DEBUG."""

log = logging.getLogger("cityos.access")

_PROCESS = uuid.uuid4().hex[:16]
_COUNTER = itertools.count(1)


def new_id() -> str:
    """32 hex digits: a random half per process, a counter for the other. Unique across
    instances without the cost of a random number per request."""
    return f"{_PROCESS}{next(_COUNTER):016x}"


def incoming_id(scope: Scope) -> str:
    """The request's X-Request-Id when it is safe to log and echo, else a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            text: str = value.decode("latin-1")
            if _SAFE_ID.fullmatch(text):
                return text
            break
    return new_id()


class Observe:
    """Request id (incoming or made, echoed in X-Request-Id, on every log record made
    while handling the request), an access line at the end, and the request counted."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}
        """The metrics' children by label values (bounded: templates, methods, statuses),
        looked up without the lock and label checks of `labels()` on every request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope)
        token = logs.request_id.set(rid)
        header = (REQUEST_ID_HEADER, rid.encode("latin-1"))
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self.observed(scope, status, time.perf_counter() - started)
        # Reset only on the way out of a normal answer: when the app raised, the error
        # handler outside this middleware logs it next and must see the request id (the
        # server runs every request in a task, and so a context, of its own).
        logs.request_id.reset(token)

    def observed(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = route_template(scope, status)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self.metrics.http_requests.labels(method, route, str(status))
            self._counters[(method, route, status)] = counter
        counter.inc()
        latency = self._latencies.get((method, route))
        if latency is None:
            latency = self._latencies[(method, route)] = self.metrics.http_duration.labels(
                method, route
            )
        latency.observe(seconds)
        level = logging.DEBUG if scope.get("path", "").startswith(QUIET) else logging.INFO
        if log.isEnabledFor(level):
            ms = round(seconds * 1000, 2)
            fields = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": ms,
                "tenant": _tenant(scope),
            }
            args = (method, route, status, ms)
            # made here rather than by log.info: no walk up the stack for the caller's line
            record = log.makeRecord(log.name, level, __file__, 0, "%s %s %d %.1f ms", args, None)
            record.__dict__.update(fields, clean=True)
            log.handle(record)


def route_template(scope: Scope, status: int) -> str:
    """The template of the route that took the request (the router notes it in the scope);
    for a request refused before routing, the one that would have taken it."""
    route: Any = scope.get("route")
    if route is None and status != 404 and "app" in scope:
        for candidate in scope["app"].router.routes:
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                route = candidate
                break
    if route is None:
        return UNMATCHED
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED


def _tenant(scope: Scope) -> str | None:
    """The tenant api/tenancy.py decided; None for a request refused before that."""
    decided = scope.get(TENANCY)
    return decided.tenant if decided is not None else None
