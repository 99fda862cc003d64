"""Linked-entity retrieval (ETSI GS CIM 009, 4.5.23): follow Relationships on output.

`join=inline` puts each Relationship's target inside it (as `entity`, or in place of the
object in the simplified form); `join=flat` returns the targets beside the entities. Both
follow links `joinLevel` deep, fetching each level's targets in one store call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cityos.context.entity import RELATIONSHIP, Entity
from cityos.context.jsonld import Terms
from cityos.context.render import KEY_VALUES, View, render_entity

Lookup = Callable[[list[str]], dict[str, Entity]]
"""Fetches entities by id from the caller's tenant; missing ids are simply absent."""

INLINE, FLAT = "inline", "flat"


def links(entity: Entity) -> list[tuple[str, str]]:
    """(Relationship IRI, target id) for every Relationship of the entity, in order."""
    found: dict[tuple[str, str], None] = {}
    for iri, instances in entity.attrs.items():
        for inst in instances:
            if inst.get("type") == RELATIONSHIP:
                objects = inst["object"]
                for target in objects if isinstance(objects, list) else [objects]:
                    found[(iri, target)] = None
    return list(found)


def render_joined(
    entities: list[Entity], terms: Terms, view: View, join: str, level: int, lookup: Lookup
) -> list[dict[str, Any]]:
    """Entities rendered with their linked entities, inline or flat, `level` links deep.

    Linked entities are shown with the projection given for their Relationship (pick or
    omit `rel{...}`), else whole.
    """
    if join == INLINE:
        return [_inline(e, terms, view, level, lookup) for e in entities]
    shown = {e.id for e in entities}
    out = [render_entity(e, terms, view) for e in entities]
    frontier: list[tuple[Entity, View]] = [(e, view) for e in entities]
    for _ in range(level):
        wanted = {
            target: parent_view.for_link(iri)
            for entity, parent_view in frontier
            for iri, target in links(entity)
            if target not in shown
        }
        found = lookup(list(wanted))
        frontier = [(found[t], v) for t, v in wanted.items() if t in found]
        for linked, linked_view in frontier:
            shown.add(linked.id)
            out.append(render_entity(linked, terms, linked_view))
    return out


def _inline(entity: Entity, terms: Terms, view: View, level: int, lookup: Lookup) -> dict[str, Any]:
    rendered = render_entity(entity, terms, view)
    if level <= 0:
        return rendered
    found = lookup([target for _, target in links(entity)])
    for iri, instances in entity.attrs.items():
        key = terms.compact(iri)
        if key not in rendered or len(instances) != 1 or instances[0].get("type") != RELATIONSHIP:
            continue
        obj = instances[0]["object"]
        target = found.get(obj) if isinstance(obj, str) else None
        if target is None:
            continue
        linked = _inline(target, terms, view.for_link(iri), level - 1, lookup)
        if view.format == KEY_VALUES or not isinstance(rendered[key], dict):
            rendered[key] = linked
        else:
            rendered[key] = {**rendered[key], "entity": linked}
    return rendered
