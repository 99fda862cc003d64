"""What a subscriber receives: the Notification body (ETSI GS CIM 009, 5.3.1) and headers."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson

from cityos.context.entity import VALUE_KEY_BY_TYPE, EntityChange
from cityos.context.jsonld import CORE_CONTEXT_URL, GEO_JSON, JSON_LD, context_link
from cityos.context.render import NORMALIZED, View, render_entity, render_feature
from cityos.events.subscription import Subscription

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


def entity_data(subscription: Subscription, change: EntityChange, now: str) -> dict[str, Any]:
    """The `data` item for one change, as the subscription asked to see the entity."""
    terms = subscription.terms
    if change.after is None:
        assert change.before is not None
        types = [terms.compact(t) for t in change.before.types]
        return {
            "id": change.entity_id,
            "type": types[0] if len(types) == 1 else types,
            "deletedAt": now,
        }
    view = View(
        format=subscription.format,
        sys_attrs=subscription.sys_attrs,
        attrs=subscription.attributes,
        lang=subscription.lang,
    )
    if subscription.endpoint.accept == GEO_JSON:
        geoproperty = subscription.geo.geoproperty if subscription.geo else terms.expand("location")
        return render_feature(change.after, terms, view, geoproperty)
    data = render_entity(change.after, terms, view)
    if subscription.show_changes and subscription.format == NORMALIZED and change.before:
        _add_previous(data, change, subscription)
    return data


def _add_previous(data: dict[str, Any], change: EntityChange, subscription: Subscription) -> None:
    """Give each changed default instance the value it had before (showChanges)."""
    assert change.before is not None
    for attr in change.changed_attrs():
        key = subscription.terms.compact(attr)
        shown = data.get(key)
        old = change.before.instance(attr)
        if not isinstance(shown, dict) or old is None:
            continue
        value_key = VALUE_KEY_BY_TYPE.get(old.get("type", ""), "value")
        if value_key in old:
            shown[_PREVIOUS[value_key]] = old[value_key]


def notification_body(
    subscription: Subscription, data: list[dict[str, Any]], now: str
) -> tuple[bytes, dict[str, str]]:
    """The JSON body and the headers of a notification carrying `data`."""
    source = subscription.terms.source
    context = source if source is not None else CORE_CONTEXT_URL
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
