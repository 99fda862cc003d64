"""A rule's `case` action through the real governance service: a routed case, raised by the
entity, and never a second one for the same episode — not even when the action runs again
after a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from cityos.context.broker import Broker
from cityos.governance.config import load_config
from cityos.governance.model import CaseFilter, Report, Source, State
from cityos.governance.service import CaseService
from tests.stores import StoreFactory

from .world import Cases, Clock, machine, world

RULE = """
rules:
  - id: overheat
    type: Machine
    when: {q: temperature>90}
    cooldown: 1m
    then:
      - case: {category: machine-fault, priority: high, description: "Overheating on {id}"}
"""
M1 = "urn:ngsi-ld:Machine:1"


class Governed(Cases):
    """Opens the rule's cases with the governance service, on the world's own broker."""

    def __init__(self) -> None:
        super().__init__()
        self.service: CaseService | None = None

    def __call__(self, tenant: str, report: Report) -> str:
        self.reports.append((tenant, report))
        assert self.service is not None
        return self.service.open_for_rule(tenant, report)


def attach(broker: Broker, cases: Governed, clock: Clock) -> CaseService:
    cases.service = CaseService(
        broker, load_config(), lambda: datetime.fromtimestamp(clock.now, UTC)
    )
    return cases.service


def test_a_rule_opens_one_routed_case_per_episode(store_factory: StoreFactory) -> None:
    clock, cases = Clock(), Governed()
    with world(store_factory, clock, cases) as city:
        service = attach(city.broker, cases, clock)
        city.rules(RULE)
        city.create(machine(temperature=95))
        [case] = service.find("", CaseFilter())
        assert (case.category, case.source, case.state) == (
            "machine-fault",
            Source.RULE,
            State.REPORTED,
        )
        assert case.raised_by == M1 and case.description == f"Overheating on {M1}"
        assert case.district is not None and case.department in load_config().departments
        assert service.trail("", case.id)[0].actor == "cityos"
        # the action owed again (as after a crash) finds the case already there
        assert service.open_for_rule("", cases.reports[0][1]) == case.id
        city.merge(M1, temperature=20)  # clears: re-arms
        clock.now += 120  # past the cooldown
        city.merge(M1, temperature=99)  # a second episode: a second case
        assert len(service.find("", CaseFilter())) == 2
    with world(store_factory, clock, cases) as city:  # a restart opens nothing new
        service = attach(city.broker, cases, clock)
        city.later(60)
        assert len(service.find("", CaseFilter())) == 2
