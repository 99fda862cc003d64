"""A case's public face: the NGSI-LD `Case` entity built from its record.

Everything a citizen may see is here, so queries, subscriptions and history work on cases
like on any other entity; the reporter's contact stays in the record only. Names are
expanded with the core @context, exactly as the API expands a request's names: clients using
the core context read and query the short names (`description` is dc:description there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cityos.context.entity import GEO_PROPERTY, PROPERTY, RELATIONSHIP, Entity, Instance
from cityos.context.jsonld import DEFAULT_VOCAB, core_terms
from cityos.governance.model import CaseRecord, Stage

CASE_TYPE = core_terms().expand("Case")
STALE_DESCRIPTION = DEFAULT_VOCAB + "description"
"""Where cases kept their description before it was expanded with the core context."""


def term(name: str) -> str:
    """The expanded IRI of one of the case entity's attribute names."""
    return core_terms().expand(name)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def case_entity(record: CaseRecord, previous: Entity | None) -> Entity:
    """The entity for `record`; instances whose value did not change keep their old stamps,
    so the history records only what changed."""
    now = iso(record.updated_at)
    values: dict[str, tuple[str, Any]] = {
        "category": (PROPERTY, record.category),
        "state": (PROPERTY, record.state.value),
        "priority": (PROPERTY, record.priority.value),
        "source": (PROPERTY, record.source.value),
        "department": (PROPERTY, record.department),
        "routing": (PROPERTY, record.routing),
        "reportedAt": (PROPERTY, iso(record.reported_at)),
        "reopened": (PROPERTY, record.reopened),
    }
    optional: dict[str, tuple[str, Any]] = {
        "description": (PROPERTY, None if record.text_hidden else record.description),
        "reference": (PROPERTY, record.reference),
        "address": (PROPERTY, record.address),
        "district": (PROPERTY, record.district),
        "gridCell": (PROPERTY, record.cell),
        "media": (PROPERTY, record.media or None),
        "note": (PROPERTY, record.note),
        "overdue": (PROPERTY, record.overdue.value if record.overdue else None),
        "escalatedTo": (PROPERTY, record.escalated_to),
        "closedAt": (PROPERTY, iso(record.closed_at) if record.closed_at else None),
        "raisedBy": (RELATIONSHIP, record.raised_by),
        "mergedInto": (RELATIONSHIP, record.merged_into),
        "possibleDuplicateOf": (RELATIONSHIP, record.duplicate_of),
    }
    if record.location is not None:
        point = {"type": "Point", "coordinates": list(record.location)}
        optional["location"] = (GEO_PROPERTY, point)
    for stage in Stage:
        due = record.due.get(stage)
        optional[f"{stage.value}By"] = (PROPERTY, iso(due) if due else None)
    values.update({k: v for k, v in optional.items() if v[1] is not None})
    attrs: dict[str, list[Instance]] = {}
    for name, (kind, value) in values.items():
        iri = term(name)
        old = previous.instance(iri) if previous is not None else None
        inst: Instance = {"type": kind, "object" if kind == RELATIONSHIP else "value": value}
        if old is not None and _same(old, inst):
            attrs[iri] = [old]
            continue
        inst["createdAt"] = old.get("createdAt", now) if old else now
        inst["modifiedAt"] = now
        attrs[iri] = [inst]
    created = previous.created_at if previous is not None else iso(record.reported_at)
    return Entity(record.id, [CASE_TYPE], attrs, created_at=created, modified_at=now)


def _same(old: Instance, new: Instance) -> bool:
    return all(old.get(k) == v for k, v in new.items())
