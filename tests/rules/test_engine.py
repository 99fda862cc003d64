"""Episodes: fire, hold, tick, cooldown, re-arm, deviation, geo, actions, restarts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from cityos.governance.model import Priority, Source
from tests.rules.world import START, Cases, Clock, World, machine, world
from tests.stores import StoreFactory

TEMP = "https://uri.etsi.org/ngsi-ld/default-context/temperature"
ALARM = "https://uri.etsi.org/ngsi-ld/default-context/alarm"
M1 = "urn:ngsi-ld:Machine:1"

OVERHEAT = """
id: overheat
description: Spindle of {id} at {value} °C
type: Machine
when:
  q: temperature>90;status=="running"
  for: 5m
cooldown: 30m
then:
  - case: {category: machine-fault, priority: high, description: "Overheating on {id} ({value})"}
"""


@pytest.fixture
def city(store_factory: StoreFactory) -> Iterator[World]:
    with world(store_factory) as found:
        yield found


def case_id(rule: str, entity: str, episode: int) -> str:
    digest = hashlib.sha1(entity.encode()).hexdigest()[:12]
    return f"urn:ngsi-ld:Case:rule:{rule}:{digest}:{episode}"


def test_fires_at_once_without_for(city: World) -> None:
    city.rules(OVERHEAT.replace("for: 5m", "for: 0"))
    city.create(machine(temperature=95))
    assert city.cases.ids == [case_id("overheat", M1, 1)]
    tenant, report = city.cases.reports[0]
    assert tenant == ""
    assert report.source is Source.RULE and report.priority is Priority.HIGH
    assert report.category == "machine-fault"
    assert report.description == f"Overheating on {M1} (95)"
    assert report.location == (106.55, 29.56)
    assert report.raised_by == M1


def test_holds_then_the_tick_fires_without_an_update(city: World) -> None:
    city.rules(OVERHEAT)
    city.create(machine(temperature=95))
    assert city.cases.reports == []
    assert city.later(299) == 0
    assert city.cases.reports == []
    assert city.later(1) == 1  # five minutes held, no update arrived
    assert city.cases.ids == [case_id("overheat", M1, 1)]
    assert city.later(600) == 0  # one firing per episode


def test_an_episode_that_clears_before_for_never_fires(city: World) -> None:
    city.rules(OVERHEAT)
    city.create(machine(temperature=95))
    city.later(200)
    city.merge(M1, temperature=80)  # clears
    city.merge(M1, temperature=96)  # a new episode starts now
    assert city.later(200) == 0
    assert city.later(100) == 1
    assert city.cases.ids == [case_id("overheat", M1, 1)]


def test_other_attributes_do_not_interrupt_or_refire(city: World) -> None:
    city.rules(OVERHEAT.replace("for: 5m", "for: 0"))
    city.create(machine(temperature=95))
    city.merge(M1, temperature=97)
    city.merge(M1, speed=1200)  # not named by q: not even evaluated
    assert len(city.cases.reports) == 1


def test_rearms_only_after_clearing_and_cools_down(city: World) -> None:
    city.rules(OVERHEAT.replace("for: 5m", "for: 0"))
    city.create(machine(temperature=95))
    city.later(60)
    city.merge(M1, temperature=99)  # still the same episode
    assert len(city.cases.reports) == 1
    city.merge(M1, temperature=50)  # clears: re-armed
    city.merge(M1, temperature=95)  # but inside the 30 minute cooldown
    assert len(city.cases.reports) == 1
    assert city.later(28 * 60) == 0
    assert city.later(60) == 1  # the cooldown passes while it still holds
    assert city.cases.ids == [case_id("overheat", M1, 1), case_id("overheat", M1, 2)]
    city.clock.now += 3600
    city.merge(M1, temperature=50)
    city.merge(M1, temperature=95)  # after the cooldown: at once
    assert city.cases.ids[-1] == case_id("overheat", M1, 3)


def test_deleting_the_entity_clears_its_episode(city: World) -> None:
    city.rules(OVERHEAT)
    city.create(machine(temperature=95))
    city.broker.delete("", M1)
    city.engine.wait_idle()
    assert city.later(600) == 0
    [state] = city.engine.states("", "overheat") or []
    assert state.since is None and state.armed


def test_geo_restriction(city: World) -> None:
    city.rules(
        """
id: central
type: Machine
where: {georel: within, geometry: Polygon,
        coordinates: [[[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.6], [106.5, 29.5]]]}
when: {q: temperature>90}
then: [{case: {category: machine-fault}}]
"""
    )
    outside = machine(2, 95)
    outside["location"]["value"]["coordinates"] = [107.0, 30.0]
    city.create(outside)
    city.create(machine(1, 95))
    assert [r.raised_by for _, r in city.cases.reports] == [M1]


def test_set_goes_through_the_broker_and_is_not_evaluated_again(city: World) -> None:
    city.rules(
        """
id: flag
type: Machine
when: {q: temperature>90}
then:
  - set: {attribute: alarm, value: overheating}
"""
    )
    city.rules(
        """
id: on-alarm
type: Machine
when: {q: alarm=="overheating"}
then: [{case: {category: never}}]
"""
    )
    city.create(machine(temperature=95))
    assert city.get(M1).attrs[ALARM][0]["value"] == "overheating"
    assert city.cases.reports == []  # the engine does not feed on its own writes


def test_two_rules_of_one_type_one_entity(city: World) -> None:
    city.rules(
        """
