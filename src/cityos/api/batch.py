"""/ngsi-ld/v1/entityOperations: batch create, upsert, update, merge, delete and query."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.broker import BatchError, BatchResult, utc_now
from cityos.context.errors import BadRequestData, NgsiError
from cityos.context.jsonld import JSON_LD, Terms
from cityos.context.normalize import BatchItem, check_text, parse_batch

from .entities import entity_list_response, restrict_types
from .http import (
    json_response,
    read_body,
    read_entity_body,
    request_terms,
    response_type,
    services,
    tenant_of,
    with_body,
)
from .params import options, query_from_body, view_from

OPERATIONS = "/ngsi-ld/v1/entityOperations"


async def read_batch_body(request: Request, needs: str, of: str = "") -> tuple[list[Any], str]:
    """A batch body: a non-empty JSON array within the broker's batch size."""
    body, media_type = await read_entity_body(request)
    if not isinstance(body, list) or not body:
        raise BadRequestData(f"{needs} a non-empty JSON array{of}.")
    limit = services(request).settings.max_batch
    if len(body) > limit:
        raise BadRequestData(
            f"A batch holds at most {limit} entities; this one has {len(body)} "
            "(cityos serve --max-batch)."
        )
    return body, media_type


async def read_batch_entities(request: Request) -> tuple[list[Any], str]:
    return await read_batch_body(request, "A batch operation needs")


async def read_batch_ids(request: Request) -> tuple[list[Any], str]:
    return await read_batch_body(request, "A batch delete needs", " of entity ids")


def parse_items(
    request: Request, body: list[Any], media_type: str, *, partial: bool = False
) -> list[BatchItem]:
    """Each entity of a batch body parsed on its own: one bad entity fails alone."""
    if any(not isinstance(item, dict) for item in body):
        raise BadRequestData("Every member of a batch must be an entity object.")
    if media_type == JSON_LD and request.headers.get("link"):
        raise BadRequestData("A JSON-LD body carries its @context: send no Link header too.")
    shared = None if media_type == JSON_LD else request_terms(request, body, media_type)
    return parse_batch(
        body,
        lambda raw: shared or request_terms(request, raw, media_type),
        utc_now(),
        partial=partial,
    )


def batch_response(
    request: Request, result: BatchResult, *, status: int, body: Any = None
) -> Response:
    """`status` on full success, else 207 with a BatchOperationResult."""
    if result.errors:
        payload = {
            "success": result.success,
            "errors": [
                {"entityId": e.entity_id, "error": e.error.problem()} for e in result.errors
            ],
        }
        return json_response(request, payload, services(request).contexts.core, status=207)
    if body is None:
        return Response(status_code=status)
    return json_response(request, body, services(request).contexts.core, status=status)


def batch_create(request: Request, body: Any, media_type: str) -> Response:
    items = parse_items(request, body, media_type)
    result = services(request).broker.batch_create(tenant_of(request), items)
    return batch_response(request, result, status=201, body=result.success)


def batch_upsert(request: Request, body: Any, media_type: str) -> Response:
    opts = options(request.query_params)
    if {"update", "replace"} <= opts:
        raise BadRequestData("options can be update or replace, not both.")
    items = parse_items(request, body, media_type)
    result, created = services(request).broker.batch_upsert(
        tenant_of(request), items, replace="update" not in opts
    )
    new_ids = [entity_id for entity_id in result.success if entity_id in created]
    if new_ids:
        return batch_response(request, result, status=201, body=new_ids)
    return batch_response(request, result, status=204)


def batch_update(request: Request, body: Any, media_type: str) -> Response:
    no_overwrite = "noOverwrite" in options(request.query_params)
    items = parse_items(request, body, media_type)
    result = services(request).broker.batch_update(
        tenant_of(request), items, no_overwrite=no_overwrite
    )
    return batch_response(request, result, status=204)


def batch_merge(request: Request, body: Any, media_type: str) -> Response:
    items = parse_items(request, body, media_type, partial=True)
    broker, tenant = services(request).broker, tenant_of(request)
    result = BatchResult()
    for entity_id, item in items:
        try:
            if isinstance(item, NgsiError):
                raise item
            broker.merge(tenant, item.id, item)
            result.success.append(item.id)
        except NgsiError as error:
            result.errors.append(BatchError(entity_id, error))
    return batch_response(request, result, status=204)


def batch_delete(request: Request, body: Any, media_type: str) -> Response:
    result = services(request).broker.batch_delete(tenant_of(request), body)
    return batch_response(request, result, status=204)


def batch_query(request: Request, body: Any, media_type: str) -> Response:
    svc = services(request)
    terms: Terms = request_terms(request, body, media_type)
    query = query_from_body(body, terms, request.query_params, svc.settings)
    restrict_types(request, query)
    result = svc.broker.query(tenant_of(request), query)
    view_params = dict(request.query_params)
    if isinstance(body, dict):
        for key in ("attrs", "lang"):
            if isinstance(body.get(key), list):
                view_params[key] = ",".join(check_text(item, key) for item in body[key])
            elif isinstance(body.get(key), str):
                view_params[key] = body[key]
    view = view_from(view_params, terms, services(request).settings)
    return entity_list_response(request, result, terms, view, response_type(request, geo=True))


routes = [
    Route(OPERATIONS + "/create", with_body(read_batch_entities, batch_create), methods=["POST"]),
    Route(OPERATIONS + "/upsert", with_body(read_batch_entities, batch_upsert), methods=["POST"]),
    Route(OPERATIONS + "/update", with_body(read_batch_entities, batch_update), methods=["POST"]),
    Route(OPERATIONS + "/merge", with_body(read_batch_entities, batch_merge), methods=["POST"]),
    Route(OPERATIONS + "/delete", with_body(read_batch_ids, batch_delete), methods=["POST"]),
    Route(OPERATIONS + "/query", with_body(read_body, batch_query), methods=["POST"]),
]
