"""Devices: provisioning checks, the device registry, and measures turned into entities."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.context.broker import Broker
from cityos.context.entity import EntityChange
from cityos.context.errors import AlreadyExists, BadRequestData
from cityos.context.jsonld import DEFAULT_VOCAB, NGSI_LD_NS, ContextResolver
from cityos.ingest.devices import (
    Measure,
    attribute_kind,
    ingest,
    measure_entity,
    observed_at,
    parse_device,
    render_device,
)
from cityos.store.base import Store

NOW = "2026-01-01T00:00:00.000000Z"
RESOLVER = ContextResolver()
TERMS = RESOLVER.core
V = DEFAULT_VOCAB


def device_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": "aq-01",
        "apikey": "k3y",
        "entity_type": "AirQualityObserved",
        "attributes": [
            {"object_id": "t", "name": "temperature", "type": "Number", "unitCode": "CEL"},
            {"object_id": "p", "name": "location", "type": "geo:point"},
            {"object_id": "d", "name": "refDistrict", "type": "Relationship"},
        ],
        "static_attributes": [{"name": "category", "type": "Text", "value": "urban"}],
    }
    body.update(changes)
    return body


def device(tenant: str = "", **changes: Any) -> Any:
    return parse_device(device_body(**changes), tenant, RESOLVER.resolve, NOW)


# -- provisioning --------------------------------------------------------------------------


def test_device_defaults_and_round_trip() -> None:
    parsed = parse_device({"device_id": "d1"}, "", RESOLVER.resolve, NOW)
    assert parsed.entity_id == "urn:ngsi-ld:Device:d1"
    assert parsed.entity_type == "Device"
    assert len(parsed.apikey) >= 12  # generated
    again = parse_device(render_device(device()), "", RESOLVER.resolve, NOW)
    assert render_device(again) == render_device(device())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"device_id": "a/b"}, "device_id"),
        ({"device_id": None}, "device_id"),
        ({"apikey": "with space"}, "apikey"),
        ({"entity_name": "not a uri"}, "entity_name"),
        ({"attributes": {"t": "x"}}, "must be an array"),
        ({"attributes": [{"object_id": "t"}]}, "attribute name"),
        (
            {"attributes": [{"object_id": "t", "name": "a"}, {"object_id": "t", "name": "b"}]},
            "mapped more than once",
        ),
        (
            {"attributes": [{"object_id": "a", "name": "x"}, {"object_id": "b", "name": "x"}]},
            "mapped more than once",
        ),
        ({"attributes": [{"object_id": "l", "name": "location"}]}, "GeoProperty"),
        ({"attributes": [{"object_id": "o", "name": "observedAt"}]}, "reserved"),
        ({"static_attributes": [{"name": "x", "value": None}]}, "non-null value"),
        ({"static_attributes": [{"name": "r", "type": "Relationship", "value": "x"}]}, "URI"),
        ({"static_attributes": [{"name": "temperature", "value": 1}]}, "static and measured"),
        ({"timestamp": 3}, "timestamp"),
        ({"commands": []}, "commands"),
        ({"explicitAttrs": "yes"}, "explicitAttrs"),
    ],
)
def test_invalid_devices_are_refused_with_the_reason(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequestData, match=message):
        device(**changes)


def test_iot_agent_fields_are_accepted() -> None:
    parsed = device(
        timezone="Asia/Shanghai",
        protocol="IoTA-JSON",
        attributes=[
            {
                "object_id": "h",
                "name": "humidity",
                "type": "Number",
                "metadata": {"unitCode": {"type": "Text", "value": "P1"}},
            }
        ],
    )
    assert parsed.attributes[0].unit_code == "P1"


def test_attribute_kinds() -> None:
    assert attribute_kind("Relationship") == "Relationship"
    assert attribute_kind("geo:point") == "GeoProperty"
    assert attribute_kind("GeoProperty") == "GeoProperty"
    assert attribute_kind("Number") == "Property"
    assert attribute_kind("Property") == "Property"


# -- translation ---------------------------------------------------------------------------


def test_a_measure_becomes_an_expanded_fragment() -> None:
    payload = {"t": 21.5, "p": "29.56, 106.55", "d": "urn:ngsi-ld:District:yuzhong", "pm25": 7}
    entity = measure_entity(device(), payload, TERMS, NOW)
    assert entity.id == "urn:ngsi-ld:AirQualityObserved:aq-01"
    assert entity.types == [V + "AirQualityObserved"]
    temperature = entity.attrs[V + "temperature"][0]
    assert temperature["value"] == 21.5
    assert temperature["unitCode"] == "CEL"
    location = entity.attrs[NGSI_LD_NS + "location"][0]
    assert location["type"] == "GeoProperty"
    assert location["value"] == {"type": "Point", "coordinates": [106.55, 29.56]}
    assert entity.attrs[V + "refDistrict"][0]["object"] == "urn:ngsi-ld:District:yuzhong"
    # an unmapped key is a Property named after the key, as the IoT Agent does
    assert entity.attrs[V + "pm25"][0] == {
        "type": "Property",
        "value": 7,
        "createdAt": NOW,
        "modifiedAt": NOW,
    }
    assert V + "category" not in entity.attrs  # static attributes only on creation
    created = measure_entity(device(), payload, TERMS, NOW, create=True)
    assert created.attrs[V + "category"][0]["value"] == "urban"


def test_geometry_forms() -> None:
    point = {"type": "Point", "coordinates": [106.5, 29.5]}
    for value in (point, [106.5, 29.5], "29.5,106.5"):
        entity = measure_entity(device(), {"p": value}, TERMS, NOW)
        assert entity.attrs[NGSI_LD_NS + "location"][0]["value"] == point
    with pytest.raises(BadRequestData):
        measure_entity(device(), {"p": "north"}, TERMS, NOW)


def test_explicit_attrs_drops_unmapped_keys() -> None:
    entity = measure_entity(device(explicitAttrs=True), {"t": 1, "pm25": 2}, TERMS, NOW)
    assert set(entity.attrs) == {V + "temperature"}


def test_observed_at_from_the_payload_or_arrival() -> None:
    stamped = device(timestamp=True)
    entity = measure_entity(
        stamped, {"t": 1, "TimeInstant": "2024-05-01T10:00:00+08:00"}, TERMS, NOW
    )
    assert entity.attrs[V + "temperature"][0]["observedAt"] == "2024-05-01T02:00:00.000000Z"
    assert V + "TimeInstant" not in entity.attrs
    entity = measure_entity(stamped, {"t": 1}, TERMS, NOW)
    assert entity.attrs[V + "temperature"][0]["observedAt"] == NOW
    custom = device(timestamp="ts")
    entity = measure_entity(custom, {"t": 1, "ts": 1_700_000_000_000}, TERMS, NOW)
    assert entity.attrs[V + "temperature"][0]["observedAt"] == "2023-11-14T22:13:20.000000Z"
    assert observed_at(1_700_000_000) == "2023-11-14T22:13:20.000000Z"
    for bad in ("2024-05-01T10:00:00", "yesterday", True, [1]):
        with pytest.raises(BadRequestData, match="time zone"):
            observed_at(bad)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1], "JSON object"),
        ({"t": None}, "null"),
        ({"d": "not a uri"}, "URI"),
        ({"t": 1, "temperature": 2}, "Two measure keys"),
        ({"id": "urn:x:y"}, "reserved"),
        ({"p": {"type": "Point", "coordinates": [500, 0]}}, "location"),
    ],
)
def test_invalid_measures(payload: Any, message: str) -> None:
    with pytest.raises(BadRequestData, match=message):
        measure_entity(device(), payload, TERMS, NOW)


# -- the registry --------------------------------------------------------------------------


def test_registry_per_tenant(store: Store) -> None:
    registry = store.devices
    registry.add_device(device("cq"))
    with pytest.raises(AlreadyExists, match="already exists"):
        registry.add_device(device("cq"))
    with pytest.raises(AlreadyExists, match="another tenant"):
        registry.add_device(device("london"))  # same id and key: measures could not route
    registry.add_device(device("london", apikey="other"))
    assert registry.get_device("cq", "aq-01") == device("cq")
    assert registry.get_device("", "aq-01") is None
    found = registry.find_devices(["aq-01", "nothing"])
    assert [d.tenant for d in found["aq-01"]] == ["cq", "london"]
    for n in range(5):
        registry.add_device(device("cq", device_id=f"d{n}"))
    page, count = registry.list_devices("cq", 2, 1)
    assert count == 6
    assert [d.device_id for d in page] == ["d0", "d1"]
    changed = device("cq", entity_type="Sensor")
    assert registry.replace_device(changed)
    assert registry.get_device("cq", "aq-01") == changed
    assert not registry.replace_device(device("nowhere"))
    assert registry.delete_device("cq", "aq-01")
    assert not registry.delete_device("cq", "aq-01")


# -- applying measures ---------------------------------------------------------------------


def test_first_measure_creates_the_entity_and_later_ones_append(store: Store) -> None:
    broker = Broker(store)
    changes: list[EntityChange] = []
    broker.listeners.append(lambda tenant, batch: changes.extend(batch))
    dev = device("cq")
    assert ingest(broker, RESOLVER.resolve, [Measure(dev, {"t": 20})], NOW, atomic=False) == 1
    entity = broker.retrieve("cq", dev.entity_id)
    assert entity.attrs[V + "category"][0]["value"] == "urban"
    assert entity.attrs[V + "temperature"][0]["value"] == 20
    assert changes[-1].before is None
    # a client changes the static attribute; measures do not put it back
    broker.update("cq", dev.entity_id, measure_entity(dev, {"pm25": 1}, TERMS, NOW))
    later = "2026-01-01T00:01:00.000000Z"
    ingest(broker, RESOLVER.resolve, [Measure(dev, {"t": 21})], later, atomic=False)
    entity = broker.retrieve("cq", dev.entity_id)
    assert entity.attrs[V + "temperature"][0]["value"] == 21
    assert entity.attrs[V + "temperature"][0]["createdAt"] == NOW
    assert changes[-1].changed_attrs() == {V + "temperature"}


def test_every_measure_of_a_batch_is_committed_in_order(store: Store) -> None:
    broker = Broker(store)
    seen: list[Any] = []
    broker.listeners.append(
        lambda tenant, batch: seen.extend(
            (c.entity_id, c.after.attrs[V + "temperature"][0]["value"]) for c in batch if c.after
        )
    )
    one, two = device(), device(device_id="aq-02", apikey="k4")
    batch = [Measure(one, {"t": 1}), Measure(two, {"t": 10}), Measure(one, {"t": 2})]
    batch += [Measure(one, {"t": None}), Measure(one, {"t": 3})]
    assert ingest(broker, RESOLVER.resolve, batch, NOW, atomic=False) == 4
    assert batch[3].error is not None
    assert [v for i, v in seen if i == one.entity_id] == [1, 2, 3]
    assert [v for i, v in seen if i == two.entity_id] == [10]


def test_atomic_ingest_applies_nothing_when_one_measure_is_refused(store: Store) -> None:
    broker = Broker(store)
    batch = [Measure(device(), {"t": 1}), Measure(device(), {"t": None})]
    assert ingest(broker, RESOLVER.resolve, batch, NOW, atomic=True) == 0
    assert store.get("", device().entity_id) is None