rules:
  - {id: hot, type: Machine, when: {q: temperature>90}, then: [{case: {category: hot}}]}
  - {id: warm, type: Machine, when: {q: temperature>40}, then: [{case: {category: warm}}]}
  - {id: idle, type: Machine, when: {q: status=="idle"}, then: [{case: {category: idle}}]}
"""
    )
    city.create(machine(temperature=50))
    assert [r.category for _, r in city.cases.reports] == ["warm"]
    city.merge(M1, temperature=95)
    assert [r.category for _, r in city.cases.reports] == ["warm", "hot"]
    [hot] = [s for s in city.engine.statuses("") if s.rule.id == "hot"]
    assert (hot.fired, hot.active, hot.last_fired) == (1, 1, START)


VIBRATION = """
id: vibration
type: Machine
when:
  deviates: {attribute: vibration, window: 1h, zscore: 2, min_samples: 4}
then: [{case: {category: vibration, description: "{id} vibrates at {value}"}}]
"""


def test_deviation_against_a_hand_computed_baseline(city: World) -> None:
    city.rules(VIBRATION)
    city.create(machine(vibration={"type": "Property", "value": 10}))
    for value in (12, 10, 12):  # baseline 10, 12, 10, 12: mean 11, population std 1
        city.clock.now += 60
        city.merge(M1, vibration=value)
    city.clock.now += 60
    city.merge(M1, vibration=12.9)  # z = 1.9: not yet
    assert city.cases.reports == []
    city.clock.now += 60
    # against 10, 12, 10, 12, 12.9: mean 11.38, std 1.17371; z = 2.52 / 1.17371 = 2.147
    city.merge(M1, vibration=13.9)
    assert [r.description for _, r in city.cases.reports] == [f"{M1} vibrates at 13.9"]
    city.clock.now += 60
    city.merge(M1, vibration=30)  # still deviating: the same episode
    assert len(city.cases.reports) == 1
    city.clock.now += 60
    city.merge(M1, vibration=12)  # |z| back under 2: re-armed
    city.clock.now += 60
    city.merge(M1, vibration=80)
    assert len(city.cases.reports) == 2


def test_deviation_window_forgets_old_values(city: World) -> None:
    city.rules(VIBRATION)
    city.create(machine(vibration={"type": "Property", "value": 10}))
    for value in (10, 10, 10):
        city.clock.now += 60
        city.merge(M1, vibration=value)
    city.clock.now += 2 * 3600  # the baseline is out of the window: too few samples
    city.merge(M1, vibration=500)
    assert city.cases.reports == []


def test_restart_neither_refires_nor_forgets(store_factory: StoreFactory) -> None:
    clock, cases = Clock(), Cases()
    with world(store_factory, clock, cases) as city:
        city.rules(OVERHEAT)
        city.rules(OVERHEAT.replace("id: overheat", "id: slow").replace("5m", "10m"))
        city.rules(VIBRATION)
        city.create(machine(temperature=95, vibration={"type": "Property", "value": 10}))
        for value in (12, 10, 12):
            city.clock.now += 60
            city.merge(M1, vibration=value)
        city.later(120)  # overheat has held 5 minutes: fired; slow has not
        assert cases.ids == [case_id("overheat", M1, 1)]
    with world(store_factory, clock, cases) as city:
        assert city.later(60) == 0  # the fired episode is not fired again
        assert city.later(300) == 1  # slow's `for` carried on over the restart
        assert cases.ids == [case_id("overheat", M1, 1), case_id("slow", M1, 1)]
        city.clock.now += 60
        city.merge(M1, vibration=13.7)  # the baseline came back from the history
        assert cases.ids[-1] == case_id("vibration", M1, 1)
        statuses = {s.rule.id: s.fired for s in city.engine.statuses("")}
        assert statuses == {"overheat": 1, "slow": 1, "vibration": 1}


def test_owed_actions_run_again_after_a_crash(store_factory: StoreFactory) -> None:
    """The opener failing stands for a crash between saving the firing and acting on it."""
    clock = Clock()

    def broken(tenant: str, report: object) -> str:
        raise RuntimeError("governance is down")

    with world(store_factory, clock, broken) as city:  # type: ignore[arg-type]
        city.rules(OVERHEAT.replace("for: 5m", "for: 0"))
        city.create(machine(temperature=95))
    cases = Cases()
    with world(store_factory, clock, cases):
        pass
    assert cases.ids == [case_id("overheat", M1, 1)]  # same episode, same id
    cases2 = Cases()
    with world(store_factory, clock, cases2):
        pass
    assert cases2.ids == []  # settled: not owed any more


def test_replacing_a_rule_resets_its_state(city: World) -> None:
    [rule] = city.rules(OVERHEAT.replace("for: 5m", "for: 0"))
    city.create(machine(temperature=95))
    assert len(city.cases.reports) == 1
    city.engine.put("", rule, replace=True)
    assert city.engine.states("", "overheat") == []
    city.merge(M1, temperature=96)
    assert city.cases.ids[-1] == case_id("overheat", M1, 1)
