"""/ngsi-ld/v1/entities: create, retrieve, query, replace, merge, delete, and attributes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.broker import UpdateResult, entity_not_found, utc_now
from cityos.context.entity import SCOPE, VALUE_KEY_BY_TYPE, Entity
from cityos.context.errors import BadRequestData, InvalidRequest, ResourceNotFound
from cityos.context.jsonld import GEO_JSON, JSON, JSON_LD, Terms
from cityos.context.linked import INLINE, Lookup, render_joined
from cityos.context.normalize import check_name, check_uri, parse_entity, parse_instances
from cityos.context.query import expand_types, parse_type_expr
from cityos.context.render import (
    DEFAULT_GEOPROPERTY,
    View,
    feature_collection,
    render_entity,
    render_feature,
)
from cityos.store.base import EntityQuery, QueryResult

from .http import (
    MERGE_PATCH,
    flag,
    json_response,
    link_context,
    read_body,
    read_entity_body,
    request_terms,
    response_type,
    services,
    tenant_of,
    visibility_of,
    with_body,
)
from .params import entity_query, join_from, options, view_from

ENTITIES = "/ngsi-ld/v1/entities"
URI_SAFE = ":/?#[]@!$&'()*+,;=-._~"


def restrict_types(request: Request, query: EntityQuery) -> None:
    """Narrow `query` to what the caller sees (auth/visibility.py): the rest stays invisible."""
    visibility_of(request).narrow(query)


def check_readable(request: Request, entity: Entity) -> None:
    if not visibility_of(request).sees(entity):
        raise entity_not_found(entity.id)


def path_id(request: Request) -> str:
    """The entity id of the path; with `?type=`, the entity must also be of that type."""
    entity_id = check_uri(request.path_params["entity_id"], "The entity id")
    selector = request.query_params.get("type")
    if selector is not None:
        terms = services(request).contexts.resolve(link_context(request))
        groups = expand_types(parse_type_expr(selector), terms.expand)
        entity = services(request).broker.retrieve(tenant_of(request), entity_id)
        check_readable(request, entity)  # a hidden entity is absent, whatever its type
        if not any(all(t in entity.types for t in group) for group in groups):
            raise ResourceNotFound(f"Entity {entity_id} is not of type {selector}.")
    return entity_id


def path_attr(request: Request, terms: Terms, *, scope_allowed: bool = False) -> str:
    attr = terms.expand(check_name(request.path_params["attr"]))
    if attr == SCOPE and not scope_allowed:
        raise BadRequestData("scope is an entity member: change it with PATCH .../attrs.")
    return attr


def create_entity(request: Request, body: Any, media_type: str) -> Response:
    if body == {}:
        raise InvalidRequest("The body is an empty object: send an entity.")
    terms = request_terms(request, body, media_type)
    entity = parse_entity(body, terms, utc_now())
    services(request).broker.create(tenant_of(request), entity)
    location = f"{ENTITIES}/{quote(entity.id, safe=URI_SAFE)}"
    return Response(status_code=201, headers={"Location": location})


def query_entities(request: Request) -> Response:
    svc = services(request)
    terms = request_terms(request)
    media_type = response_type(request, geo=True)
    params = request.query_params
    query = entity_query(params, terms, svc.settings)
    restrict_types(request, query)
    result = svc.broker.query(tenant_of(request), query)
    return entity_list_response(
        request, result, terms, view_from(params, terms, svc.settings), media_type
    )


def entity_list_response(
    request: Request, result: QueryResult, terms: Terms, view: View, media_type: str
) -> Response:
    """A page of entities in the negotiated representation, with its count header."""
    headers = {}
    if result.count is not None:
        headers["NGSILD-Results-Count"] = str(result.count)
    pages = page_links(request, result, media_type) if request.method == "GET" else ""
    if pages:
        headers["Link"] = pages
    body: Any
    join, level = join_from(request.query_params, view)
    if media_type == GEO_JSON:
        geometry = terms.expand(request.query_params.get("geometryProperty") or "location")
        body = feature_collection(
            [render_feature(e, terms, view, geometry) for e in result.entities]
        )
    elif join is not None:
        body = render_joined(result.entities, terms, view, join, level, linked_lookup(request))
    else:
        body = [render_entity(e, terms, view) for e in result.entities]
    return json_response(request, body, terms, media_type=media_type, headers=headers)


def page_links(request: Request, result: QueryResult, media_type: str = JSON) -> str:
    """`Link` values for the previous and next pages (4.12), parameters in sorted order."""
    params = dict(request.query_params)
    limit = int(params.get("limit", services(request).settings.default_limit))
    offset = int(params.get("offset", 0))
    if limit == 0:
        return ""
    links = []
    for rel, target in (("prev", max(offset - limit, 0)), ("next", offset + limit)):
        if (rel == "prev" and offset > 0) or (rel == "next" and result.more):
            query = urlencode(
                sorted({**params, "limit": str(limit), "offset": str(target)}.items())
            )
            links.append(f'<{request.url.path}?{query}>; rel="{rel}";type="{media_type}"')
    return ",".join(links)


def linked_lookup(request: Request) -> Lookup:
    """Entities by id in the request's tenant, for following Relationships."""
    broker, tenant = services(request).broker, tenant_of(request)
    visibility = visibility_of(request)
    return lambda ids: {i: e for i, e in broker.entities(tenant, ids).items() if visibility.sees(e)}


