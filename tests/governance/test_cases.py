"""Cases through the service: reports, routing, lifecycle, trail, deadlines, duplicates."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
import psycopg
import pytest

from cityos.context.broker import Broker
from cityos.context.entity import EntityChange
from cityos.context.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cityos.governance.config import GovernanceConfig
from cityos.governance.entity import CASE_TYPE, STALE_DESCRIPTION, term
from cityos.governance.errors import IllegalTransition, NotAllowed
from cityos.governance.grid import grid_cell
from cityos.governance.model import CaseFilter, Priority, Report, Source, Stage, State
from cityos.governance.service import CaseService
from cityos.store.cases import CaseWrite
from tests.stores import StoreFactory

from .conftest import (
    CITIZEN,
    INSPECTOR,
    OPERATOR,
    SUPERVISOR,
    SYSTEM_ACTOR,
    YUZHONG,
    ManualClock,
    crew,
)

WANZHOU = (108.38, 30.81)


def pothole(location: tuple[float, float] | None = YUZHONG, **extra: object) -> Report:
    fields: dict[str, object] = {
        "reporter": {"email": CITIZEN.id, "phone": "+86 138 0000 0000"},
        "description": "A deep hole in the bus lane",
        **extra,
    }
    return Report(category="pothole", source=Source.CITIZEN, location=location, **fields)  # type: ignore[arg-type]


def test_a_report_becomes_a_routed_case_with_a_deadline(
    service: CaseService, config: GovernanceConfig, clock: ManualClock
) -> None:
    record = service.report("", pothole(), CITIZEN)
    assert record.state is State.REPORTED
    assert record.district == "Yuzhong"
    assert record.cell == grid_cell(*YUZHONG, config.grid_resolution)
    routing = config.router.route("pothole", YUZHONG)
    assert record.department == routing.department
    assert record.routing.startswith(f"routed to {config.departments[record.department].name}")
    assert "because" in record.routing
    assert record.priority is config.categories["pothole"].priority
    assert record.due[Stage.ACCEPT] > clock.now
    [entry] = service.trail("", record.id)
    assert (entry.action, entry.to_state, entry.actor, entry.role) == (
        "report",
        State.REPORTED,
        CITIZEN.id,
        "citizen",
    )


def test_the_case_entity_is_public_and_keeps_the_contact_private(
    service: CaseService,
) -> None:
    record = service.report("", pothole(), CITIZEN)
    entity = service.broker.retrieve("", record.id)
    assert entity.types == [CASE_TYPE]
    assert entity.attrs[term("state")][0]["value"] == "reported"
    assert entity.attrs[term("district")][0]["value"] == "Yuzhong"
    assert entity.attrs[term("location")][0]["value"]["coordinates"] == list(YUZHONG)
    text = orjson.dumps({"attrs": entity.attrs}).decode()
    assert CITIZEN.id not in text and "138 0000" not in text
    assert service.get("", record.id).reporter["email"] == CITIZEN.id


def walk(service: CaseService, case_id: str, department: str) -> None:
    service.act("", case_id, "accept", OPERATOR)
    service.act("", case_id, "dispatch", OPERATOR)
    service.act("", case_id, "start", crew(department))
    service.act("", case_id, "resolve", crew(department), "filled and rolled")
    service.act("", case_id, "verify", INSPECTOR)
    service.act("", case_id, "close", OPERATOR)


def test_the_whole_lifecycle_leaves_an_append_only_trail(
    service: CaseService, store: Any, clock: ManualClock
) -> None:
    record = service.report("", pothole(), CITIZEN)
    department = record.department
    clock.advance(hours=1)
    walk(service, record.id, department)
    closed = service.get("", record.id)
    assert closed.state is State.CLOSED
    assert closed.closed_at == clock.now
    assert set(closed.done) == {Stage.ACCEPT, Stage.DISPATCH, Stage.RESOLVE}
    trail = service.trail("", record.id)
    assert [(e.action, e.from_state, e.to_state) for e in trail] == [
        ("report", None, State.REPORTED),
        ("accept", State.REPORTED, State.ACCEPTED),
        ("dispatch", State.ACCEPTED, State.DISPATCHED),
        ("start", State.DISPATCHED, State.IN_PROGRESS),
        ("resolve", State.IN_PROGRESS, State.RESOLVED),
        ("verify", State.RESOLVED, State.VERIFIED),
        ("close", State.VERIFIED, State.CLOSED),
    ]
    assert [e.role for e in trail[1:]] == [
        "operator",
        "operator",
        f"department:{department}",
        f"department:{department}",
        "inspector",
        "operator",
    ]
    assert trail[4].note == "filled and rolled"
    assert [e.seq for e in trail] == sorted(e.seq for e in trail)
    refused = (sqlite3.IntegrityError, psycopg.IntegrityError)
    with pytest.raises(refused, match="append-only"), store.transaction() as db:
        db.execute("UPDATE case_trail SET note = 'rewritten'")
    with pytest.raises(refused, match="append-only"), store.transaction() as db:
        db.execute("DELETE FROM case_trail")
    assert len(service.trail("", record.id)) == 7


def test_illegal_and_unauthorised_actions_change_nothing(service: CaseService) -> None:
    record = service.report("", pothole(), CITIZEN)
    with pytest.raises(IllegalTransition) as illegal:
        service.act("", record.id, "close", OPERATOR)
    assert illegal.value.allowed == ["accept", "reject", "merge"]
    with pytest.raises(NotAllowed):
        service.act("", record.id, "accept", crew(record.department))
    assert service.get("", record.id).state is State.REPORTED
    assert len(service.trail("", record.id)) == 1
    with pytest.raises(ResourceNotFound):
        service.act("", "urn:ngsi-ld:Case:nope", "accept", OPERATOR)


def test_rejecting_failing_and_reopening_need_a_reason(service: CaseService) -> None:
    record = service.report("", pothole(), CITIZEN)
    with pytest.raises(BadRequestData, match="note"):
        service.act("", record.id, "reject", OPERATOR)
    rejected = service.act("", record.id, "reject", OPERATOR, "Private road, not the city's")
    assert rejected.state is State.REJECTED and rejected.note == "Private road, not the city's"


def test_failed_verification_goes_back_to_dispatched_with_a_new_deadline(
    service: CaseService, clock: ManualClock
) -> None:
    record = service.report("", pothole(), CITIZEN)
    for action, actor in [
        ("accept", OPERATOR),
        ("dispatch", OPERATOR),
        ("start", crew(record.department)),
        ("resolve", crew(record.department)),
    ]:
        service.act("", record.id, action, actor)
    first_due = service.get("", record.id).due[Stage.RESOLVE]
    clock.advance(days=1)
    failed = service.act("", record.id, "fail", INSPECTOR, "Still a hole")
    assert failed.state is State.DISPATCHED
    assert Stage.RESOLVE not in failed.done
    assert failed.due[Stage.RESOLVE] > first_due


def test_a_closed_case_reopens_only_within_the_window(
    service: CaseService, config: GovernanceConfig, clock: ManualClock
) -> None:
    first = service.report("", pothole(), CITIZEN)
    walk(service, first.id, first.department)
    clock.advance(days=1)
    reopened = service.act("", first.id, "reopen", CITIZEN, "It broke again")
    assert (reopened.state, reopened.reopened) == (State.DISPATCHED, 1)
    service.act("", first.id, "start", crew(first.department))
    service.act("", first.id, "resolve", crew(first.department))
    service.act("", first.id, "verify", INSPECTOR)
    service.act("", first.id, "close", OPERATOR)
    clock.now += config.reopen_window
    clock.advance(seconds=1)
    with pytest.raises(IllegalTransition, match="reopened"):
        service.act("", first.id, "reopen", CITIZEN, "Again")


def test_dispatch_may_reroute_to_a_known_department(
    service: CaseService, config: GovernanceConfig
) -> None:
    record = service.report("", pothole(), CITIZEN)
    service.act("", record.id, "accept", OPERATOR)
    other = next(d for d in config.departments if d != record.department)
    with pytest.raises(BadRequestData, match="no department"):
        service.act("", record.id, "dispatch", OPERATOR, department="ministry-of-magic")
    moved = service.act("", record.id, "dispatch", SUPERVISOR, department=other)
    assert moved.department == other
    assert SUPERVISOR.id in moved.routing
    with pytest.raises(NotAllowed):
        service.act("", record.id, "start", crew(record.department))
    service.act("", record.id, "start", crew(other))


def test_bad_reports_are_refused_with_reasons(service: CaseService) -> None:
    with pytest.raises(BadRequestData, match="no case category"):
        service.report("", Report(category="dragons", source=Source.CITIZEN), CITIZEN)
    with pytest.raises(BadRequestData, match="longitude"):
        service.report("", pothole(location=(200.0, 29.5)), CITIZEN)
    with pytest.raises(BadRequestData, match="http"):
        service.report("", pothole(media=["file:///etc/passwd"]), CITIZEN)
    with pytest.raises(NotAllowed):
        service.report("", Report(category="pothole", source=Source.INSPECTOR), CITIZEN)
    with pytest.raises(NotAllowed):
        service.report("", Report(category="pothole", source=Source.RULE), OPERATOR)


def test_an_address_names_the_district_when_there_is_no_point(service: CaseService) -> None:
    record = service.report(
        "", pothole(location=None, address="88 Minzu Rd, Yuzhong District, Chongqing"), CITIZEN
    )
    assert record.district == "Yuzhong"
    assert record.location is None and record.cell is None


def test_a_report_with_a_known_id_is_idempotent(service: CaseService) -> None:
    report = Report(
        category="pothole",
        source=Source.RULE,
        location=YUZHONG,
        case_id="urn:ngsi-ld:Case:rule:r1:abc:1",
        priority=Priority.HIGH,
    )
    first = service.report("", report, SYSTEM_ACTOR)
    assert service.open_for_rule("", report) == first.id == report.case_id
    with pytest.raises(AlreadyExists):  # only a rule re-firing gets the case back
        service.report("", report, SYSTEM_ACTOR)
    assert first.priority is Priority.HIGH
    assert len(service.trail("", first.id)) == 1


def test_overdue_cases_are_escalated_once_and_subscribers_hear_it(
    service: CaseService, config: GovernanceConfig, clock: ManualClock
) -> None:
    heard: list[EntityChange] = []
    service.broker.listeners.append(lambda tenant, changes: heard.extend(changes))
    record = service.report("", pothole(), CITIZEN)
    assert service.escalate_overdue() == 0
    clock.now = record.due[Stage.ACCEPT]
    assert service.escalate_overdue() == 0  # due at this instant: not yet overdue
    clock.advance(seconds=1)
    assert service.escalate_overdue() == 1
    assert service.escalate_overdue() == 0  # flagged once
    late = service.get("", record.id)
    assert late.overdue is Stage.ACCEPT
    assert late.escalated_to == config.escalation_role
    assert late.state is State.REPORTED
    assert service.trail("", record.id)[-1].action == "escalate"
    assert heard[-1].after is not None
    assert heard[-1].after.attrs[term("overdue")][0]["value"] == "accept"
    assert [r.id for r in service.find("", CaseFilter(overdue=True))] == [record.id]
    accepted = service.act("", record.id, "accept", OPERATOR)
    assert accepted.overdue is None and accepted.escalated_to is None
    assert term("overdue") not in service.broker.retrieve("", record.id).attrs
    assert accepted.done[Stage.ACCEPT] > accepted.due[Stage.ACCEPT]


def test_a_nearby_report_is_proposed_as_a_duplicate_and_merging_follows_the_original(
    service: CaseService, config: GovernanceConfig, clock: ManualClock
) -> None:
    original = service.report("", pothole(), CITIZEN)
    nearby = (YUZHONG[0] + 0.0003, YUZHONG[1])  # about 29 m east
    far = (YUZHONG[0] + 0.002, YUZHONG[1])  # about 190 m east
    second = service.report("", pothole(nearby, reporter={"email": "li@example.cn"}), CITIZEN)
    assert second.duplicate_of == original.id
    assert service.report("", pothole(far), CITIZEN).duplicate_of is None
    other = Report(category="illegal-dumping", source=Source.CITIZEN, location=nearby)
    assert service.report("", other, CITIZEN).duplicate_of is None
    merged = service.act("", second.id, "merge", OPERATOR, into=original.id)
    assert (merged.state, merged.merged_into) == (State.MERGED, original.id)
    assert service.cases.followers("", original.id) == ["li@example.cn"]
    with pytest.raises(BadRequestData, match="merge into"):
        third = service.report("", pothole(nearby), CITIZEN)
        service.act("", third.id, "merge", OPERATOR, into=second.id)
    clock.now += config.duplicate_window
    clock.advance(seconds=1)
    assert service.report("", pothole(nearby), CITIZEN).duplicate_of is None


def test_cases_survive_a_restart(
    store_factory: StoreFactory, config: GovernanceConfig, clock: ManualClock
) -> None:
    store = store_factory("restart")
    service = CaseService(Broker(store), config, clock)
    record = service.report("", pothole(), CITIZEN)
    service.act("", record.id, "accept", OPERATOR)
    store.close()
    reopened = store_factory("restart")
    try:
        again = CaseService(Broker(reopened), config, clock)
        assert again.get("", record.id).state is State.ACCEPTED
        assert [e.action for e in again.trail("", record.id)] == ["report", "accept"]
        assert again.get("", record.id).reporter["email"] == CITIZEN.id
    finally:
        reopened.close()


def test_required_questions_are_asked_of_people_not_of_sensors(
    service: CaseService, config: GovernanceConfig
) -> None:
    category = next(c for c in config.categories.values() if any(a.required for a in c.attributes))
    question = next(a.code for a in category.attributes if a.required)
    with pytest.raises(BadRequestData, match=question):
        service.report("", Report(category=category.code, source=Source.CITIZEN), CITIZEN)
    sensed = service.report("", Report(category=category.code, source=Source.SENSOR), SYSTEM_ACTOR)
    assert sensed.attributes == {}


def test_cases_stored_under_stale_names_are_rewritten_once(service: CaseService) -> None:
    """Cases written before their names were expanded with the core @context hold
    `description` under default-context/; opening the service rewrites them from the record."""
    tenants = ["", "other"]
    for tenant in tenants:
        record = service.report(tenant, pothole(), CITIZEN)
        entity = service.broker.store.get(tenant, record.id)
        assert entity is not None
        entity.attrs[STALE_DESCRIPTION] = entity.attrs.pop(term("description"))
        service.broker.commit_cases(tenant, [entity], [CaseWrite(record)])
    assert term("description") == "http://purl.org/dc/terms/description"
    assert service.reexpand_stale(batch=1) == 2
    assert service.reexpand_stale() == 0
    for tenant in tenants:
        [case] = service.find(tenant, CaseFilter())
        entity = service.broker.store.get(tenant, case.id)
        assert entity is not None and STALE_DESCRIPTION not in entity.attrs
        assert entity.instance(term("description"))["value"] == "A deep hole in the bus lane"
