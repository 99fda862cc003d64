"""What a subscriber receives: the Notification body (ETSI GS CIM 009, 5.3.1) and headers."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson

from cityos.context.entity import (
    LANGUAGE_PROPERTY,
    LIST_PROPERTY,
    LIST_RELATIONSHIP,
    VALUE_KEY_BY_TYPE,
    VOCAB_PROPERTY,
    Entity,
    EntityChange,
    Instance,
)
from cityos.context.jsonld import CORE_CONTEXT_URL, GEO_JSON, JSON_LD, Terms, context_link
from cityos.context.render import (
    KEY_VALUES,
    NORMALIZED,
    View,
    render_entity,
    render_feature,
    shows,
)
from cityos.events.subscription import NULL, Subscription

_PREVIOUS = {
    "value": "previousValue",
    "object": "previousObject",
    "languageMap": "previousLanguageMap",
    "vocab": "previousVocab",
    "valueList": "previousValueList",
    "objectList": "previousObjectList",
    "json": "previousJson",
}
"""showChanges: the member carrying an attribute's former value, by its value member."""

_NULL_BY_TYPE: dict[str, Any] = {
    LANGUAGE_PROPERTY: {"@none": NULL},
    LIST_PROPERTY: [NULL],
    LIST_RELATIONSHIP: [{"object": NULL}],
}
"""The NGSI-LD Null of each attribute type whose value is not a plain string."""


def notified_terms(subscription: Subscription) -> Terms:
    """The terms notifications use: jsonldContext's when given, else the subscription's."""
    return subscription.notify_terms or subscription.terms


def _view(subscription: Subscription) -> View:
    return View(
        format=subscription.format,
        sys_attrs=subscription.sys_attrs,
        attrs=subscription.attributes,
        omit=subscription.omit,
        show_id=subscription.show_id,
        show_type=subscription.show_type,
        lang=subscription.lang,
        datasets=subscription.datasets,
    )


def entity_data(subscription: Subscription, change: EntityChange, now: str) -> dict[str, Any]:
    """The `data` item for one change, as the subscription asked to see the entity."""
    terms = notified_terms(subscription)
    view = _view(subscription)
    if change.after is None:
        return _deleted_entity(subscription, change, view, now)
    if subscription.endpoint.accept == GEO_JSON:
        geoproperty = subscription.geo.geoproperty if subscription.geo else terms.expand("location")
        return render_feature(change.after, terms, view, geoproperty)
    data = render_entity(change.after, terms, view)
    if subscription.sys_attrs and subscription.format == KEY_VALUES:
        _add_timestamps(data, change.after)
    if subscription.show_changes and subscription.format == NORMALIZED and change.before:
        _add_previous(data, change, subscription)
    if "attributeDeleted" in subscription.triggers and change.before is not None:
        for attr, old in _removed(change.before, change.after):
            if shows(view, attr) and _in_datasets(view, old):
                _put(data, terms.compact(attr), _deleted(old, subscription, terms, now))
    return data


def _removed(before: Entity, after: Entity) -> list[tuple[str, Instance]]:
    """What a write deleted: an attribute gone altogether as one instance (its default
    one, or else its first), else each instance of `before` that `after` no longer has."""
    removed: list[tuple[str, Instance]] = []
    for attr, instances in before.attrs.items():
        if attr not in after.attrs:
            removed.append((attr, _main(before, attr)))
            continue
        removed += [
            (attr, old) for old in instances if after.instance(attr, old.get("datasetId")) is None
        ]
    return removed


def _main(entity: Entity, attr: str) -> Instance:
    """The instance standing for a whole attribute: the default one, or else the first,
    without its datasetId."""
    found = entity.instance(attr) or entity.attrs[attr][0]
    return {k: v for k, v in found.items() if k != "datasetId"}


def _deleted_entity(
    subscription: Subscription, change: EntityChange, view: View, now: str
) -> dict[str, Any]:
    """An entity deletion: id, type and deletedAt; its attributes as deleted when the
    subscription asked for previous values, or heard the deletion as attributeDeleted."""
    assert change.before is not None
    terms = notified_terms(subscription)
    types = [terms.compact(t) for t in change.before.types]
    data: dict[str, Any] = {
        "id": change.entity_id,
        "type": types[0] if len(types) == 1 else types,
    }
    if subscription.sys_attrs:
        _add_timestamps(data, change.before)
    data["deletedAt"] = now
    by_entity = "entityDeleted" in subscription.triggers
    if by_entity and not subscription.show_changes:
        return data
    watched = None if by_entity else subscription.watched
    for attr in change.before.attrs:
        if shows(view, attr) and (watched is None or attr in watched):
            old = _main(change.before, attr)
            data[terms.compact(attr)] = _deleted(old, subscription, terms, now)
    return data


