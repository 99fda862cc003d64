"""Does a committed change concern a subscription? Selectors, triggers, geoQ, q and scopeQ.

Pure functions of the subscription and the change (q and scopeQ run on the store's own SQL
through `SnapshotFilter`), so they are tested without a notifier running.
"""

from __future__ import annotations

from cityos.context.entity import Entity, EntityChange
from cityos.context.geo import GeoMatcher, GeoQuery
from cityos.events.subscription import Subscription
from cityos.store.snapshot import SnapshotFilter


def matches(sub: Subscription, change: EntityChange, now: float, snapshot: SnapshotFilter) -> bool:
    """Whether `change` is one that `sub` asked to hear about at `now`."""
    if not sub.is_active or sub.expired(now):
        return False
    entity = change.after or change.before
    assert entity is not None
    if sub.selectors and not any(s.matches(entity.id, entity.types) for s in sub.selectors):
        return False
    if not triggered(sub, change):
        return False
    if sub.geo_test is not None and not located(sub, entity):
        return False
    if sub.q is not None or sub.scope_q is not None:
        return snapshot.matches(entity, sub.q, sub.scope_q)
    return True


def triggered(sub: Subscription, change: EntityChange) -> bool:
    """Whether the kind of change is one of the subscription's notificationTriggers."""
    triggers, watched = sub.triggers, sub.watched
    if change.after is None:  # the entity's attributes go with it
        gone = set(change.before.attrs) if change.before else set()
        watched_gone = gone & watched if watched is not None else gone
        return "entityDeleted" in triggers or (
            "attributeDeleted" in triggers and bool(watched_gone)
        )
    if change.before is None:
        created = set(change.after.attrs)
        relevant = created & watched if watched is not None else created
        if "entityCreated" in triggers and (watched is None or relevant):
            return True
        return "attributeCreated" in triggers and bool(relevant)
    changed = change.changed_attrs()
    relevant = changed & watched if watched is not None else changed
    if not relevant:  # only the type or scope moved
        return watched is None and not changed and "entityUpdated" in triggers
    if "entityUpdated" in triggers:
        return True
    return any(_kinds(change, attr) & triggers for attr in relevant)


def _kinds(change: EntityChange, attr: str) -> set[str]:
    """What happened to `attr`: instances (by datasetId) created, updated, deleted."""
    assert change.before is not None and change.after is not None
    before = {i.get("datasetId"): i for i in change.before.attrs.get(attr, ())}
    after = {i.get("datasetId"): i for i in change.after.attrs.get(attr, ())}
    kinds = set()
    if after.keys() - before.keys():
        kinds.add("attributeCreated")
    if before.keys() - after.keys():
        kinds.add("attributeDeleted")
    if any(before[d] != after[d] for d in before.keys() & after.keys()):
        kinds.add("attributeUpdated")
    return kinds


def located(sub: Subscription, entity: Entity) -> bool:
    assert sub.geo is not None and sub.geo_test is not None
    return geo_matches(sub.geo, sub.geo_test, entity)


def geo_matches(geo: GeoQuery, test: GeoMatcher, entity: Entity) -> bool:
    """Whether an instance of the entity's geoproperty satisfies the geo-query."""
    return any(
        inst.get("type") == "GeoProperty" and test(inst["value"])
        for inst in entity.attrs.get(geo.geoproperty, ())
    )
