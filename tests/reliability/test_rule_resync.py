"""A rule decision lost in a crash: the change was committed and acknowledged, but the
process died before the rule engine's worker saved the episode it started (or cleared).
Found by the crash scenario (tests/reliability/scenarios.py `rules`, seed 2 on SQLite: the
last machine heated before the kill never opened a case). On start the engine now brings
the stored states in line with the stored entities."""

from __future__ import annotations

from cityos.context.broker import Broker
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from tests.rules.world import Cases, Clock, machine, world
from tests.stores import StoreFactory

M1 = "urn:ngsi-ld:Machine:1"
OVERHEAT = """
id: overheat
type: Machine
when: {q: temperature>90, for: 5m}
cooldown: 30m
then:
  - case: {category: machine-fault, priority: high}
"""


def write_unseen(stores: StoreFactory, clock: Clock, temperature: float) -> None:
    """A change committed without the engine hearing of it: as if acknowledged by a
    process that died before its decision was saved."""
    store = stores("data")
    try:
        fragment = {"temperature": {"type": "Property", "value": temperature}}
        entity = parse_entity(fragment, ContextResolver().core, clock.iso(), partial=True)
        Broker(store, clock=clock.iso).merge("", M1, entity)
    finally:
        store.close()


def test_a_condition_held_when_the_process_died_still_fires_once(
    store_factory: StoreFactory,
) -> None:
    clock, cases = Clock(), Cases()
    with world(store_factory, clock, cases) as city:
        city.rules(OVERHEAT)
        city.create(machine(temperature=20))
    write_unseen(store_factory, clock, 95)
    with world(store_factory, clock, cases) as city:
        [state] = city.engine.states("", "overheat") or []
        assert state.entity == M1 and state.since == clock.now and state.armed
        assert city.later(299) == 0
        assert city.later(1) == 1
        assert city.later(3600) == 0
    with world(store_factory, clock, cases) as city:
        assert city.later(3600) == 0  # fired and still holding: not again after a restart
    assert len(cases.ids) == 1


def test_a_condition_cleared_when_the_process_died_is_cleared(
    store_factory: StoreFactory,
) -> None:
    clock, cases = Clock(), Cases()
    with world(store_factory, clock, cases) as city:
        city.rules(OVERHEAT)
        city.create(machine(temperature=95))
        assert city.later(300) == 1
    write_unseen(store_factory, clock, 20)
    clock.now += 3600
    with world(store_factory, clock, cases) as city:
        [state] = city.engine.states("", "overheat") or []
        assert state.armed and state.since is None
        city.merge(M1, temperature=96)  # a new episode, not the old one still held
        assert city.later(300) == 1
    assert len(cases.ids) == 2
