"""From an `Entity` to the representation a client asked for (ETSI GS CIM 009, 4.5).

Normalized, concise and simplified (keyValues) forms, system attributes on request,
projection with attrs/pick/omit, language selection, and GeoJSON Features. Names are
compacted with the request's own @context so clients see their short names back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cityos.context.entity import (
    GEO_PROPERTY,
    LANGUAGE_PROPERTY,
    LIST_RELATIONSHIP,
    PROPERTY,
    SYSTEM_KEYS,
    VALUE_KEY_BY_TYPE,
    VOCAB_PROPERTY,
    Entity,
    Instance,
)
from cityos.context.jsonld import NGSI_LD_NS, Terms

NORMALIZED, CONCISE, KEY_VALUES = "normalized", "concise", "keyValues"
FORMATS = (NORMALIZED, CONCISE, KEY_VALUES)


@dataclass(frozen=True, slots=True)
class View:
    """How to show entities: the output options of one request."""

    format: str = NORMALIZED
    sys_attrs: bool = False
    attrs: Collection[str] | None = None
    """Attribute IRIs to keep (attrs or pick); None keeps all."""
    omit: Collection[str] = ()
    """Attribute IRIs to drop."""
    show_id: bool = True
    show_type: bool = True
    lang: str | None = None
    datasets: Collection[str | None] | None = None
    """datasetIds of the instances to show (None: the default instance); None shows all."""
    linked: Mapping[str, View] | None = None
    """How to show entities reached through each Relationship (by IRI) when joining."""

    def for_link(self, relationship: str) -> View:
        """The view of an entity linked through `relationship`: its own projection, or none."""
        if self.linked and relationship in self.linked:
            return self.linked[relationship]
        return View(self.format, self.sys_attrs, lang=self.lang, datasets=self.datasets)


def render_entity(entity: Entity, terms: Terms, view: View) -> dict[str, Any]:
    """One entity as a JSON object, without @context (the caller adds it where wanted)."""
    out = render_members(entity, terms, view)
    for iri, instances in entity.attrs.items():
        if not shows(view, iri):
            continue
        shown = [
            render_instance(inst, terms, view)
            for inst in instances
            if view.datasets is None or inst.get("datasetId") in view.datasets
        ]
        if shown:
            key = terms.compact(iri)
            if key in out:  # two IRIs share a short name here: keep both, the later in full
                key = iri
            out[key] = shown[0] if len(shown) == 1 else shown
    return out


def render_members(entity: Entity, terms: Terms, view: View) -> dict[str, Any]:
    """The members of an entity that are not attributes: id, type, scope, time stamps."""
    out: dict[str, Any] = {}
    if view.show_id:
        out["id"] = entity.id
    if view.show_type:
        types = [terms.compact(t) for t in entity.types]
        out["type"] = types[0] if len(types) == 1 else types
    if entity.scope is not None:
        out["scope"] = entity.scope[0] if len(entity.scope) == 1 else entity.scope
    if view.sys_attrs and view.format != KEY_VALUES:
        out["createdAt"] = entity.created_at
        out["modifiedAt"] = entity.modified_at
    return out


def shows(view: View, iri: str) -> bool:
    """Whether the view's projection (attrs, pick, omit) keeps attribute `iri`."""
    return (view.attrs is None or iri in view.attrs) and iri not in view.omit


def render_instance(inst: Instance, terms: Terms, view: View) -> Any:
    """One attribute instance in the view's format."""
    attr_type = inst["type"]
    value_key = VALUE_KEY_BY_TYPE[attr_type]
    value = inst[value_key]
    if attr_type == VOCAB_PROPERTY:
        value = (
            [terms.compact(v) for v in value] if isinstance(value, list) else terms.compact(value)
        )
    if attr_type == LANGUAGE_PROPERTY and view.lang is not None:
        attr_type, value_key, value = PROPERTY, "value", pick_language(value, view.lang)
    if view.format == KEY_VALUES:
        if attr_type == LIST_RELATIONSHIP:
            return [item["object"] for item in value]
        return value
    out: dict[str, Any] = {"type": attr_type, value_key: value}
    if value_key == "value" and inst["type"] == LANGUAGE_PROPERTY:
        out["lang"] = _chosen_tag(inst["languageMap"], view.lang or "")
    for key, member in inst.items():
        if key in ("type", inst_value_key(inst)):
            continue
        if ":" in key:
            out[terms.compact(key)] = render_instance(member, terms, view)
        elif key == "objectType":
            out[key] = (
                [terms.compact(t) for t in member]
                if isinstance(member, list)
                else terms.compact(member)
            )
        elif key not in SYSTEM_KEYS or view.sys_attrs:
            out[key] = member
    if view.format == CONCISE:
        return _concise(out)
    return out


def inst_value_key(inst: Instance) -> str:
    return VALUE_KEY_BY_TYPE[inst["type"]]


def _concise(out: dict[str, Any]) -> Any:
    """Drop what the type implies; a bare Property or GeoProperty becomes its value."""
    attr_type = out.pop("type")
    if len(out) == 1 and "value" in out:
        value = out["value"]
        if attr_type == GEO_PROPERTY or not isinstance(value, dict):
            return value
    return out


def pick_language(language_map: dict[str, Any], lang: str) -> Any:
    """The string for the best-matching language tag (4.15): exact, `@none`, then the first."""
    return language_map[_chosen_tag(language_map, lang)]


def _chosen_tag(language_map: dict[str, Any], lang: str) -> str:
    wanted = [tag.split(";")[0].strip() for tag in lang.split(",") if tag.strip()]
    for tag in wanted:
        if tag == "*":
            break
        if tag in language_map:
            return tag
        for have in language_map:
            if have.split("-")[0] == tag.split("-")[0]:
                return have
    return "@none" if "@none" in language_map else next(iter(language_map))


def render_feature(
    entity: Entity, terms: Terms, view: View, geometry_property: str
) -> dict[str, Any]:
    """An entity as a GeoJSON Feature whose geometry is `geometry_property`'s value (4.5.16)."""
    body = render_entity(entity, terms, view)
    body.pop("id", None)
    geo = entity.instance(geometry_property) or next(
        iter(entity.attrs.get(geometry_property, [])), None
    )
    return {
        "id": entity.id,
        "type": "Feature",
        "geometry": geo.get("value") if geo and geo["type"] == GEO_PROPERTY else None,
        "properties": body,
    }


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


DEFAULT_GEOPROPERTY = NGSI_LD_NS + "location"
