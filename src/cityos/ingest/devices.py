"""Devices and their measures, in the style of the FIWARE IoT Agent (JSON).

A device is provisioned with the entity its measures land on and a mapping from the short
keys of its payload to attributes::

    {"device_id": "aq-01", "apikey": "k3y", "entity_name": "urn:ngsi-ld:AirQualityObserved:aq-01",
     "entity_type": "AirQualityObserved",
     "attributes": [{"object_id": "t", "name": "temperature", "type": "Number",
                     "unitCode": "CEL"}],
     "static_attributes": [{"name": "refDistrict", "type": "Relationship",
                            "value": "urn:ngsi-ld:District:yuzhong"}],
     "timestamp": true}

A measure payload `{"t": 21.5, "pm25": 12}` then becomes the entity fragment
`temperature` (a Property with unitCode CEL) plus `pm25`: **keys the mapping does not name
become Properties named after the key**, as the IoT Agent does, unless the device is
provisioned with `"explicitAttrs": true`, which drops them. Attribute types: `Relationship`
and `GeoProperty` (also `geo:point`, `geo:json`, `Point`…) keep their meaning; every other
type (`Property`, `Number`, `Text`, `Boolean`…) is a Property whose value is the JSON value
as sent. A GeoProperty measure is GeoJSON, `[lon, lat]` or the IoT Agent's `"lat, lon"`.

With `timestamp` on, every measured attribute gets an observedAt: the payload's
`TimeInstant` (or the key `timestamp` names, when it is a string), else the time of
arrival; that key is not an attribute. The time zone of the device is irrelevant:
observedAt is ISO 8601 with an offset (converted to UTC) or epoch seconds/milliseconds.

The first measure of a device creates its entity (id, type, static attributes); later ones
append their attributes. Every measure goes through `Broker.batch_upsert`, the same path
as any client's batch, so history, subscriptions and rules see it. `ingest` serves the HTTP
transport and the MQTT gateway alike. A payload is taken or refused as a whole.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cityos.context.broker import Broker
from cityos.context.entity import GEO_PROPERTY, NGSI_LD_NULL, PROPERTY, RELATIONSHIP, Entity
from cityos.context.errors import BadRequestData, NgsiError
from cityos.context.jsonld import Terms
from cityos.context.normalize import (
    GEO_ATTRIBUTES,
    GEOJSON_TYPES,
    RESERVED_IRIS,
    BatchItem,
    check_attribute_name,
    check_list,
    check_uri,
    parse_entity,
)
from cityos.store.devices import AttributeMapping, Device, StaticAttribute

DEFAULT_ENTITY_TYPE = "Device"
TIME_INSTANT = "TimeInstant"
"""The IoT Agent's payload key for the time of a measure."""

_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}$")
"""Device ids and API keys sit in MQTT topics and URL paths: no '/', '+', '#' or spaces."""

_GEO_TYPES = frozenset({GEO_PROPERTY, "geo:point", "geo:json", "geo:line", "geo:polygon"})
_DEVICE_KEYS = frozenset(
    {
        "device_id",
        "apikey",
        "entity_name",
        "entity_type",
        "attributes",
        "static_attributes",
        "timestamp",
        "explicitAttrs",
        "jsonLdContext",
    }
)
_IGNORED_KEYS = frozenset(
    {"protocol", "transport", "timezone", "service", "service_path", "subservice", "ngsiVersion"}
)
"""IoT Agent fields accepted for compatibility that mean nothing here."""

TermsFor = Callable[[str | None], Terms]
"""Resolves a device's @context URL (None: the core context) to terms."""


def attribute_kind(declared: str) -> str:
    """Property, GeoProperty or Relationship for a provisioned attribute type."""
    if declared == RELATIONSHIP:
        return RELATIONSHIP
    if declared in _GEO_TYPES or declared in GEOJSON_TYPES:
        return GEO_PROPERTY
    return PROPERTY


# -- provisioning --------------------------------------------------------------------------


