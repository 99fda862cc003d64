"""What governance talks about: cases, their reports, the people acting on them.

A case lives twice, by design. Its public face is an NGSI-LD entity of type `Case`, so the
broker's queries, subscriptions and history work on cases like on any other entity. Its
full record, with what must never be public (the reporter's contact) and the facts the
statistics need as columns, is a `CaseRecord` kept by the store's case table, written in
the same transaction as the entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """The grid-management lifecycle of a case."""

    REPORTED = "reported"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"


FINISHED = frozenset({State.REJECTED, State.MERGED, State.CLOSED})
"""States in which nobody works on the case (Open311 calls them `closed`)."""


class Source(StrEnum):
    CITIZEN = "citizen"
    INSPECTOR = "inspector"
    SENSOR = "sensor"
    RULE = "rule"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Stage(StrEnum):
    """The stages that run against a deadline, each named by the step that ends it."""

    ACCEPT = "accept"  # reported → accepted (or rejected / merged)
    DISPATCH = "dispatch"  # accepted → dispatched
    RESOLVE = "resolve"  # dispatched → resolved


_CURRENT_STAGE = {
    State.REPORTED: Stage.ACCEPT,
    State.ACCEPTED: Stage.DISPATCH,
    State.DISPATCHED: Stage.RESOLVE,
    State.IN_PROGRESS: Stage.RESOLVE,
}


def current_stage(state: State) -> Stage | None:
    """The stage a case in `state` is running against its deadline, if any."""
    return _CURRENT_STAGE.get(state)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and in which roles (`operator`, `supervisor`, `inspector`, `citizen`,
    `admin`, `system`, or `department:<id>`)."""

    id: str
    roles: frozenset[str]

    def department(self) -> set[str]:
        """The departments this actor works for."""
        return {r.split(":", 1)[1] for r in self.roles if r.startswith("department:")}


SYSTEM = Actor("cityos", frozenset({"system"}))
"""The platform itself: deadline escalation, rules."""


@dataclass(frozen=True, slots=True)
class Photo:
    """A citizen's photo of a case, stored re-encoded under the media directory as
    `<id>.<ext>`; `hidden` by moderation, it is served to nobody and listed only to staff."""

    id: str
    ext: str
    hidden: bool = False

    @property
    def file(self) -> str:
        return f"{self.id}.{self.ext}"


@dataclass(slots=True)
class Report:
    """A new problem, as a citizen, inspector, sensor or rule reports it."""

    category: str
    source: Source
    description: str | None = None
    location: tuple[float, float] | None = None
    """(longitude, latitude), WGS-84."""
    address: str | None = None
    priority: Priority | None = None
    """None: the category's default priority."""
    reporter: dict[str, str] = field(default_factory=dict)
    """Private contact details (email, phone, names, device and account ids)."""
    media: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    """Answers to the category's questions (Open311 service attributes)."""
    raised_by: str | None = None
    """The id of the entity whose state raised the case (a sensor, a machine)."""
    case_id: str | None = None
    """A chosen id, making the report idempotent (rules use one per episode)."""
    photos: list[Photo] = field(default_factory=list)
    """Photos already checked and stored (citizens/photos.py)."""
    flagged: str | None = None
    """Why an operator should review the report before it is shown (a rude word)."""


@dataclass(slots=True)
class CaseRecord:
    """Everything known about one case; `public()` leaves out the private parts."""

    id: str
    category: str
    state: State
    priority: Priority
    source: Source
    department: str
    routing: str
    """Why this department: "routed to X because …"."""
    reported_at: datetime
    updated_at: datetime
    description: str | None = None
    location: tuple[float, float] | None = None
    address: str | None = None
    district: str | None = None
    cell: str | None = None
    media: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    raised_by: str | None = None
    reporter: dict[str, str] = field(default_factory=dict)
    due: dict[Stage, datetime] = field(default_factory=dict)
    """The deadline of each stage, once the stage has started."""
    done: dict[Stage, datetime] = field(default_factory=dict)
    """When each stage ended."""
    closed_at: datetime | None = None
    overdue: Stage | None = None
    """The stage whose deadline passed, while the case is still in it."""
    escalated_to: str | None = None
    reopened: int = 0
    merged_into: str | None = None
    duplicate_of: str | None = None
    """A proposed original: an open case of the same category close by, reported lately."""
    note: str | None = None
    """The latest note of the trail."""
    token: str | None = None
    """Open311 token for the request."""
    reference: str | None = None
    """The short reference a person reads over the phone (`CQ-2026-000123`)."""
    photos: list[Photo] = field(default_factory=list)
    text_hidden: bool = False
    """Moderation hid the description from every public surface."""
    supporters: int = 0
    """Citizens who said "me too" instead of filing the same problem again."""
    flagged: str | None = None
    """Why the report waits for an operator's review (a rude word), if it does."""


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One step of a case's append-only trail: who, in which role, when, what, why."""

    case_id: str
    seq: int
    action: str
    from_state: State | None
    to_state: State
    actor: str
    role: str
    at: datetime
    note: str | None = None


@dataclass(slots=True)
class CaseFilter:
    """Which cases to list; every member narrows the selection."""

    ids: list[str] | None = None
    categories: list[str] | None = None
    states: list[State] | None = None
    departments: list[str] | None = None
    districts: list[str] | None = None
    overdue: bool | None = None
    since: datetime | None = None
    """Reported at or after."""
    until: datetime | None = None
    """Reported before."""
    limit: int = 100
    offset: int = 0
