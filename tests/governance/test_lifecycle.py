"""Every action from every state, and who may take it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cityos.governance.errors import IllegalTransition, NotAllowed
from cityos.governance.lifecycle import ACTIONS, allowed_actions, check
from cityos.governance.model import Actor, CaseRecord, Priority, Source, State

from .conftest import CITIZEN, INSPECTOR, OPERATOR, SUPERVISOR, crew

EXPECTED = {
    State.REPORTED: {"accept": State.ACCEPTED, "reject": State.REJECTED, "merge": State.MERGED},
    State.ACCEPTED: {"dispatch": State.DISPATCHED},
    State.DISPATCHED: {"start": State.IN_PROGRESS},
    State.IN_PROGRESS: {"resolve": State.RESOLVED},
    State.RESOLVED: {"verify": State.VERIFIED, "fail": State.DISPATCHED},
    State.VERIFIED: {"close": State.CLOSED},
    State.CLOSED: {"reopen": State.DISPATCHED},
    State.REJECTED: {},
    State.MERGED: {},
}
"""The lifecycle of the issue, written out by hand."""

ADMIN = Actor("root", frozenset({"admin"}))


def case(state: State, department: str = "roads", reporter: str = CITIZEN.id) -> CaseRecord:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    return CaseRecord(
        id="urn:ngsi-ld:Case:1",
        category="pothole",
        state=state,
        priority=Priority.NORMAL,
        source=Source.CITIZEN,
        department=department,
        routing="",
        reported_at=now,
        updated_at=now,
        reporter={"email": reporter},
    )


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_from_every_state(state: State, action: str) -> None:
    legal = EXPECTED[state]
    assert allowed_actions(state) == list(legal)
    if action in legal:
        taken, role = check(action, case(state), ADMIN)
        assert (taken.target, role) == (legal[action], "admin")
        return
    with pytest.raises(IllegalTransition) as caught:
        check(action, case(state), ADMIN)
    assert caught.value.status == 409
    assert caught.value.allowed == list(legal)
    assert caught.value.problem()["allowed"] == list(legal)


def test_unknown_action_is_a_409_listing_the_allowed_ones() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check("teleport", case(State.REPORTED), ADMIN)
    assert caught.value.allowed == ["accept", "reject", "merge"]


ROLES = [
    ("accept", State.REPORTED, OPERATOR, "operator"),
    ("accept", State.REPORTED, SUPERVISOR, "supervisor"),
    ("accept", State.REPORTED, crew("roads"), None),
    ("accept", State.REPORTED, INSPECTOR, None),
    ("accept", State.REPORTED, CITIZEN, None),
    ("dispatch", State.ACCEPTED, OPERATOR, "operator"),
    ("dispatch", State.ACCEPTED, crew("roads"), None),
    ("start", State.DISPATCHED, crew("roads"), "department:roads"),
    ("start", State.DISPATCHED, crew("water"), None),
    ("resolve", State.IN_PROGRESS, crew("roads"), "department:roads"),
    ("resolve", State.IN_PROGRESS, crew("water"), None),
    ("resolve", State.IN_PROGRESS, OPERATOR, None),
    ("verify", State.RESOLVED, INSPECTOR, "inspector"),
    ("verify", State.RESOLVED, crew("roads"), None),
    ("verify", State.RESOLVED, OPERATOR, None),
    ("fail", State.RESOLVED, INSPECTOR, "inspector"),
    ("close", State.VERIFIED, OPERATOR, "operator"),
    ("close", State.VERIFIED, INSPECTOR, None),
    ("reopen", State.CLOSED, CITIZEN, "citizen"),
    ("reopen", State.CLOSED, Actor("someone@else.cn", frozenset({"citizen"})), None),
    ("reopen", State.CLOSED, OPERATOR, "operator"),
    ("reopen", State.CLOSED, crew("roads"), None),
]


@pytest.mark.parametrize(("action", "state", "actor", "role"), ROLES)
def test_who_may_act(action: str, state: State, actor: Actor, role: str | None) -> None:
    if role is not None:
        assert check(action, case(state), actor)[1] == role
        return
    with pytest.raises(NotAllowed) as caught:
        check(action, case(state), actor)
    assert caught.value.status == 403
    assert actor.id in caught.value.detail