def _add_timestamps(data: dict[str, Any], entity: Entity) -> None:
    """Entity-level createdAt and modifiedAt (sysAttrs), in every format."""
    if entity.created_at:
        data["createdAt"] = entity.created_at
    if entity.modified_at:
        data["modifiedAt"] = entity.modified_at


def _in_datasets(view: View, inst: Instance) -> bool:
    return view.datasets is None or inst.get("datasetId") in view.datasets


def _deleted(old: Instance, subscription: Subscription, terms: Terms, now: str) -> Any:
    """A deleted attribute instance: its value member set to the NGSI-LD Null."""
    attr_type = old.get("type", "Property")
    value_key = VALUE_KEY_BY_TYPE.get(attr_type, "value")
    null = _NULL_BY_TYPE.get(attr_type, NULL)
    if subscription.format == KEY_VALUES:
        return NULL
    out: dict[str, Any] = {"type": attr_type, value_key: null}
    if "datasetId" in old:
        out["datasetId"] = old["datasetId"]
    if subscription.sys_attrs:
        for key in ("createdAt", "modifiedAt"):
            if key in old:
                out[key] = old[key]
        out["deletedAt"] = now
    if subscription.show_changes and value_key in old:
        out[_PREVIOUS[value_key]] = _previous(old, terms)
    if subscription.format != NORMALIZED:  # concise: the type is implied
        out.pop("type")
    return out


def _put(data: dict[str, Any], key: str, shown: Any) -> None:
    """Add one more instance of attribute `key` to a rendered entity."""
    if key not in data:
        data[key] = shown
    elif isinstance(data[key], list):
        data[key].append(shown)
    elif isinstance(data[key], dict) and "dataset" not in data[key]:
        data[key] = [data[key], shown]


def _previous(old: Instance, terms: Terms) -> Any:
    """The value an instance had, compacted as it would be shown (vocab terms)."""
    value = old[VALUE_KEY_BY_TYPE.get(old.get("type", ""), "value")]
    if old.get("type") == VOCAB_PROPERTY:
        return (
            [terms.compact(v) for v in value] if isinstance(value, list) else terms.compact(value)
        )
    return value


def _add_previous(data: dict[str, Any], change: EntityChange, subscription: Subscription) -> None:
    """Give each changed default instance the value it had before (showChanges)."""
    assert change.before is not None
    terms = notified_terms(subscription)
    for attr in change.changed_attrs():
        key = terms.compact(attr)
        shown = data.get(key)
        old = change.before.instance(attr)
        if not isinstance(shown, dict) or old is None:
            continue
        value_key = VALUE_KEY_BY_TYPE.get(old.get("type", ""), "value")
        if value_key in old:
            shown[_PREVIOUS[value_key]] = _previous(old, terms)


def notification_body(
    subscription: Subscription, data: list[dict[str, Any]], now: str
) -> tuple[bytes, dict[str, str]]:
    """The JSON body and the headers of a notification carrying `data`."""
    source = notified_terms(subscription).source
    context = source if source is not None else CORE_CONTEXT_URL
    if isinstance(context, list) and len(context) == 1:
        context = context[0]  # a single URL in an array is still a Link (6.3.5)
    accept = subscription.endpoint.accept
    headers = {"Content-Type": accept}
    if accept == JSON_LD:
        data = [{**item, "@context": context} for item in data]
    elif accept == GEO_JSON:
        data = [{"type": "FeatureCollection", "features": data, "@context": context}]
    elif isinstance(context, str):
        headers["Link"] = context_link(context)
    if subscription.tenant:
        headers["NGSILD-Tenant"] = subscription.tenant
    headers.update(subscription.endpoint.receiver_info)
    body = {
        "id": f"urn:ngsi-ld:Notification:{uuid4()}",
        "type": "Notification",
        "subscriptionId": subscription.id,
        "notifiedAt": now,
        "data": data,
    }
    return orjson.dumps(body), headers
