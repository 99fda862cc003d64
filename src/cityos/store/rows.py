"""Backend-neutral rows: how the protocol's objects become table values and back.

Every backend keeps the same documents (JSON text on the wire between Python and the
database; SQLite stores it as TEXT, PostgreSQL as JSONB) and the same derived values (epoch
milliseconds of history instances, index boxes of geometry), so these conversions are
shared and the backends differ only in their SQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import orjson

from cityos.context.entity import GEO_PROPERTY, VALUE_KEY_BY_TYPE, Entity, Instance
from cityos.context.errors import BadRequestData
from cityos.context.geo import geometry_bounds
from cityos.context.temporal import TemporalEntity, text_epoch_ms
from cityos.store.base import StoredContext
from cityos.store.devices import AttributeMapping, Device, StaticAttribute
from cityos.store.history import INSTANCE_PREFIX
from cityos.store.rules import StoredRule
from cityos.store.subscriptions import PendingDelivery, StoredSubscription

ALL_TENANTS = "*"
"""The `history_retention` tenant holding the default of every tenant."""
DAY_MS = 86_400_000


def dumps(value: Any) -> str:
    """JSON text, as every store writes its documents."""
    return orjson.dumps(value).decode()


# -- entities ----------------------------------------------------------------------------


def entity_doc(entity: Entity) -> str:
    """The stored document of an entity: its types, attributes and scope."""
    doc: dict[str, Any] = {"types": entity.types, "attrs": entity.attrs}
    if entity.scope is not None:
        doc["scope"] = entity.scope
    return dumps(doc)


def entity_from_row(row: Sequence[Any]) -> Entity:
    """An entity from (id, created_at, modified_at, doc)."""
    entity_id, created_at, modified_at, doc = row
    data = orjson.loads(doc)
    return Entity(
        id=entity_id,
        types=data["types"],
        attrs=data["attrs"],
        scope=data.get("scope"),
        created_at=created_at,
        modified_at=modified_at,
    )


def indexed(entity: Entity) -> tuple[list[str], list[tuple[str, Any]]]:
    """What the type and geometry index rows are made from: equal, they need no rewrite
    (compared as values, so unchanged geometry costs no bounds computation)."""
    geometry = [
        (attr, inst.get("value"))
        for attr, instances in entity.attrs.items()
        for inst in instances
        if inst.get("type") == GEO_PROPERTY
    ]
    return entity.types, geometry


def geo_instances(
    entity: Entity,
) -> list[tuple[str, dict[str, Any], tuple[float, float, float, float]]]:
    """(attribute IRI, GeoJSON value, (min_x, max_x, min_y, max_y)) for each GeoProperty
    instance to index.

    A value without positions cannot be indexed and is skipped; it can match nothing anyway.
    """
    rows: list[tuple[str, dict[str, Any], tuple[float, float, float, float]]] = []
    for attr, instances in entity.attrs.items():
        for inst in instances:
            value = inst.get("value")
            if inst.get("type") != GEO_PROPERTY or not isinstance(value, dict):
                continue
            try:
                rows.append((attr, value, geometry_bounds(value)))
            except BadRequestData:
                continue
    return rows


def geo_rows(entity: Entity) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(attribute IRI, (min_x, max_x, min_y, max_y)) for each GeoProperty instance to index."""
    return [(attr, bounds) for attr, _, bounds in geo_instances(entity)]


def context_where(context_id: str, tenant: str | None, placeholder: str) -> tuple[str, list[str]]:
    """The condition finding a context by local id or URL, within `tenant` unless None."""
    where = f"(id = {placeholder} OR url = {placeholder})"
    if tenant is None:
        return where, [context_id, context_id]
    return f"{where} AND tenant = {placeholder}", [context_id, context_id, tenant]


def stored_context(row: Sequence[Any]) -> StoredContext:
    """A context from (id, url, kind, body, created_at, last_usage, hits, tenant)."""
    context_id, url, kind, body, created_at, last_usage, hits, tenant = row
    return StoredContext(
        context_id, url, kind, orjson.loads(body), created_at, last_usage, hits, tenant
    )


# -- the change log, subscriptions and the outbox ---------------------------------------


def change_doc(entity: Entity | None) -> str | None:
    """An entity as the change log keeps it (None: no entity)."""
    if entity is None:
        return None
    return dumps(
        {
            "types": entity.types,
            "attrs": entity.attrs,
            "scope": entity.scope,
            "createdAt": entity.created_at,
            "modifiedAt": entity.modified_at,
        }
    )


def change_entity(entity_id: str, doc: str | None) -> Entity | None:
    if doc is None:
        return None
    data = orjson.loads(doc)
    return Entity(
        entity_id,
        data["types"],
        data["attrs"],
        data["scope"],
        data["createdAt"],
        data["modifiedAt"],
    )


def subscription_from_row(row: Sequence[Any]) -> StoredSubscription:
    tenant, sub_id, doc, context, created_at, modified_at, status = row
    return StoredSubscription(
        tenant,
        sub_id,
        orjson.loads(doc),
        orjson.loads(context),
        created_at,
        modified_at,
        orjson.loads(status),
    )