def retrieve_entity(request: Request) -> Response:
    svc = services(request)
    terms = request_terms(request)
    media_type = response_type(request, geo=True)
    view = view_from(request.query_params, terms, services(request).settings)
    join, level = join_from(request.query_params, view)
    entity = svc.broker.retrieve(tenant_of(request), path_id(request))
    check_readable(request, entity)
    if view.attrs and not any(attr in entity.attrs for attr in view.attrs):
        raise ResourceNotFound(f"Entity {entity.id} has none of the requested attributes.")
    body: Any
    if media_type == GEO_JSON:
        geometry = request.query_params.get("geometryProperty")
        geometry_iri = terms.expand(geometry) if geometry else DEFAULT_GEOPROPERTY
        body = render_feature(entity, terms, view, geometry_iri)
    elif join is not None:
        joined = render_joined([entity], terms, view, join, level, linked_lookup(request))
        body = joined[0] if join == INLINE else joined
    else:
        body = render_entity(entity, terms, view)
    return json_response(request, body, terms, media_type=media_type)


def replace_entity(request: Request, body: Any, media_type: str) -> Response:
    entity_id = path_id(request)
    entity, _ = _fragment(request, body, media_type, entity_id, whole=True)
    services(request).broker.replace(tenant_of(request), entity)
    return Response(status_code=204)


def merge_entity(request: Request, body: Any, media_type: str) -> Response:
    entity_id = path_id(request)
    fragment, _ = _fragment(
        request, body, JSON if media_type == MERGE_PATCH else media_type, entity_id
    )
    services(request).broker.merge(tenant_of(request), entity_id, fragment)
    return Response(status_code=204)


def delete_entity(request: Request) -> Response:
    services(request).broker.delete(tenant_of(request), path_id(request))
    return Response(status_code=204)


async def read_merge_body(request: Request) -> tuple[Any, str]:
    """A merge-patch body; it reads as plain JSON."""
    body, media_type = await read_entity_body(request, allowed=(JSON, JSON_LD, MERGE_PATCH))
    return body, media_type


def _fragment(
    request: Request, body: Any, media_type: str, entity_id: str, *, whole: bool = False
) -> tuple[Entity, Terms]:
    """An entity fragment (a `whole` entity needs its type) and the terms that read it."""
    terms = request_terms(request, body, media_type)
    if not isinstance(body, dict):
        raise BadRequestData("The body must be a JSON object.")
    if body.get("id", entity_id) != entity_id:
        raise BadRequestData(f"The body's id {body['id']!r} differs from {entity_id} in the path.")
    entity = parse_entity({**body, "id": entity_id}, terms, utc_now(), partial=not whole)
    return entity, terms


def append_attrs(request: Request, body: Any, media_type: str) -> Response:
    entity_id = path_id(request)
    fragment, terms = _fragment(request, body, media_type, entity_id)
    no_overwrite = "noOverwrite" in options(request.query_params)
    result = services(request).broker.append(
        tenant_of(request), entity_id, fragment, no_overwrite=no_overwrite
    )
    return update_result_response(request, result, terms)


