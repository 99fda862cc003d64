"""Linked-entity retrieval (ETSI GS CIM 009, 4.5.23): follow Relationships on output.

`join=inline` puts each Relationship's target inside it (as `entity`, or in place of the
object in the simplified form); `join=flat` returns the targets beside the entities. Both
follow links `joinLevel` deep, fetching each level's targets in one store call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cityos.context.entity import RELATIONSHIP, Entity
from cityos.context.jsonld import Terms
from cityos.context.render import KEY_VALUES, View, render_entity

Lookup = Callable[[list[str]], dict[str, Entity]]
"""Fetches entities by id from the caller's tenant; missing ids are simply absent."""

INLINE, FLAT = "inline", "flat"


def targets(entity: Entity) -> list[str]:
    """The ids the entity's Relationships point to, in order, once each."""
    found: dict[str, None] = {}
    for instances in entity.attrs.values():
        for inst in instances:
            if inst.get("type") == RELATIONSHIP:
                objects = inst["object"]
                found.update(dict.fromkeys(objects if isinstance(objects, list) else [objects]))
    return list(found)


def render_joined(
    entities: list[Entity], terms: Terms, view: View, join: str, level: int, lookup: Lookup
) -> list[dict[str, Any]]:
    """Entities rendered with their linked entities, inline or flat, `level` links deep."""
    if join == INLINE:
        return [_inline(e, terms, view, level, lookup) for e in entities]
    shown = {e.id for e in entities}
    out = [render_entity(e, terms, view) for e in entities]
    frontier: Iterable[Entity] = entities
    for _ in range(level):
        wanted = [t for e in frontier for t in targets(e) if t not in shown]
        found = lookup(list(dict.fromkeys(wanted)))
        frontier = [found[t] for t in dict.fromkeys(wanted) if t in found]
        for linked in frontier:
            shown.add(linked.id)
            out.append(render_entity(linked, terms, view))
    return out


def _inline(entity: Entity, terms: Terms, view: View, level: int, lookup: Lookup) -> dict[str, Any]:
    rendered = render_entity(entity, terms, view)
    if level <= 0:
        return rendered
    found = lookup(targets(entity))
    for iri, instances in entity.attrs.items():
        key = terms.compact(iri)
        if key not in rendered or len(instances) != 1 or instances[0].get("type") != RELATIONSHIP:
            continue
        target = (
            found.get(instances[0]["object"]) if isinstance(instances[0]["object"], str) else None
        )
        if target is None:
            continue
        linked = _inline(target, terms, view, level - 1, lookup)
        if view.format == KEY_VALUES or not isinstance(rendered[key], dict):
            rendered[key] = linked
        else:
            rendered[key] = {**rendered[key], "entity": linked}
    return rendered
