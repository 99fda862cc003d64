"""/ngsi-ld/v1/types and /attributes: what kinds of entities and attributes the city holds."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.errors import ResourceNotFound
from cityos.context.jsonld import Terms
from cityos.store.base import TypeSummary

from .http import flag, json_response, request_terms, response_type, services, tenant_of

V1 = "/ngsi-ld/v1"


def _summaries(request: Request, types: list[str] | None = None) -> tuple[Terms, list[TypeSummary]]:
    terms = request_terms(request)
    return terms, services(request).broker.type_summaries(tenant_of(request), types)


def _attribute_details(terms: Terms, summary: TypeSummary) -> list[dict[str, Any]]:
    return [
        {
            "id": attr,
            "type": "Attribute",
            "attributeName": terms.compact(attr),
            "attributeTypes": sorted(kinds),
        }
        for attr, kinds in sorted(summary.attributes.items())
    ]


def list_types(request: Request) -> Response:
    terms, summaries = _summaries(request)
    body: Any
    if flag(request, "details"):
        body = [
            {
                "id": s.type,
                "type": "EntityType",
                "typeName": terms.compact(s.type),
                "attributeNames": sorted(terms.compact(a) for a in s.attributes),
            }
            for s in summaries
        ]
    else:
        body = {
            "id": f"urn:ngsi-ld:EntityTypeList:{uuid4()}",
            "type": "EntityTypeList",
            "typeList": sorted(terms.compact(s.type) for s in summaries),
        }
    return json_response(request, body, terms, media_type=response_type(request))


def type_info(request: Request) -> Response:
    terms = request_terms(request)
    name = request.path_params["type"]
    iri = terms.expand(name)
    _, summaries = _summaries(request, [iri])
    if not summaries:
        raise ResourceNotFound(f"No entity has the type {name}.")
    summary = summaries[0]
    body = {
        "id": iri,
        "type": "EntityTypeInfo",
        "typeName": terms.compact(iri),
        "entityCount": summary.entity_count,
        "attributeDetails": _attribute_details(terms, summary),
    }
    return json_response(request, body, terms, media_type=response_type(request))


def _attributes(summaries: list[TypeSummary]) -> dict[str, dict[str, Any]]:
    """Attribute IRI → its kinds, entity count and entity types, across all types."""
    found: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        for attr, kinds in summary.attributes.items():
            entry = found.setdefault(attr, {"kinds": set(), "count": 0, "types": []})
            entry["kinds"] |= kinds
            entry["count"] += summary.attribute_counts.get(attr, 0)
            entry["types"].append(summary.type)
    return dict(sorted(found.items()))


def _attribute(terms: Terms, attr: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": attr,
        "type": "Attribute",
        "attributeName": terms.compact(attr),
        "attributeCount": entry["count"],
        "attributeTypes": sorted(entry["kinds"]),
        "typeNames": sorted(terms.compact(t) for t in entry["types"]),
    }


def list_attributes(request: Request) -> Response:
    terms, summaries = _summaries(request)
    attributes = _attributes(summaries)
    body: Any
    if flag(request, "details"):
        body = sorted(
            (_attribute(terms, attr, entry) for attr, entry in attributes.items()),
            key=lambda attribute: str(attribute["attributeName"]),
        )
    else:
        body = {
            "id": f"urn:ngsi-ld:AttributeList:{uuid4()}",
            "type": "AttributeList",
            "attributeList": sorted(terms.compact(attr) for attr in attributes),
        }
    return json_response(request, body, terms, media_type=response_type(request))


def attribute_info(request: Request) -> Response:
    terms, summaries = _summaries(request)
    name = request.path_params["attr"]
    iri = terms.expand(name)
    entry = _attributes(summaries).get(iri)
    if entry is None:
        raise ResourceNotFound(f"No entity has the attribute {name}.")
    return json_response(
        request, _attribute(terms, iri, entry), terms, media_type=response_type(request)
    )


routes = [
    Route(V1 + "/types", list_types, methods=["GET"]),
    Route(V1 + "/types/{type:path}", type_info, methods=["GET"]),
    Route(V1 + "/attributes", list_attributes, methods=["GET"]),
    Route(V1 + "/attributes/{attr:path}", attribute_info, methods=["GET"]),
]