def update_attrs(request: Request, body: Any, media_type: str) -> Response:
    entity_id = path_id(request)
    fragment, terms = _fragment(request, body, media_type, entity_id)
    result = services(request).broker.update(tenant_of(request), entity_id, fragment)
    return update_result_response(request, result, terms)


def update_result_response(request: Request, result: UpdateResult, terms: Terms) -> Response:
    """204 when every attribute was written, else 207 with an UpdateResult."""
    if not result.not_updated:
        return Response(status_code=204)
    body = {
        "updated": [terms.compact(a) for a in result.updated],
        "notUpdated": [
            {"attributeName": terms.compact(n.attribute), "reason": n.reason}
            for n in result.not_updated
        ],
    }
    return json_response(request, body, terms, status=207)


def update_attr(request: Request, body: Any, media_type: str) -> Response:
    entity_id = path_id(request)
    terms = request_terms(request, body, media_type)
    attr = path_attr(request, terms)
    instance = instance_fragment(request, body, terms)
    services(request).broker.update_attribute(tenant_of(request), entity_id, attr, instance)
    return Response(status_code=204)


def replace_attr(request: Request, body: Any, media_type: str) -> Response:
    entity_id = path_id(request)
    terms = request_terms(request, body, media_type)
    attr = path_attr(request, terms)
    raw = (
        [without_context(item) for item in body]
        if isinstance(body, list)
        else without_context(body)
    )
    instances = parse_instances(request.path_params["attr"], attr, raw, terms, utc_now())
    services(request).broker.replace_attribute(tenant_of(request), entity_id, attr, instances)
    return Response(status_code=204)


def without_context(item: Any) -> Any:
    """A body member without its @context, which was already used to expand names."""
    if isinstance(item, dict):
        return {k: v for k, v in item.items() if k != "@context"}
    return item


def instance_fragment(request: Request, body: Any, terms: Terms) -> dict[str, Any]:
    """The attribute instance (or the members of one) in a body, named by the path."""
    if not isinstance(body, dict):
        raise BadRequestData("The body must be one attribute as a JSON object.")
    raw = without_context(body)
    name = request.path_params["attr"]
    if raw.keys().isdisjoint(VALUE_KEY_BY_TYPE.values()):
        # Only members such as observedAt change: validate them around a stand-in value.
        instance = parse_instances(name, terms.expand(name), {**raw, "value": 0}, terms, "")[0]
        del instance["value"], instance["createdAt"], instance["modifiedAt"]
        if "type" not in raw:
            del instance["type"]
        return instance
    return parse_instances(name, terms.expand(name), raw, terms, utc_now())[0]


def delete_attr(request: Request) -> Response:
    entity_id = path_id(request)
    terms = request_terms(request)
    attr = path_attr(request, terms, scope_allowed=True)
    dataset_id = request.query_params.get("datasetId")
    if dataset_id is not None:
        check_uri(dataset_id, "datasetId")
    services(request).broker.delete_attribute(
        tenant_of(request),
        entity_id,
        attr,
        dataset_id=dataset_id,
        delete_all=flag(request, "deleteAll"),
    )
    return Response(status_code=204)


routes = [
    Route(ENTITIES, query_entities, methods=["GET"]),
    Route(ENTITIES, with_body(read_entity_body, create_entity), methods=["POST"]),
    Route(ENTITIES + "/{entity_id}", retrieve_entity, methods=["GET"]),
    Route(ENTITIES + "/{entity_id}", with_body(read_entity_body, replace_entity), methods=["PUT"]),
    Route(ENTITIES + "/{entity_id}", with_body(read_merge_body, merge_entity), methods=["PATCH"]),
    Route(ENTITIES + "/{entity_id}", delete_entity, methods=["DELETE"]),
    Route(
        ENTITIES + "/{entity_id}/attrs", with_body(read_entity_body, append_attrs), methods=["POST"]
    ),
    Route(
        ENTITIES + "/{entity_id}/attrs",
        with_body(read_entity_body, update_attrs),
        methods=["PATCH"],
    ),
    Route(
        ENTITIES + "/{entity_id}/attrs/{attr}", with_body(read_body, update_attr), methods=["PATCH"]
    ),
    Route(
        ENTITIES + "/{entity_id}/attrs/{attr}", with_body(read_body, replace_attr), methods=["PUT"]
    ),
    Route(ENTITIES + "/{entity_id}/attrs/{attr}", delete_attr, methods=["DELETE"]),
]