def parse_device(
    body: object, tenant: str, terms_for: TermsFor, now: str, *, device_id: str | None = None
) -> Device:
    """A device from its provisioning JSON, fully checked (`device_id` given: an update)."""
    if not isinstance(body, dict):
        raise BadRequestData("A device must be a JSON object.")
    unknown = sorted(set(body) - _DEVICE_KEYS - _IGNORED_KEYS)
    if unknown:
        raise BadRequestData(
            f"Unknown or unsupported device field(s): {', '.join(unknown)} "
            "(commands, lazy attributes and expressions are not supported)."
        )
    if device_id is None:
        device_id = _identifier(body.get("device_id"), "device_id")
    elif body.get("device_id", device_id) != device_id:
        raise BadRequestData("device_id cannot change; delete and provision the device again.")
    apikey = body.get("apikey")
    apikey = secrets.token_urlsafe(12) if apikey is None else _identifier(apikey, "apikey")
    entity_type = _text(body.get("entity_type", DEFAULT_ENTITY_TYPE), "entity_type")
    entity_id = body.get("entity_name", f"urn:ngsi-ld:{entity_type}:{device_id}")
    context = body.get("jsonLdContext")
    if context is not None:
        _text(context, "jsonLdContext")
    timestamp = body.get("timestamp", False)
    if timestamp is True:
        observed_at_key: str | None = TIME_INSTANT
    elif timestamp is False:
        observed_at_key = None
    else:
        observed_at_key = _text(timestamp, "timestamp (true, false or a payload key)")
    explicit = body.get("explicitAttrs", False)
    if not isinstance(explicit, bool):
        raise BadRequestData("explicitAttrs must be true or false.")
    device = Device(
        tenant=tenant,
        device_id=device_id,
        apikey=apikey,
        entity_id=check_uri(entity_id, "entity_name"),
        entity_type=entity_type,
        attributes=[_mapping(item) for item in check_list(body.get("attributes"), "attributes")],
        static_attributes=[
            _static(item) for item in check_list(body.get("static_attributes"), "static_attributes")
        ],
        observed_at_key=observed_at_key,
        explicit_attrs=explicit,
        context=context,
        created_at=now,
        modified_at=now,
    )
    _check_device(device, terms_for(context), now)
    return device


def _check_device(device: Device, terms: Terms, now: str) -> None:
    """Names unique and valid, static attributes valid: the entity can be created."""
    objects: set[str] = set()
    names: set[str] = set()
    for mapping in device.attributes:
        if mapping.object_id in objects or mapping.object_id == device.observed_at_key:
            raise BadRequestData(f"Measure key {mapping.object_id!r} is mapped more than once.")
        objects.add(mapping.object_id)
        _check_name(mapping.name, attribute_kind(mapping.type), terms)
        if mapping.name in names:
            raise BadRequestData(f"Attribute {mapping.name!r} is mapped more than once.")
        names.add(mapping.name)
    for static in device.static_attributes:
        _check_name(static.name, attribute_kind(static.type), terms)
        if static.name in names:
            raise BadRequestData(f"Attribute {static.name!r} is both static and measured.")
        names.add(static.name)
    try:
        parse_entity(_creation_body(device, {}, now), terms, now)
    except NgsiError as error:
        raise BadRequestData(f"The device's entity would not be valid: {error.detail}") from None


def _check_name(name: str, kind: str, terms: Terms) -> None:
    check_attribute_name(name)
    iri = terms.expand(name)
    if iri in RESERVED_IRIS:
        raise BadRequestData(f"{name!r} names an NGSI-LD member, not an attribute.")
    if iri in GEO_ATTRIBUTES and kind != GEO_PROPERTY:
        raise BadRequestData(f"Attribute {name!r} is reserved for a GeoProperty.")


def _mapping(item: object) -> AttributeMapping:
    if not isinstance(item, dict):
        raise BadRequestData("Each of attributes must be an object with name and type.")
    name = _text(item.get("name"), "attribute name")
    object_id = _text(item.get("object_id", name), f"object_id of {name!r}")
    return AttributeMapping(
        object_id, name, _text(item.get("type", PROPERTY), f"type of {name!r}"), _unit(item)
    )


def _static(item: object) -> StaticAttribute:
    if not isinstance(item, dict):
        raise BadRequestData("Each of static_attributes must be an object with name and value.")
    name = _text(item.get("name"), "static attribute name")
    if item.get("value") is None:
        raise BadRequestData(f"Static attribute {name!r} needs a non-null value.")
    declared = _text(item.get("type", PROPERTY), f"type of {name!r}")
    return StaticAttribute(name, declared, item["value"], _unit(item))


