"""/ngsi-ld/v1/temporal: the history of entities, queried, aggregated and edited (5.6.11-5.7.4).

Queries read the history the store records on every committed change. The write
operations here edit that history directly and leave the current entity alone, as the
specification has it: they add instances, correct or delete single instances, or forget
an attribute's or an entity's history.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.broker import utc_now
from cityos.context.errors import BadRequestData, ResourceNotFound
from cityos.context.jsonld import Terms
from cityos.context.normalize import check_uri
from cityos.context.render import NORMALIZED, View
from cityos.context.temporal import (
    AGGREGATED_VALUES,
    TEMPORAL_VALUES,
    parse_aggregation,
    parse_interval,
    parse_last_n,
    parse_temporal_entity,
    render_temporal,
)
from cityos.store.base import EntityQuery, QueryResult
from cityos.store.history import HistoryStore, TemporalQuery, TemporalResult

from . import background, entities
from .http import (
    Settings,
    flag,
    json_response,
    read_body,
    read_entity_body,
    request_terms,
    response_type,
    services,
    tenant_of,
    visibility_of,
    with_body,
)
from .params import entity_query, options, query_from_body, view_from

TEMPORAL = "/ngsi-ld/v1/temporal/entities"
QUERY = "/ngsi-ld/v1/temporal/entityOperations/query"
RETENTION_INTERVAL_S = 3600.0
"""How often `start_retention` prunes the history."""

log = logging.getLogger("cityos.api.temporal")


def history(request: Request) -> HistoryStore:
    return services(request).broker.store.history


def representation(opts: set[str], view: View, aggregated: bool = False) -> str:
    """normalized, temporalValues (also for keyValues/simplified) or aggregatedValues."""
    if "temporalValues" in opts and ("aggregatedValues" in opts or aggregated):
        raise BadRequestData("options temporalValues and aggregatedValues exclude each other.")
    if "aggregatedValues" in opts or aggregated:
        return AGGREGATED_VALUES
    if "temporalValues" in opts or view.format != NORMALIZED:
        return TEMPORAL_VALUES
    return NORMALIZED


def temporal_query(
    params: Mapping[str, Any],
    terms: Terms,
    settings: Settings,
    body: tuple[EntityQuery, Mapping[str, Any], Mapping[str, Any] | None] | None = None,
) -> tuple[TemporalQuery, View, str]:
    """The query, view and representation of a temporal query.

    `body` holds what a Query body says: the entity selection, temporalQ and aggrParams;
    without it they are all read from the URL parameters.
    """
    selection, temporal, aggregation = body or (entity_query(params, terms, settings), None, None)
    fmt = params.get("format")
    options(params)  # unknown options are refused even when format takes precedence
    if fmt in (TEMPORAL_VALUES, AGGREGATED_VALUES):
        # format names the temporal representation and takes precedence over options (6.3.12).
        params = {k: v for k, v in params.items() if k not in ("format", "options")}
    view = view_from(params, terms, settings)
    if view.linked:
        raise BadRequestData("The temporal API has no Linked Entity retrieval: pick/omit a{b}.")
    opts = options(params)
    aggr = aggregation if aggregation is not None else params
    if fmt == TEMPORAL_VALUES:
        opts, aggregation, aggr = {"temporalValues"}, None, {}
    elif fmt == AGGREGATED_VALUES:
        opts = {"aggregatedValues"}
    kind = representation(opts, view, aggregated=aggregation is not None)
    if kind != AGGREGATED_VALUES and aggr.get("aggrMethods") is not None:
        raise BadRequestData("aggrMethods needs options=aggregatedValues.")
    time_params = temporal if temporal is not None else params
    query = TemporalQuery(
        entities=selection,
        interval=parse_interval(time_params),
        last_n=parse_last_n(time_params.get("lastN")),
        datasets=view.datasets,
        aggregation=(
            parse_aggregation(aggr.get("aggrMethods"), aggr.get("aggrPeriodDuration"))
            if kind == AGGREGATED_VALUES
            else None
        ),
    )
    return query, replace(view, format=NORMALIZED), kind


def temporal_response(
    request: Request, result: TemporalResult, query: TemporalQuery, view: View, kind: str
) -> Response:
    terms = request_terms(request)
    headers = {}
    if result.count is not None:
        headers["NGSILD-Results-Count"] = str(result.count)
    pages = entities.page_links(request, QueryResult([], more=result.more))
    if pages and request.method == "GET":
        headers["Link"] = pages
    timeproperty = query.interval.timeproperty
    body = [render_temporal(item, terms, view, kind, timeproperty) for item in result.entities]
    return json_response(request, body, terms, media_type=response_type(request), headers=headers)


def query_temporal(request: Request) -> Response:
    svc = services(request)
    tenant = tenant_of(request)
    query, view, kind = temporal_query(request.query_params, request_terms(request), svc.settings)
    svc.broker.require_tenant(tenant)
    visibility_of(request).narrow(query.entities)
    result = history(request).query(tenant, query)
    return temporal_response(request, result, query, view, kind)


def query_temporal_post(request: Request, body: Any, media_type: str) -> Response:
    """POST /temporal/entityOperations/query: a Query with temporalQ (and aggrParams)."""
    svc = services(request)
    terms = request_terms(request, body, media_type)
    entity_part = query_from_body(body, terms, request.query_params, svc.settings)
    temporal = _object(body.get("temporalQ"), "temporalQ")
    aggregation = body.get("aggrParams")
    if aggregation is None and temporal.get("aggrMethods") is not None:
        aggregation = temporal
    aggr = None if aggregation is None else _object(aggregation, "aggrParams")
    query, view, kind = temporal_query(
        request.query_params, terms, svc.settings, (entity_part, temporal, aggr)
    )
    tenant = tenant_of(request)
    svc.broker.require_tenant(tenant)
    visibility_of(request).narrow(query.entities)
    result = history(request).query(tenant, query)
    return temporal_response(request, result, query, view, kind)


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequestData(f"{what} must be a JSON object.")
    return value


def retrieve_temporal(request: Request) -> Response:
    svc = services(request)
    tenant = tenant_of(request)
    entity_id = check_uri(request.path_params["entity_id"], "The entity id")
    params = {**request.query_params, "id": entity_id}
    query, view, kind = temporal_query(params, request_terms(request), svc.settings)
    query.entities.limit, query.entities.offset, query.entities.count = 1, 0, False
    query.with_empty = True
    svc.broker.require_tenant(tenant)
    visibility_of(request).narrow(query.entities)
    result = history(request).query(tenant, query)
    if not result.entities:
        raise ResourceNotFound(f"Entity {entity_id} has no temporal representation.")
    found = result.entities[0]
    if view.attrs is not None and not found.entity.attrs and not found.aggregates:
        raise ResourceNotFound(f"Entity {entity_id} has none of the attributes asked for.")
    terms = request_terms(request)
    body = render_temporal(found, terms, view, kind, query.interval.timeproperty)
    if not body:
        raise ResourceNotFound(f"Nothing of entity {entity_id} is left by pick/omit.")
    return json_response(request, body, terms, media_type=response_type(request))


# -- writes ------------------------------------------------------------------------------


def path_attr(request: Request, terms: Terms) -> str:
    """The attribute of the path; `.` and `..` (however percent-encoded) are no names (4.6.2).

    A dot segment would address another resource once a proxy resolves the path: `..`
    turns Delete Attribute into Delete Temporal Evolution.
    """
    name = request.path_params["attr"]
    decoded = name
    for _ in range(3):
        decoded = unquote(decoded)
    if decoded in (".", ".."):
        raise BadRequestData(f"Attribute name {name!r} is a dot segment, not a valid name.")
    return entities.path_attr(request, terms)


def path_instance(request: Request) -> str:
    return check_uri(request.path_params["instance_id"], "The instanceId")


def missing_path_part(request: Request) -> Response:
    """An empty entity id or attribute name in the path (`entities//attrs`): 400, not 404."""
    what = "entity id" if "/entities//" in request.url.path else "attribute name"
    raise BadRequestData(f"The {what} is missing from the path.")


def create_temporal(request: Request, body: Any, media_type: str) -> Response:
    """201 with Location for a new temporal entity, 204 when instances were added to one."""
    terms = request_terms(request, body, media_type)
    entity = parse_temporal_entity(body, terms, utc_now())
    if not history(request).add(tenant_of(request), entity):
        return Response(status_code=204)
    location = f"{TEMPORAL}/{quote(entity.id, safe=entities.URI_SAFE)}"
    return Response(status_code=201, headers={"Location": location})


def delete_temporal(request: Request) -> Response:
    entity_id = check_uri(request.path_params["entity_id"], "The entity id")
    if not history(request).delete_entity(tenant_of(request), entity_id):
        raise ResourceNotFound(f"Entity {entity_id} has no temporal representation.")
    return Response(status_code=204)


def append_temporal(request: Request, body: Any, media_type: str) -> Response:
    entity_id = check_uri(request.path_params["entity_id"], "The entity id")
    terms = request_terms(request, body, media_type)
    if not isinstance(body, dict) or body.get("id", entity_id) != entity_id:
        raise BadRequestData("The body must be a JSON object about the entity of the path.")
    fragment = parse_temporal_entity({**body, "id": entity_id}, terms, utc_now(), partial=True)
    if not fragment.attrs:
        raise BadRequestData("The body holds no attribute instances.")
    if not history(request).append(tenant_of(request), entity_id, fragment.attrs):
        raise ResourceNotFound(f"Entity {entity_id} has no temporal representation.")
    return Response(status_code=204)


def delete_temporal_attr(request: Request) -> Response:
    entity_id = check_uri(request.path_params["entity_id"], "The entity id")
    terms = request_terms(request)
    attr = path_attr(request, terms)
    dataset_id = request.query_params.get("datasetId")
    if dataset_id is not None:
        check_uri(dataset_id, "datasetId")
    deleted = history(request).delete_attribute(
        tenant_of(request),
        entity_id,
        attr,
        None if dataset_id == "@none" else dataset_id,
        flag(request, "deleteAll"),
    )
    if not deleted:
        raise ResourceNotFound(f"Entity {entity_id} has no history of that attribute.")
    return Response(status_code=204)


def update_temporal_instance(request: Request, body: Any, media_type: str) -> Response:
    entity_id = check_uri(request.path_params["entity_id"], "The entity id")
    terms = request_terms(request, body, media_type)
    attr = path_attr(request, terms)
    fragment = entities.instance_fragment(request, body, terms)
    fragment["modifiedAt"] = utc_now()
    if "instanceId" in body:
        raise BadRequestData("The instanceId is named by the path and cannot change.")
    instance_id = path_instance(request)
    if not history(request).update_instance(
        tenant_of(request), entity_id, attr, instance_id, fragment
    ):
        raise ResourceNotFound(f"No instance {instance_id} of that attribute of {entity_id}.")
    return Response(status_code=204)


def delete_temporal_instance(request: Request) -> Response:
    entity_id = check_uri(request.path_params["entity_id"], "The entity id")
    attr = path_attr(request, request_terms(request))
    instance_id = path_instance(request)
    if not history(request).delete_instance(tenant_of(request), entity_id, attr, instance_id):
        raise ResourceNotFound(f"No instance {instance_id} of that attribute of {entity_id}.")
    return Response(status_code=204)


# -- retention ---------------------------------------------------------------------------


@asynccontextmanager
async def start_retention(app: Starlette) -> AsyncIterator[None]:
    """Prune the history by each tenant's retention at start-up, then every hour.

    A background service of the app (app.state.background); pruning runs in a thread, in
    batches, so requests are served meanwhile.
    """
    store: HistoryStore = app.state.services.broker.store.history

    async def prune_forever() -> None:
        while True:
            try:
                deleted = await asyncio.to_thread(store.apply_retention, int(time.time() * 1000))
                if deleted:
                    log.info("Retention pruned %d history instances.", deleted)
            except Exception:
                log.exception("Pruning the history failed; trying again later.")
            await asyncio.sleep(RETENTION_INTERVAL_S)

    async with background.running(prune_forever(), "history-retention"):
        yield


ALL_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]

routes = [
    Route(TEMPORAL + "//{rest:path}", missing_path_part, methods=ALL_METHODS),
    Route(TEMPORAL + "/{entity_id}/attrs//{rest:path}", missing_path_part, methods=ALL_METHODS),
    Route(TEMPORAL, query_temporal, methods=["GET"]),
    Route(TEMPORAL, with_body(read_entity_body, create_temporal), methods=["POST"]),
    Route(QUERY, with_body(read_body, query_temporal_post), methods=["POST"]),
    Route(TEMPORAL + "/{entity_id}", retrieve_temporal, methods=["GET"]),
    Route(TEMPORAL + "/{entity_id}", delete_temporal, methods=["DELETE"]),
    Route(
        TEMPORAL + "/{entity_id}/attrs",
        with_body(read_entity_body, append_temporal),
        methods=["POST"],
    ),
    Route(TEMPORAL + "/{entity_id}/attrs/{attr}", delete_temporal_attr, methods=["DELETE"]),
    Route(
        TEMPORAL + "/{entity_id}/attrs/{attr}/{instance_id}",
        with_body(read_body, update_temporal_instance),
        methods=["PATCH"],
    ),
    Route(
        TEMPORAL + "/{entity_id}/attrs/{attr}/{instance_id}",
        delete_temporal_instance,
        methods=["DELETE"],
    ),
]
