"""Which committed changes a subscription hears of: triggers, watched attributes, q."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.context.entity import Entity, EntityChange
from cityos.context.jsonld import ContextResolver
from cityos.events.matching import matches
from cityos.events.subscription import compile_subscription
from cityos.store.snapshot import SnapshotFilter

TERMS = ContextResolver().core
LEVEL = TERMS.expand("waterLevel")
STATUS = TERMS.expand("status")
SENSOR = TERMS.expand("FloodSensor")


def sensor(**attrs: Any) -> Entity:
    return Entity(
        "urn:ngsi-ld:FloodSensor:1",
        [SENSOR],
        {TERMS.expand(k): v if isinstance(v, list) else [v] for k, v in attrs.items()},
    )


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def hears(change: EntityChange, **doc: Any) -> bool:
    body = {
        "type": "Subscription",
        "entities": [{"type": "FloodSensor"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1/x"}},
        **doc,
    }
    return matches(compile_subscription("", body, TERMS), change, 0.0, SnapshotFilter())


BEFORE = sensor(waterLevel=prop(1.0), status=prop("ok"))
CREATED = EntityChange(BEFORE.id, None, BEFORE)
LEVEL_UP = EntityChange(BEFORE.id, BEFORE, sensor(waterLevel=prop(6.0), status=prop("ok")))
STATUS_GONE = EntityChange(BEFORE.id, BEFORE, sensor(waterLevel=prop(1.0)))
DELETED = EntityChange(BEFORE.id, BEFORE, None)
RETYPED = EntityChange(
    BEFORE.id,
    BEFORE,
    Entity(BEFORE.id, [SENSOR, TERMS.expand("Gauge")], BEFORE.attrs),
)


@pytest.mark.parametrize(
    ("change", "doc", "expected"),
    [
        (CREATED, {}, True),  # default triggers: attributeCreated, attributeUpdated
        (LEVEL_UP, {}, True),
        (STATUS_GONE, {}, False),  # attributeDeleted is not a default trigger
        (DELETED, {}, False),
        (DELETED, {"notificationTrigger": ["entityDeleted"]}, True),
        (DELETED, {"notificationTrigger": ["attributeDeleted"]}, True),
        (
            DELETED,
            {"notificationTrigger": ["attributeDeleted"], "watchedAttributes": ["speed"]},
            False,
        ),
        (STATUS_GONE, {"notificationTrigger": ["attributeDeleted"]}, True),
        (LEVEL_UP, {"watchedAttributes": ["status"]}, False),
        (LEVEL_UP, {"watchedAttributes": ["waterLevel"]}, True),
        (CREATED, {"notificationTrigger": ["entityCreated"], "watchedAttributes": ["x"]}, False),
        (CREATED, {"notificationTrigger": ["attributeUpdated"]}, False),
        (LEVEL_UP, {"notificationTrigger": ["entityUpdated"]}, True),
        (RETYPED, {}, False),
        (RETYPED, {"notificationTrigger": ["entityUpdated"]}, True),
        (LEVEL_UP, {"q": "waterLevel>5"}, True),
        (LEVEL_UP, {"q": "waterLevel>7"}, False),
        (LEVEL_UP, {"entities": [{"type": "Gauge"}]}, False),
        (LEVEL_UP, {"entities": [{"type": "FloodSensor", "idPattern": ":2$"}]}, False),
        (LEVEL_UP, {"isActive": False}, False),
    ],
)
def test_what_a_subscription_hears(
    change: EntityChange, doc: dict[str, Any], expected: bool
) -> None:
    assert hears(change, **doc) is expected


def test_one_instance_deleted_among_several_is_attribute_deleted() -> None:
    gauge = prop(1.2, datasetId="urn:ngsi-ld:Dataset:gauge")
    before = sensor(waterLevel=[prop(1.0), gauge])
    after = sensor(waterLevel=[prop(1.0)])
    change = EntityChange(before.id, before, after)
    assert hears(change, notificationTrigger=["attributeDeleted"])
    assert not hears(change, notificationTrigger=["attributeUpdated"])