def _unit(item: dict[str, Any]) -> str | None:
    """unitCode, given directly or as IoT Agent metadata {"unitCode": {"value": ...}}."""
    unit = item.get("unitCode")
    metadata = item.get("metadata")
    if unit is None and isinstance(metadata, dict) and isinstance(metadata.get("unitCode"), dict):
        unit = metadata["unitCode"].get("value")
    return None if unit is None else _text(unit, "unitCode")


def _identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or _DEVICE_ID.match(value) is None:
        raise BadRequestData(
            f"{what} {value!r} is not valid: 1 to 128 letters, digits, '_', '-', '.', ':' or '@'."
        )
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequestData(f"{what} must be a non-empty string, not {value!r}.")
    return value


def render_device(device: Device) -> dict[str, Any]:
    """A device as the provisioning API shows it."""
    body: dict[str, Any] = {
        "device_id": device.device_id,
        "apikey": device.apikey,
        "entity_name": device.entity_id,
        "entity_type": device.entity_type,
        "attributes": [
            _without_none(
                {"object_id": m.object_id, "name": m.name, "type": m.type, "unitCode": m.unit_code}
            )
            for m in device.attributes
        ],
        "static_attributes": [
            _without_none(
                {"name": s.name, "type": s.type, "value": s.value, "unitCode": s.unit_code}
            )
            for s in device.static_attributes
        ],
        "timestamp": (device.observed_at_key == TIME_INSTANT or device.observed_at_key or False),
        "explicitAttrs": device.explicit_attrs,
    }
    if device.context is not None:
        body["jsonLdContext"] = device.context
    return body


def _without_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


# -- measures ------------------------------------------------------------------------------


def measure_entity(
    device: Device, payload: object, terms: Terms, now: str, *, create: bool = False
) -> Entity:
    """The entity fragment one measure payload gives (`create`: with static attributes)."""
    if not isinstance(payload, dict):
        raise BadRequestData("A measure must be a JSON object of measure keys and values.")
    body = _creation_body(device, payload, now) if create else _measure_body(device, payload, now)
    return parse_entity(body, terms, now)


def measure_body(device: Device, payload: dict[str, Any], now: str) -> dict[str, Any]:
    """The measure as a normalized NGSI-LD entity fragment with the device's short names
    (what the gateway writes; the simulator's back-fill sends the same as history)."""
    return _measure_body(device, payload, now)


def _creation_body(device: Device, payload: dict[str, Any], now: str) -> dict[str, Any]:
    body = _measure_body(device, payload, now)
    for static in device.static_attributes:
        body[static.name] = _instance(static.name, attribute_kind(static.type), static.value)
        if static.unit_code is not None:
            body[static.name]["unitCode"] = static.unit_code
    return body


def _measure_body(device: Device, payload: dict[str, Any], now: str) -> dict[str, Any]:
    """The measure as a normalized NGSI-LD entity with the device's short names."""
    observed = None
    key = device.observed_at_key
    if key is not None:
        raw = payload.get(key)
        observed = now if raw is None else observed_at(raw)
    mappings = {m.object_id: m for m in device.attributes}
    body: dict[str, Any] = {"id": device.entity_id, "type": device.entity_type}
    for measure, value in payload.items():
        if measure == key:
            continue
        mapping = mappings.get(measure)
        if mapping is None:
            if device.explicit_attrs:
                continue
            name, kind, unit = measure, PROPERTY, None
        else:
            name, kind, unit = mapping.name, attribute_kind(mapping.type), mapping.unit_code
        check_attribute_name(name)
        if name in body:
            raise BadRequestData(f"Two measure keys give attribute {name!r}.")
        inst = _instance(name, kind, value)
        if unit is not None and kind == PROPERTY:
            inst["unitCode"] = unit
        if observed is not None:
            inst["observedAt"] = observed
        body[name] = inst
    return body