def pending_from_row(row: Sequence[Any]) -> PendingDelivery:
    tenant, sub_id, body, headers, attempts, next_at, created_at, seq, change_seq = row
    return PendingDelivery(
        tenant,
        sub_id,
        bytes(body),
        orjson.loads(headers),
        attempts,
        next_at,
        created_at,
        seq,
        change_seq,
    )


# -- devices and rules -------------------------------------------------------------------


def device_doc(device: Device) -> str:
    return dumps(asdict(device))


def device_from_doc(doc: str) -> Device:
    data: dict[str, Any] = orjson.loads(doc)
    data["attributes"] = [AttributeMapping(**item) for item in data["attributes"]]
    data["static_attributes"] = [StaticAttribute(**item) for item in data["static_attributes"]]
    return Device(**data)


def rule_from_row(row: Sequence[Any]) -> StoredRule:
    tenant, rule_id, doc, created_at, modified_at, version, fired, last_fired = row
    return StoredRule(
        tenant, rule_id, orjson.loads(doc), created_at, modified_at, version, fired, last_fired
    )


# -- history -----------------------------------------------------------------------------


def history_row(
    tenant: str, entity_id: str, attr: str, inst: Instance, modified_at: str
) -> tuple[Any, ...]:
    """The history row of one instance (`modified_at` when it carries no modifiedAt):
    tenant, entity, attr, dataset_id, observed_ms, modified_ms, created_ms, num, value, doc.

    `observed_ms` is observedAt, or modifiedAt for instances without one; `num` holds the
    value when it is a number (what sum/avg/min/max aggregate); `value` is the value as
    JSON (what distinctCount compares); `doc` is the whole expanded instance.
    """
    modified = inst.get("modifiedAt") or modified_at
    value = inst.get(VALUE_KEY_BY_TYPE.get(inst.get("type", ""), "value"))
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return (
        tenant,
        entity_id,
        attr,
        inst.get("datasetId"),
        text_epoch_ms(inst.get("observedAt") or modified),
        text_epoch_ms(modified),
        text_epoch_ms(inst.get("createdAt") or modified),
        number,
        dumps(value),
        dumps(inst),
    )


def temporal_entity_row(tenant: str, entity: Entity) -> tuple[str, str, str, str, str]:
    """(tenant, id, doc, created_at, modified_at) of a temporal entity."""
    doc = dumps({"types": entity.types, "scope": entity.scope})
    return (tenant, entity.id, doc, entity.created_at, entity.modified_at)


def temporal_entity(row: Sequence[Any]) -> TemporalEntity:
    """A temporal entity, without instances yet, from (id, doc, created_at, modified_at)."""
    entity_id, doc, created_at, modified_at = row
    data = orjson.loads(doc)
    entity = Entity(entity_id, data["types"], {}, data.get("scope"), created_at, modified_at)
    return TemporalEntity(entity)


def merged_instance(old: Instance, fragment: Instance) -> Instance:
    """An instance updated by a fragment (5.6.16): a new type drops the old value member."""
    if "type" in fragment and fragment["type"] != old.get("type"):
        old.pop(VALUE_KEY_BY_TYPE.get(old.get("type", ""), "value"), None)
    merged = {**old, **fragment, "createdAt": old.get("createdAt")}
    return {k: v for k, v in merged.items() if v is not None}


AGGREGATES = {  # SQL over the history rows `h`, the same in every backend
    "totalCount": "count(*)",
    "distinctCount": "count(DISTINCT h.value)",
    "sum": "sum(h.num)",
    "avg": "avg(h.num)",
    "min": "min(h.num)",
    "max": "max(h.num)",
    "sumsq": "sum(h.num * h.num)",
}
STDDEV_PARTS = "count(h.num), sum(h.num), sum(h.num * h.num)"
"""stddev is the sample standard deviation, from these three sums (Python takes the root)."""


def period_values(methods: Sequence[str], row: Sequence[Any]) -> dict[str, float | int | None]:
    """The aggregates of one period from its SQL columns: one per method, but stddev,
    which comes last as (count, sum, sum of squares)."""
    plain = [m for m in methods if m != "stddev"]
    values: dict[str, float | int | None] = dict(zip(plain, row, strict=False))
    if "stddev" in methods:
        n, total, squares = row[len(plain) : len(plain) + 3]
        values["stddev"] = (
            math.sqrt(max((squares - total * total / n) / (n - 1), 0.0)) if n > 1 else None
        )
    return {m: values[m] for m in methods}


def is_geometry(value: str | None) -> bool:
    """Whether a history `value` (JSON text) is an object, so possibly a geometry."""
    return value is not None and value.startswith("{")


def instance_row(instance_id: str) -> int:
    """The history row an instanceId names (-1: none)."""
    number = instance_id.removeprefix(INSTANCE_PREFIX)
    return int(number) if instance_id.startswith(INSTANCE_PREFIX) and number.isdigit() else -1
