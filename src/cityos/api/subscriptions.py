"""`/ngsi-ld/v1/subscriptions`: create, read, change and delete subscriptions, and follow
one live as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from cityos.audit import record
from cityos.auth.principal import RoleKind
from cityos.auth.visibility import Visibility
from cityos.context.broker import utc_now
from cityos.context.errors import (
    AlreadyExists,
    Forbidden,
    LimitExceeded,
    ResourceNotFound,
    ServiceUnavailable,
)
from cityos.context.jsonld import JSON, JSON_LD, Terms
from cityos.context.linked import Lookup
from cityos.context.normalize import check_uri
from cityos.events.notifier import Notifier
from cityos.events.subscription import (
    STREAM_URI,
    compile_subscription,
    credentials,
    merge_fragment,
    render_subscription,
    validate_subscription,
)
from cityos.governance.entity import CASE_TYPE
from cityos.store.base import QueryResult
from cityos.store.subscriptions import StoredSubscription

from .entities import page_links
from .http import (
    MERGE_PATCH,
    json_response,
    principal_of,
    read_body,
    request_terms,
    response_type,
    services,
    tenant_of,
    visibility_of,
)
from .params import page

SUBSCRIPTIONS = "/ngsi-ld/v1/subscriptions"
HEARTBEAT_S = 15.0
"""A comment line this often keeps proxies from closing an idle event stream."""


def notifier(request: Request) -> Notifier:
    found: Notifier = request.app.state.notifier
    return found


def _subscription_id(request: Request) -> str:
    return check_uri(request.path_params["subscription_id"], "The subscription id")


def _stored(request: Request, tenant: str) -> StoredSubscription:
    sub_id = _subscription_id(request)
    stored = notifier(request).store.get_subscription(tenant, sub_id)
    if stored is None:
        raise ResourceNotFound(f"No subscription {sub_id}.")
    return stored


def _check_visible(request: Request, doc: dict[str, Any], terms: Terms) -> None:
    """A principal that must not see some cases may not have them notified elsewhere: its
    subscriptions that can match cases notify the stream only, which filters what it sends
    (`_seen`). Checked where subscriptions are made and changed."""
    sees = visibility_of(request)
    if sees.departments is None or doc["notification"]["endpoint"]["uri"] == STREAM_URI:
        return
    selectors = compile_subscription("", doc, terms).selectors
    types = {t for s in selectors for group in s.types for t in group} if selectors else None
    if sees.may_match_cases(types):
        raise Forbidden(
            "Your roles see only your department's cases: a subscription that can match Case "
            f"entities notifies the stream ({STREAM_URI}) only, which leaves the others out."
        )


def _seen(body: bytes, sees: Visibility, lookup: Lookup) -> bytes | None:
    """A stream notification with what `sees` does not see left out; None when nothing is
    left. An entity gone since (deleted) is left out when it was a case."""
    if sees.departments is None:
        return body
    notification = orjson.loads(body)
    items = notification.get("data") or []
    found = lookup([i["id"] for i in items if isinstance(i.get("id"), str)])
    kept = [
        item
        for item in items
        if (item.get("id") in found and sees.sees(found[item["id"]]))
        or (item.get("id") not in found and item.get("type") not in ("Case", CASE_TYPE))
    ]
    if not kept:
        return None
    if len(kept) == len(items):
        return body
    notification["data"] = kept
    return orjson.dumps(notification)


def _rendered(request: Request, stored: StoredSubscription, terms: Terms) -> dict[str, Any]:
    found = notifier(request)
    stored.status, sub = found.current(stored)
    return render_subscription(stored, sub, found.clock(), terms)


def _check_jsonld_context(request: Request, doc: dict[str, Any]) -> None:
    """jsonldContext must be a @context the broker has (else 504 LdContextNotAvailable):
    cityos never fetches one, and notifications are compacted with it."""
    if "jsonldContext" in doc:
        notifier(request).resolver.resolve(doc["jsonldContext"])


def _check_quota(request: Request, tenant: str) -> None:
    """A tenant holds at most `max_subscriptions` (LimitExceeded, 403: see errors.py)."""
    limit = services(request).settings.max_subscriptions
    held = len(notifier(request).store.list_subscriptions(tenant))
    if held >= limit:
        raise LimitExceeded(
            f"This tenant holds {held} subscriptions, the most it may "
            f"(cityos serve --max-subscriptions is {limit}): delete one first."
        )


def _check_credentials(
    request: Request, doc: dict[str, Any], stored: StoredSubscription | None = None
) -> None:
    """receiverInfo may hand the receiver credentials (Authorization, Cookie, Proxy-*) only
    when an admin says so: anyone else who may subscribe could otherwise make the broker carry
    a credential of their choosing, or read back one an admin set. Credentials an admin set
    and a change leaves as they were stay."""
    principal = principal_of(request)
    if principal is None or principal.has(RoleKind.ADMIN):
        return
    before = credentials(stored.doc) if stored is not None else []
    after = credentials(doc)
    if after != before:
        names = sorted({name for name, _ in after + before})
        raise Forbidden(
            f"Only an admin may set receiverInfo {', '.join(names)}: credentials for the "
            "receiver (Authorization, Cookie, Proxy-*) are configured by an administrator."
        )


def _audit(
    request: Request, verb: str, stored: StoredSubscription, changed: list[str] | None = None
) -> None:
    """The change in the audit log: what the subscription watches and where it notifies
    (the endpoint's host only: its URL may carry credentials)."""
    doc = stored.doc
    endpoint = urlsplit(str(doc.get("notification", {}).get("endpoint", {}).get("uri", "")))
    detail: dict[str, Any] = {
        "entities": [e.get("type") for e in doc.get("entities", []) if isinstance(e, dict)],
        "endpoint": f"{endpoint.scheme}://{endpoint.hostname or ''}",
    }
    if changed is not None:
        detail["changed"] = changed
    record(
        notifier(request).broker.store.audit,
        f"subscription.{verb}",
        stored.tenant,
        stored.id,
        detail,
    )


async def create_subscription(request: Request) -> Response:
    found = notifier(request)
    body, media_type = await read_body(request)
    terms = request_terms(request, body, media_type)
    doc = validate_subscription(body, terms, now=found.clock())
    _check_credentials(request, doc)
    _check_jsonld_context(request, doc)
    found.policy.check(doc["notification"]["endpoint"]["uri"], unresolved_ok=True)
    _check_visible(request, doc, terms)
    tenant = tenant_of(request)
    if found.store.get_subscription(tenant, doc["id"]) is not None:
        raise AlreadyExists(f"Subscription {doc['id']} already exists.")
    _check_quota(request, tenant)
    now = utc_now()
    stored = StoredSubscription(tenant, doc["id"], doc, terms.source, now, now)
    found.store.put_subscription(stored)
    found.activate(stored)
    _audit(request, "create", stored)
    await found.bus.settled()  # other instances serve it before the client hears of it
    return Response(status_code=201, headers={"Location": f"{SUBSCRIPTIONS}/{doc['id']}"})


def list_subscriptions(request: Request) -> Response:
    limit, offset, count = page(request.query_params, services(request).settings)
    everything = notifier(request).store.list_subscriptions(tenant_of(request))
    chosen = everything[offset : offset + limit]
    result = QueryResult([], len(everything) if count else None, offset + limit < len(everything))
    headers = {}
    if result.count is not None:
        headers["NGSILD-Results-Count"] = str(result.count)
    media_type = response_type(request)
    links = page_links(request, result, media_type)
    if links:
        headers["Link"] = links
    terms = request_terms(request)
    body = [_rendered(request, stored, terms) for stored in chosen]
    return json_response(request, body, terms, media_type=media_type, headers=headers)


def retrieve_subscription(request: Request) -> Response:
    media_type = response_type(request)  # 406 before 404, as for entities
    stored = _stored(request, tenant_of(request))
    terms = request_terms(request)
    return json_response(request, _rendered(request, stored, terms), terms, media_type=media_type)


async def update_subscription(request: Request) -> Response:
    found = notifier(request)
    tenant = tenant_of(request)
    # 415 before 404; a fragment may also come as JSON Merge Patch (6.3.4), read as JSON
    body, media_type = await read_body(request, allowed=(JSON, JSON_LD, MERGE_PATCH))
    media_type = JSON if media_type == MERGE_PATCH else media_type
    stored = _stored(request, tenant)
    terms = request_terms(request, body, media_type)
    if media_type == JSON_LD or request.headers.get("link"):
        stored.context = terms.source  # names in the fragment are read with its @context
    doc = merge_fragment(stored, body, found.resolver.resolve(stored.context), now=found.clock())
    _check_credentials(request, doc, stored)
    _check_jsonld_context(request, doc)
    found.policy.check(doc["notification"]["endpoint"]["uri"], unresolved_ok=True)
    _check_visible(request, doc, found.resolver.resolve(stored.context))
    stored.doc = doc
    stored.modified_at = utc_now()
    found.store.put_subscription(stored)
    found.activate(stored)
    _audit(request, "update", stored, sorted(body) if isinstance(body, dict) else [])
    await found.bus.settled()
    return Response(status_code=204)


async def delete_subscription(request: Request) -> Response:
    found = notifier(request)
    tenant = tenant_of(request)
    sub_id = _subscription_id(request)
    if not found.store.delete_subscription(tenant, sub_id):
        raise ResourceNotFound(f"No subscription {sub_id}.")
    found.deactivate(tenant, sub_id)
    record(found.broker.store.audit, "subscription.delete", tenant, sub_id)
    await found.bus.settled()
    return Response(status_code=204)


async def stream_subscription(request: Request) -> Response:
    """Server-Sent Events: each notification of the subscription as an `event: notification`.

    Browsers' EventSource cannot send headers, so the tenant may come as `?tenant=`.
    """
    found = notifier(request)
    tenant = tenant_of(request)
    stored = _stored(request, tenant)
    sees, broker = visibility_of(request), found.broker
    # joined here, before any await: a burst of requests cannot all pass the limit
    listener = found.streams.join(tenant, stored.id)
    if listener is None:
        raise ServiceUnavailable(
            f"This instance serves {found.streams.most} live streams already, the most it may "
            "(cityos serve --max-streams): try again later.",
            retry_after=int(HEARTBEAT_S),
        )

    async def events() -> AsyncIterator[bytes]:
        yield b": stream of " + stored.id.encode() + b"\n\n"
        while True:
            try:
                body = await asyncio.wait_for(listener.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if not body:  # the subscription was deleted
                yield b"event: end\ndata: {}\n\n"
                return
            # A department's stream reads the store to filter: on a worker thread, not the loop.
            shown = (
                body
                if sees.departments is None
                else await asyncio.to_thread(
                    _seen, body, sees, lambda ids: broker.entities(tenant, ids)
                )
            )
            if shown is not None:
                yield b"event: notification\ndata: " + shown + b"\n\n"

    return _Stream(events(), lambda: found.streams.leave(tenant, stored.id, listener))


class _Stream(StreamingResponse):
    """An event stream that leaves its hub however the response ends, sent or not."""

    def __init__(self, events: AsyncIterator[bytes], leave: Callable[[], None]) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._leave = leave

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._leave()


routes = [
    Route(SUBSCRIPTIONS, create_subscription, methods=["POST"]),
    Route(SUBSCRIPTIONS, list_subscriptions, methods=["GET"]),
    Route(f"{SUBSCRIPTIONS}/{{subscription_id}}/stream", stream_subscription, methods=["GET"]),
    Route(f"{SUBSCRIPTIONS}/{{subscription_id}}", retrieve_subscription, methods=["GET"]),
    Route(f"{SUBSCRIPTIONS}/{{subscription_id}}", update_subscription, methods=["PATCH"]),
    Route(f"{SUBSCRIPTIONS}/{{subscription_id}}", delete_subscription, methods=["DELETE"]),
]
