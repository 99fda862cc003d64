"""The history of each store: persistence, retention, and aggregation through the protocol."""

from __future__ import annotations

from cityos.context.entity import Entity
from cityos.context.temporal import Aggregation, parse_interval
from cityos.store.base import EntityQuery
from cityos.store.history import TemporalQuery
from tests.stores import StoreFactory

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE, DAY = 60_000, 86_400_000
ATTR = "https://example.org/temperature"


def sensor(n: int) -> Entity:
    at = "2026-01-01T00:00:00Z"
    return Entity(f"urn:ngsi-ld:Sensor:{n}", ["https://example.org/Sensor"], {}, None, at, at)


def test_history_survives_reopening_the_store(store_factory: StoreFactory) -> None:
    store = store_factory("city")
    store.commit(
        "city",
        [
            Entity(
                "urn:ngsi-ld:Sensor:1",
                ["https://example.org/Sensor"],
                {ATTR: [{"type": "Property", "value": 7, "observedAt": "2026-01-01T00:00:00Z"}]},
                created_at="2026-01-01T00:00:00Z",
                modified_at="2026-01-01T00:00:00Z",
            )
        ],
    )
    store.history.set_retention("city", 30)
    store.close()
    reopened = store_factory("city")
    result = reopened.history.query(
        "city", TemporalQuery(EntityQuery(ids=["urn:ngsi-ld:Sensor:1"]))
    )
    [item] = result.entities
    assert [i["value"] for i in item.entity.attrs[ATTR]] == [7]
    assert reopened.history.retention() == {"city": 30}
    reopened.close()


def test_bulk_series_aggregate_in_sql(store_factory: StoreFactory) -> None:
    store = store_factory()
    points = [(T0 + i * MINUTE, float(i)) for i in range(180)]  # 0..179, three hours
    assert store.history.load_series("", sensor(1), ATTR, points) == 180
    query = TemporalQuery(
        EntityQuery(ids=["urn:ngsi-ld:Sensor:1"]),
        aggregation=Aggregation(("avg", "min", "max", "totalCount"), 3_600_000, "PT1H"),
    )
    [item] = store.history.query("", query).entities
    periods = item.aggregates[ATTR].periods
    assert [p.values["avg"] for p in periods] == [29.5, 89.5, 149.5]
    assert [(p.values["min"], p.values["max"]) for p in periods] == [(0, 59), (60, 119), (120, 179)]
    assert [p.start_ms for p in periods] == [T0, T0 + 3_600_000, T0 + 7_200_000]
    store.close()


def test_prune_and_retention_per_tenant(store_factory: StoreFactory) -> None:
    store = store_factory()
    days = [(T0 + d * DAY, float(d)) for d in range(10)]
    store.history.load_series("a", sensor(1), ATTR, days)
    store.history.load_series("b", sensor(1), ATTR, days)
    assert store.history.prune_history("a", T0 + 3 * DAY) == 3
    store.history.set_retention(None, 5)  # every tenant keeps 5 days...
    store.history.set_retention("b", 2)  # ...but b only 2
    now = T0 + 10 * DAY
    assert store.history.apply_retention(now) == (5 - 3) + 8
    interval = parse_interval({})
    for tenant, first in (("a", 5.0), ("b", 8.0)):
        [item] = store.history.query(
            tenant, TemporalQuery(EntityQuery(ids=[sensor(1).id]), interval)
        ).entities
        assert item.entity.attrs[ATTR][0]["value"] == first
    store.history.set_retention(None, None)
    assert store.history.retention() == {"b": 2}
    store.close()
