"""/ngsi-ld/v1/jsonldContexts: the @context documents this broker keeps and serves (5.13).

A posted context belongs to the request's tenant: another tenant neither lists, reads nor
deletes it. The core context is everyone's, and read-only. The @context resolver still
finds a hosted context by its URL from any tenant (a body naming it as its @context):
that URL holds a random id, and the resolver's cache is the process's.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.broker import utc_now
from cityos.context.errors import BadRequestData, InvalidRequest, ResourceNotFound
from cityos.context.jsonld import CORE_CONTEXT_URL, core_context_document
from cityos.store.base import StoredContext

from .http import flag, plain_json, public_url, read_body, services, tenant_of, with_body

CONTEXTS = "/ngsi-ld/v1/jsonldContexts"
CORE_ID = "ngsi-ld-core-context"
KINDS = ("Hosted", "Cached", "ImplicitlyCreated")


def add_context(request: Request, body: Any, media_type: str) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("@context"), dict | list | str):
        raise InvalidRequest('Post a JSON-LD context document: {"@context": {...}}.')
    svc = services(request)
    svc.contexts.resolve(body["@context"])  # refuse what cannot be used before keeping it
    context_id = str(uuid4())
    url = public_url(request) + f"{CONTEXTS}/{context_id}"
    kept = StoredContext(context_id, url, "Hosted", body, utc_now(), tenant=tenant_of(request))
    svc.broker.store.put_context(kept)
    return Response(status_code=201, headers={"Location": f"{CONTEXTS}/{context_id}"})


def _details(context: StoredContext) -> dict[str, Any]:
    return {
        "URL": context.url,
        "localId": context.id,
        "kind": context.kind,
        "createdAt": context.created_at,
        **({"lastUsage": context.last_usage} if context.last_usage else {}),
        "numberOfHits": context.hits,
    }


def list_contexts(request: Request) -> Response:
    kind = request.query_params.get("kind")
    if kind is not None and kind not in KINDS:
        raise BadRequestData(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    contexts = [
        c
        for c in services(request).broker.store.list_contexts(tenant_of(request))
        if kind in (None, c.kind)
    ]
    core = StoredContext(CORE_ID, CORE_CONTEXT_URL, "Cached", {}, "1970-01-01T00:00:00Z")
    if kind in (None, "Cached"):
        contexts.insert(0, core)
    if flag(request, "details"):
        return plain_json([_details(c) for c in contexts])
    return plain_json([c.url for c in contexts])


def serve_context(request: Request) -> Response:
    context_id = request.path_params["context_id"]
    if context_id in (CORE_ID, CORE_CONTEXT_URL):
        return plain_json(core_context_document())
    context = services(request).broker.store.get_context(context_id, tenant_of(request))
    if context is None:
        raise ResourceNotFound(f"No @context {context_id} is kept here.")
    if flag(request, "details"):
        return plain_json(_details(context))
    return plain_json(context.body)


def delete_context(request: Request) -> Response:
    context_id = request.path_params["context_id"]
    if flag(request, "reload"):
        raise BadRequestData("cityos never fetches contexts, so none can be reloaded.")
    if context_id in (CORE_ID, CORE_CONTEXT_URL):
        raise BadRequestData("The core @context cannot be deleted.")
    svc = services(request)
    tenant = tenant_of(request)
    context = svc.broker.store.get_context(context_id, tenant)
    if context is None:
        raise ResourceNotFound(f"No @context {context_id} is kept here.")
    svc.broker.store.delete_context(context_id, tenant)
    svc.contexts.forget(context.url)
    return Response(status_code=204)


def stored_context_loader(store: Any) -> Any:
    """The resolver's way to find contexts this broker keeps, by URL or by local id."""

    def load(url: str) -> dict[str, Any] | None:
        context = store.get_context(url)
        if context is None and f"{CONTEXTS}/" in url:
            context = store.get_context(url.rsplit("/", 1)[-1])
        if context is None:
            return None
        document: dict[str, Any] = context.body
        return document

    return load


routes = [
    Route(CONTEXTS, list_contexts, methods=["GET"]),
    Route(CONTEXTS, with_body(read_body, add_context), methods=["POST"]),
    Route(CONTEXTS + "/{context_id:path}", serve_context, methods=["GET"]),
    Route(CONTEXTS + "/{context_id:path}", delete_context, methods=["DELETE"]),
]
