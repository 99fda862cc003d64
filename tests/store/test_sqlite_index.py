"""The type and geometry index rows follow each entity through its updates.

Updates that change neither types nor geometry (a sensor reading) leave the index rows as
they are; any other update rewrites them.
"""

from __future__ import annotations

from cityos.context.broker import Broker, utc_now
from cityos.context.geo import parse_geo_query
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.context.query import parse_type_expr
from cityos.store.base import EntityQuery, Store

TERMS = ContextResolver().core


def _fragment(body: dict[str, object]) -> object:
    return parse_entity(body, TERMS, utc_now(), partial=True)


def _near(store: Store, lon: float, lat: float) -> list[str]:
    geo = parse_geo_query("near;maxDistance==1000", "Point", [lon, lat], TERMS.expand("location"))
    return [e.id for e in store.query("", EntityQuery(geo=geo)).entities]


def _of_type(store: Store, name: str) -> list[str]:
    types = tuple(tuple(TERMS.expand(t) for t in g) for g in parse_type_expr(name))
    return [e.id for e in store.query("", EntityQuery(types=types)).entities]


def test_index_rows_follow_readings_moves_and_new_types(store: Store) -> None:
    broker = Broker(store)
    point = {"type": "Point", "coordinates": [106.5, 29.5]}
    body = {
        "id": "urn:ngsi-ld:Bus:1",
        "type": "Bus",
        "speed": {"type": "Property", "value": 30},
        "location": {"type": "GeoProperty", "value": point},
    }
    broker.create("", parse_entity(body, TERMS, utc_now()))
    broker.update("", "urn:ngsi-ld:Bus:1", _fragment({"speed": {"type": "Property", "value": 31}}))
    assert _near(store, 106.5, 29.5) == ["urn:ngsi-ld:Bus:1"]
    assert _of_type(store, "Bus") == ["urn:ngsi-ld:Bus:1"]

    moved = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [106.6, 29.6]}}
    broker.update("", "urn:ngsi-ld:Bus:1", _fragment({"location": moved}))
    assert _near(store, 106.5, 29.5) == []
    assert _near(store, 106.6, 29.6) == ["urn:ngsi-ld:Bus:1"]

    broker.append("", "urn:ngsi-ld:Bus:1", _fragment({"type": "ElectricVehicle"}))
    assert _of_type(store, "ElectricVehicle") == ["urn:ngsi-ld:Bus:1"]
    assert _of_type(store, "Bus") == ["urn:ngsi-ld:Bus:1"]
    assert _near(store, 106.6, 29.6) == ["urn:ngsi-ld:Bus:1"]