def _instance(name: str, kind: str, value: Any) -> dict[str, Any]:
    if value is None:
        raise BadRequestData(f"Measure {name!r} is null: send a value or leave the key out.")
    if value == NGSI_LD_NULL:
        raise BadRequestData(f"Measure {name!r} is {NGSI_LD_NULL}: devices cannot delete.")
    if kind == RELATIONSHIP:
        return {"type": RELATIONSHIP, "object": value}
    if kind == GEO_PROPERTY:
        return {"type": GEO_PROPERTY, "value": _geometry(name, value)}
    return {"type": PROPERTY, "value": value}


def _geometry(name: str, value: Any) -> Any:
    """GeoJSON as sent; `[lon, lat]` or the IoT Agent's "lat, lon" as a Point."""
    if isinstance(value, list) and len(value) in (2, 3):
        return {"type": "Point", "coordinates": value}
    if isinstance(value, str) and "," in value and not value.lstrip().startswith("{"):
        try:
            lat, lon = (float(part) for part in value.split(","))
        except ValueError:
            raise BadRequestData(f"GeoProperty {name!r}: {value!r} is not 'lat, lon'.") from None
        return {"type": "Point", "coordinates": [lon, lat]}
    return value


def observed_at(raw: object) -> str:
    """An ISO 8601 date-time with an offset, or epoch seconds/milliseconds, as UTC `…Z`."""
    try:
        if isinstance(raw, bool):
            raise ValueError
        if isinstance(raw, int | float):
            seconds = raw / 1000 if raw > 1e11 else raw
            moment = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(raw, str):
            moment = datetime.fromisoformat(raw)
            if moment.tzinfo is None:
                raise ValueError
        else:
            raise ValueError
    except (ValueError, OverflowError, OSError):
        raise BadRequestData(
            f"The time of the measure must be ISO 8601 with a time zone or epoch seconds, "
            f"not {raw!r}."
        ) from None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True)
class Measure:
    """One payload a device sent; `error` is set when it was refused."""

    device: Device
    payload: object
    error: NgsiError | None = None


def ingest(
    broker: Broker, terms_for: TermsFor, measures: Sequence[Measure], now: str, *, atomic: bool
) -> int:
    """Apply measures in their order, as few batch upserts as order allows; how many applied.

    A refused measure gets its `error` and the others still apply, unless `atomic`, where
    one refused measure stops them all. Each entity appears once per batch (a store commit
    keeps one version of an entity per batch), so that history keeps every measure.
    """
    fragments: list[tuple[Measure, Entity]] = []
    for measure in measures:
        try:
            terms = terms_for(measure.device.context)
            fragment = measure_entity(measure.device, measure.payload, terms, now)
        except NgsiError as error:
            measure.error = error
            continue
        fragments.append((measure, fragment))
    if atomic and len(fragments) < len(measures):
        return 0
    rounds: dict[str, list[list[tuple[Measure, Entity]]]] = {}
    seen: dict[tuple[str, str], int] = {}
    """(tenant, entity id) → how many of the tenant's batches already hold that entity."""
    for measure, fragment in fragments:
        tenant = measure.device.tenant
        tenant_rounds = rounds.setdefault(tenant, [])
        index = seen.get((tenant, fragment.id), 0)
        seen[(tenant, fragment.id)] = index + 1
        if index == len(tenant_rounds):
            tenant_rounds.append([])
        tenant_rounds[index].append((measure, fragment))
    applied = 0
    for tenant, batches in rounds.items():
        ids = {fragment.id for batch in batches for _, fragment in batch}
        missing = ids - broker.entities(tenant, list(ids)).keys()
        for batch in batches:
            items: list[BatchItem] = []
            for measure, fragment in batch:
                if fragment.id in missing:
                    missing.discard(fragment.id)
                    fragment = _with_statics(measure, fragment, terms_for, now)
                items.append((fragment.id, fragment))
            broker.batch_upsert(tenant, items, replace=False)
            applied += len(items)
    return applied


def _with_statics(measure: Measure, fragment: Entity, terms_for: TermsFor, now: str) -> Entity:
    """The entity a device's first measure creates: the fragment and its static attributes."""
    if not measure.device.static_attributes:
        return fragment
    terms = terms_for(measure.device.context)
    return measure_entity(measure.device, measure.payload, terms, now, create=True)
