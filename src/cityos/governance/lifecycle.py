"""The case lifecycle: which action leads from which state to which, and who may take it.

    reported ──accept──▶ accepted ──dispatch──▶ dispatched ──start──▶ in_progress
       │ reject ▶ rejected                          ▲                      │ resolve
       │ merge  ▶ merged                            │ fail                 ▼
                       closed ◀──close── verified ◀─┴─verify──────── resolved
                         └──reopen (within the window)──▶ dispatched

A pure table, so the API, the rules and the tests all read the same one. Departments act
only on the cases routed to them; `admin` may take any action the state allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from cityos.governance.errors import IllegalTransition, NotAllowed
from cityos.governance.model import Actor, CaseRecord, Stage, State

OWN_DEPARTMENT = "department"
"""Stands in a role list for "a department:<id> role naming the case's department"."""

OPERATORS = frozenset({"operator", "supervisor"})


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    sources: frozenset[State]
    target: State
    roles: frozenset[str]
    ends: Stage | None = None
    """The deadline stage this action completes."""
    needs_note: bool = False


def _action(
    name: str,
    sources: set[State],
    target: State,
    roles: set[str],
    ends: Stage | None = None,
    needs_note: bool = False,
) -> Action:
    return Action(name, frozenset(sources), target, frozenset(roles), ends, needs_note)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action("accept", {State.REPORTED}, State.ACCEPTED, set(OPERATORS), Stage.ACCEPT),
        _action("reject", {State.REPORTED}, State.REJECTED, set(OPERATORS), Stage.ACCEPT, True),
        _action("merge", {State.REPORTED}, State.MERGED, set(OPERATORS), Stage.ACCEPT),
        _action("dispatch", {State.ACCEPTED}, State.DISPATCHED, set(OPERATORS), Stage.DISPATCH),
        _action("start", {State.DISPATCHED}, State.IN_PROGRESS, {OWN_DEPARTMENT, *OPERATORS}),
        _action("resolve", {State.IN_PROGRESS}, State.RESOLVED, {OWN_DEPARTMENT}, Stage.RESOLVE),
        _action("verify", {State.RESOLVED}, State.VERIFIED, {"inspector", "supervisor"}),
        _action(
            "fail",
            {State.RESOLVED},
            State.DISPATCHED,
            {"inspector", "supervisor"},
            needs_note=True,
        ),
        _action("close", {State.VERIFIED}, State.CLOSED, set(OPERATORS)),
        _action("reopen", {State.CLOSED}, State.DISPATCHED, {*OPERATORS, "citizen"}, None, True),
    )
}
"""Every action; `fail` is the failed verification, sending the case back to dispatched."""


def allowed_actions(state: State) -> list[str]:
    """The actions that lead somewhere from `state`, in lifecycle order."""
    return [a.name for a in ACTIONS.values() if state in a.sources]


def check(action_name: str, case: CaseRecord, actor: Actor) -> tuple[Action, str]:
    """The action and the role it is taken in; 409 if illegal here, 403 if not this actor's."""
    action = ACTIONS.get(action_name)
    allowed = allowed_actions(case.state)
    if action is None:
        raise IllegalTransition(
            f"There is no action {action_name!r}; from {case.state} the case can: "
            f"{', '.join(allowed) or 'nothing'}.",
            allowed,
        )
    if case.state not in action.sources:
        raise IllegalTransition(
            f"A case in state {case.state} cannot take the action {action.name}; it can: "
            f"{', '.join(allowed) or 'nothing'}.",
            allowed,
        )
    role = acting_role(action, case, actor)
    if role is None:
        raise NotAllowed(
            f"{actor.id} ({', '.join(sorted(actor.roles)) or 'no role'}) may not "
            f"{action.name} case {case.id}; that takes one of: {_describe(action, case)}."
        )
    return action, role


def acting_role(action: Action, case: CaseRecord, actor: Actor) -> str | None:
    """The actor's role that permits the action on this case, if any."""
    if "admin" in actor.roles:
        return "admin"
    if OWN_DEPARTMENT in action.roles and case.department in actor.department():
        return f"department:{case.department}"
    if "citizen" in action.roles and "citizen" in actor.roles and _reported(case, actor):
        return "citizen"
    for role in sorted(action.roles - {OWN_DEPARTMENT, "citizen"}):
        if role in actor.roles:
            return role
    return None


def _reported(case: CaseRecord, actor: Actor) -> bool:
    """Whether the citizen is the case's reporter (a citizen acts only on their own case)."""
    return actor.id in case.reporter.values()


def _describe(action: Action, case: CaseRecord) -> str:
    names = [*sorted(action.roles - {OWN_DEPARTMENT}), "admin"]
    if OWN_DEPARTMENT in action.roles:
        names.insert(0, f"department:{case.department}")
    if "citizen" in names:
        names[names.index("citizen")] = "citizen (the reporter)"
    return ", ".join(names)
