"""The governance service: reports become cases, actions move them along the lifecycle.

Every write goes through the broker, as one commit of the `Case` entity and its private
record (`Broker.commit_cases`), holding the broker's write lock from the read that decided
it; so concurrent actions on a case serialise, and a crash leaves either both or neither.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cityos import audit
from cityos.auth.visibility import EVERYTHING, Visibility
from cityos.context.broker import Broker
from cityos.context.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cityos.context.normalize import is_uri
from cityos.governance.config import Category, GovernanceConfig
from cityos.governance.entity import CASE_TYPE, STALE_DESCRIPTION, case_entity
from cityos.governance.errors import IllegalTransition, NotAllowed
from cityos.governance.lifecycle import OPERATORS, check
from cityos.governance.model import (
    FINISHED,
    SYSTEM,
    Actor,
    CaseFilter,
    CaseRecord,
    Photo,
    Priority,
    Report,
    Source,
    Stage,
    State,
    TrailEntry,
    current_stage,
)
from cityos.metrics import Metrics
from cityos.store.base import EntityQuery
from cityos.store.cases import CaseStore, CaseWrite, StatsQuery, StatsRow

Clock = Callable[[], datetime]
Listener = Callable[[str, CaseRecord, TrailEntry], None]
"""Told of every lifecycle action after its commit: (tenant, the case, its trail entry)."""

REPORTERS: dict[Source, frozenset[str]] = {
    Source.CITIZEN: frozenset(),  # anyone may report as a citizen
    Source.INSPECTOR: frozenset({"inspector", *OPERATORS}),
    Source.SENSOR: frozenset({"system", "device", *OPERATORS}),
    Source.RULE: frozenset({"system"}),
}
"""Which roles may file a report from each source (admin may file any)."""

REFERENCE = re.compile(r"^[A-Za-z]{1,8}-\d{4}-\d{6,}$")
"""A short reference: `CQ-2026-000123`."""
_MEDIA = re.compile(r"^https?://[^\s]+$")
_CONTACT_KEYS = ("email", "phone", "account_id", "device_id")


def utc_now() -> datetime:
    return datetime.now(UTC)


class CaseService:
    """Cases on one broker, by one governance configuration, on one clock."""

    def __init__(
        self,
        broker: Broker,
        config: GovernanceConfig,
        clock: Clock = utc_now,
        metrics: Metrics | None = None,
    ) -> None:
        self.broker = broker
        self.config = config
        self.clock = clock
        self.metrics = metrics if metrics is not None else Metrics()
        self.listeners: list[Listener] = []

    @property
    def cases(self) -> CaseStore:
        return self.broker.store.cases

    # -- reading -------------------------------------------------------------------------

    def get(self, tenant: str, case_id: str, sees: Visibility = EVERYTHING) -> CaseRecord:
        """The case, by id or short reference; ResourceNotFound when there is none, or none
        that `sees` sees (a hidden case answers as a missing one, so its existence does not
        leak)."""
        record = self.cases.get(tenant, case_id)
        if record is None and REFERENCE.match(case_id):
            found = self.broker.store.citizens.case_of(tenant, case_id.upper())
            record = self.cases.get(tenant, found) if found else None
        if record is None or not sees.sees_case(record.department):
            raise ResourceNotFound(f"There is no case {case_id}.")
        return record

    def find(
        self, tenant: str, selection: CaseFilter, sees: Visibility = EVERYTHING
    ) -> list[CaseRecord]:
        narrowed = sees.narrow_cases(selection)
        return [] if narrowed is None else self.cases.find(tenant, narrowed)

    def trail(self, tenant: str, case_id: str) -> list[TrailEntry]:
        return self.cases.trail(tenant, self.get(tenant, case_id).id)

    def statistics(
        self,
        tenant: str,
        group_by: list[str],
        period: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        selection: CaseFilter | None = None,
    ) -> list[StatsRow]:
        query = StatsQuery(self.clock(), group_by, period, since, until)
        if selection is not None:
            query.filter = selection
        try:
            return self.cases.statistics(tenant, query)
        except ValueError as error:
            raise BadRequestData(str(error)) from None

    # -- reports -------------------------------------------------------------------------

    def report(
        self, tenant: str, report: Report, actor: Actor, *, again: bool = False
    ) -> CaseRecord:
        """File a report as a new case: routed, with its first deadline, duplicates proposed.

        A report never takes the id of an existing entity (409): a caller-chosen id must not
        turn another entity into a case, nor file over a case (reopening is an action).
        With `again` (a rule re-firing after a crash, whose id is derived from the firing),
        a report naming an existing case returns that case unchanged instead.
        """
        category = self._category(report.category)
        self._check_reporter(report, actor)
        # Questions are for people: a sensor or a rule reports what it measured.
        asked = report.source in (Source.CITIZEN, Source.INSPECTOR)
        attributes = _answers(category, report.attributes, required=asked)
        location = _location(report.location)
        for url in report.media:
            if not _MEDIA.match(url):
                raise BadRequestData(f"Media URL {url!r} is not an http(s) URL.")
        if report.case_id is not None and not is_uri(report.case_id):
            raise BadRequestData(f"Case id {report.case_id!r} is not a URI.")
        with self.broker.writing():
            if report.case_id is not None:
                existing = self.cases.get(tenant, report.case_id)
                if existing is not None and again:
                    return existing
                if existing is not None or self.broker.store.get(tenant, report.case_id):
                    raise AlreadyExists(
                        f"{report.case_id} already exists; a report takes a new id "
                        "(reopening a case is an action: POST /governance/cases/{id}/reopen)."
                    )
            now = self.clock()
            district = self._district(location, report.address)
            routing = self.config.router.route(category.code, location, district)
            priority = report.priority or category.priority
            record = CaseRecord(
                id=report.case_id or f"urn:ngsi-ld:Case:{uuid.uuid4()}",
                category=category.code,
                state=State.REPORTED,
                priority=priority,
                source=report.source,
                department=routing.department,
                routing=routing.reason,
                reported_at=now,
                updated_at=now,
                description=report.description,
                location=location,
                address=report.address,
                district=routing.district,
                cell=routing.cell,
                media=list(report.media),
                attributes=attributes,
                raised_by=report.raised_by,
                reporter=dict(report.reporter),
                due={Stage.ACCEPT: self._due(Stage.ACCEPT, category.code, priority, now)},
                token=uuid.uuid4().hex,
                duplicate_of=self._duplicate(tenant, category.code, location, now),
                photos=list(report.photos),
                flagged=report.flagged,
            )
            record.reference = self._reference(tenant, record.id, now)
            entry = _entry(record, "report", None, actor.id, _role(actor, report.source), now)
            self._commit(tenant, [CaseWrite(record, [entry])])
        detail = {"category": record.category, "source": record.source.value}
        self._audit(tenant, "report", record, actor, detail)
        self.metrics.cases_opened.labels(record.category, record.source.value).inc()
        return record

    def _reference(self, tenant: str, case_id: str, now: datetime) -> str:
        """The case's short reference: the city's prefix, the year where the city is, and
        the next number of that year (the store's counter, shared by every instance)."""
        citizens = self.config.citizens
        year = now.astimezone(ZoneInfo(citizens.timezone)).year
        series = f"{citizens.reference_prefix}-{year}"
        return self.broker.store.citizens.allocate_reference(tenant, series, case_id)

    def by_reference(
        self, tenant: str, reference: str, sees: Visibility = EVERYTHING
    ) -> CaseRecord:
        """The case a short reference (or an entity id) names; ResourceNotFound otherwise."""
        return self.get(tenant, reference, sees)

    def open_for_rule(self, tenant: str, report: Report) -> str:
        """A rule's case: filed by the platform itself; its id makes a re-firing a no-op."""
        return self.report(tenant, report, SYSTEM, again=True).id

    def _category(self, code: str) -> Category:
        category = self.config.categories.get(code)
        if category is None:
            known = ", ".join(self.config.categories)
            raise BadRequestData(f"There is no case category {code!r}; known: {known}.")
        return category

    @staticmethod
    def _check_reporter(report: Report, actor: Actor) -> None:
        roles = REPORTERS[report.source]
        if roles and "admin" not in actor.roles and not roles & actor.roles:
            raise NotAllowed(
                f"{actor.id} may not file {report.source} reports; that takes one of: "
                f"{', '.join(sorted(roles | {'admin'}))}."
            )

    def _district(self, location: tuple[float, float] | None, address: str | None) -> str | None:
        districts = self.config.districts
        found = districts.locate(*location) if location else None
        if found is None and address:
            found = districts.mentioned_in(address)
        return found.name if found else None

    def _due(self, stage: Stage, category: str, priority: Priority, start: datetime) -> datetime:
        return self.config.deadlines.due(stage, category, priority, start)

    def _duplicate(
        self, tenant: str, category: str, location: tuple[float, float] | None, now: datetime
    ) -> str | None:
        if location is None:
            return None
        since = now - self.config.duplicate_window
        near = self.cases.open_near(
            tenant, category, location, self.config.duplicate_distance_m, since
        )
        return near[0].id if near else None

    # -- actions -------------------------------------------------------------------------

    def act(
        self,
        tenant: str,
        case_id: str,
        action: str,
        actor: Actor,
        note: str | None = None,
        *,
        department: str | None = None,
        into: str | None = None,
    ) -> CaseRecord:
        """Take a lifecycle action: 409 where the state does not allow it, 403 where the
        actor may not; every action is one entry of the case's append-only trail."""
        with self.broker.writing():
            old = self.get(tenant, case_id)
            act, role = check(action, old, actor)
            if act.needs_note and not (note and note.strip()):
                raise BadRequestData(f"To {act.name} a case, say why in a note.")
            now = self.clock()
            record = replace(old, due=dict(old.due), done=dict(old.done))
            record.state, record.updated_at, record.note = act.target, now, note or None
            writes: list[CaseWrite] = []
            if act.ends is not None:
                record.done[act.ends] = now
            if act.name == "dispatch" and department is not None:
                self._reroute(record, department, actor)
            elif department is not None:
                raise BadRequestData("Only dispatching chooses a department.")
            if act.name == "merge":
                writes.append(self._merge(tenant, record, into, now))
            elif into is not None:
                raise BadRequestData("Only merging names a case to merge into.")
            if act.name == "reopen":
                self._check_window(old, now)
                record.reopened += 1
            if act.target is State.ACCEPTED:
                record.due[Stage.DISPATCH] = self._due(
                    Stage.DISPATCH, record.category, record.priority, now
                )
            if act.target is State.DISPATCHED:
                record.done.pop(Stage.RESOLVE, None)
                record.due[Stage.RESOLVE] = self._due(
                    Stage.RESOLVE, record.category, record.priority, now
                )
            if act.target is State.CLOSED:
                record.closed_at = now
            if current_stage(record.state) != current_stage(old.state) or act.ends:
                record.overdue = record.escalated_to = None
            entry = _entry(record, act.name, old.state, actor.id, role, now, note)
            writes.insert(0, CaseWrite(record, [entry]))
            self._commit(tenant, writes)
        detail = {"from": old.state.value, "to": record.state.value, "role": role}
        if act.name == "merge":
            detail["into"] = into or ""
        self._audit(tenant, act.name, record, actor, detail)
        if record.state is State.CLOSED:
            self.metrics.cases_closed.labels(record.category).inc()
        for listener in self.listeners:
            listener(tenant, record, entry)
        return record

    def _reroute(self, record: CaseRecord, department: str, actor: Actor) -> None:
        if department not in self.config.departments:
            known = ", ".join(self.config.departments)
            raise BadRequestData(f"There is no department {department!r}; known: {known}.")
        if department != record.department:
            name = self.config.departments[department].name
            record.department = department
            record.routing = f"routed to {name} by {actor.id} on dispatch"

    def _merge(self, tenant: str, record: CaseRecord, into: str | None, now: datetime) -> CaseWrite:
        """Mark `record` merged into the original; its reporter follows the original."""
        if not into:
            raise BadRequestData("Merging needs the id of the case to merge into.")
        try:
            original = self.get(tenant, into)
        except ResourceNotFound:
            raise BadRequestData(f"There is no case {into} to merge into.") from None
        if original.id == record.id or original.state in FINISHED:
            raise BadRequestData(f"Case {into} is {original.state}; merge into an open case.")
        record.merged_into = original.id
        contacts = [record.reporter[k] for k in _CONTACT_KEYS if record.reporter.get(k)]
        return CaseWrite(original, (), contacts)

    def _check_window(self, old: CaseRecord, now: datetime) -> None:
        window = self.config.reopen_window
        if old.closed_at is not None and now - old.closed_at > window:
            raise IllegalTransition(
                f"Case {old.id} was closed on {old.closed_at:%Y-%m-%d}; it could be reopened "
                f"for {window.days} days after closing.",
                [],
            )

    # -- citizens ------------------------------------------------------------------------

    def support(self, tenant: str, case_id: str) -> CaseRecord:
        """One more citizen says "me too": counted on the case, no new case, no trail entry
        (the trail is what people did to the case)."""
        with self.broker.writing():
            record = replace(self.get(tenant, case_id))
            if record.state in FINISHED:
                raise BadRequestData(f"Case {record.reference or record.id} is {record.state}.")
            record.supporters += 1
            self._commit(tenant, [CaseWrite(record)])
        return record

    def add_photos(self, tenant: str, case_id: str, photos: list[Photo], most: int) -> CaseRecord:
        """Photos added later by the reporter (who holds the case's citizen token)."""
        with self.broker.writing():
            record = replace(self.get(tenant, case_id))
            if len(record.photos) + len(photos) > most:
                raise BadRequestData(f"A report holds at most {most} photos.")
            record.photos = [*record.photos, *photos]
            record.updated_at = self.clock()
            self._commit(tenant, [CaseWrite(record)])
        return record

    def moderate(
        self, tenant: str, case_id: str, actor: Actor, target: str, reason: str, hide: bool
    ) -> CaseRecord:
        """Hide (or show again) a report's text or one of its photos from every public
        surface, with the reason kept in the trail; staff of the case's department, its
        operators and supervisors, or an admin."""
        if not reason.strip():
            raise BadRequestData("Moderation needs a reason.")
        with self.broker.writing():
            record = replace(self.get(tenant, case_id))
            allowed = {"admin", *OPERATORS, f"department:{record.department}"}
            if not allowed & actor.roles:
                raise NotAllowed(f"{actor.id} may not moderate case {case_id}.")
            if target == "text":
                record.text_hidden = hide
            elif target.startswith("photo:"):
                wanted = target.split(":", 1)[1]
                if wanted not in {p.id for p in record.photos}:
                    raise BadRequestData(f"Case {case_id} has no photo {wanted!r}.")
                record.photos = [
                    replace(p, hidden=hide) if p.id == wanted else p for p in record.photos
                ]
            else:
                raise BadRequestData('Moderate "text" or "photo:<id>".')
            if hide is False and target == "text":
                record.flagged = None
            now = self.clock()
            record.updated_at = now
            note = f"{'hid' if hide else 'showed'} {target}: {reason.strip()}"
            entry = TrailEntry(
                record.id,
                0,
                "moderate",
                record.state,
                record.state,
                actor.id,
                _role(actor, Source.INSPECTOR),
                now,
                note,
            )
            self._commit(tenant, [CaseWrite(record, [entry])])
        self._audit(tenant, "moderate", record, actor, {"target": target, "hide": hide})
        return record

    # -- deadlines -----------------------------------------------------------------------

    def escalate_overdue(self, batch: int = 500) -> int:
        """Flag every case whose current stage's deadline has passed, escalate it to the
        supervisor role; the entity changes, so subscriptions on cases hear of it."""
        escalated = 0
        while True:
            now = self.clock()
            due = self.cases.due(now, batch)
            if not due:
                return escalated
            by_tenant: dict[str, list[CaseWrite]] = {}
            with self.broker.writing():
                for tenant, seen in due:
                    record = self.cases.get(tenant, seen.id)
                    stage = current_stage(record.state) if record else None
                    if record is None or stage is None or record.overdue is not None:
                        continue
                    due_at = record.due[stage]
                    record.overdue, record.escalated_to = stage, self.config.escalation_role
                    record.updated_at = now
                    note = f"The {stage.value} deadline ({due_at:%Y-%m-%d %H:%M} UTC) passed."
                    entry = _entry(record, "escalate", record.state, SYSTEM.id, "system", now, note)
                    by_tenant.setdefault(tenant, []).append(CaseWrite(record, [entry]))
                for tenant, writes in by_tenant.items():
                    self._commit(tenant, writes)
                    escalated += len(writes)
            for tenant, writes in by_tenant.items():
                for write in writes:
                    stage = write.record.overdue
                    detail = {"stage": stage.value if stage else None}
                    detail["to"] = write.record.escalated_to
                    self._audit(tenant, "escalate", write.record, SYSTEM, detail)
            if len(due) < batch:
                return escalated

    # -- stored data ---------------------------------------------------------------------

    def reexpand_stale(self, batch: int = 500) -> int:
        """Rewrite, from their records, the case entities stored before case names were
        expanded with the core @context (`description` under default-context/, which no
        query names); returns how many. Through the broker, so both stores are brought up to
        date the same way; once none is left it costs one query per tenant."""
        stale = EntityQuery(types=((CASE_TYPE,),), attrs=[STALE_DESCRIPTION], limit=batch)
        rewritten = 0
        for tenant in ["", *self.broker.store.tenants()]:
            while True:
                with self.broker.writing():
                    found = self.broker.store.query(tenant, stale).entities
                    records = [r for e in found if (r := self.cases.get(tenant, e.id))]
                    if records:
                        self._commit(tenant, [CaseWrite(r) for r in records])
                rewritten += len(records)
                if len(found) < batch or not records:
                    break
        return rewritten

    # -- writing -------------------------------------------------------------------------

    def _audit(
        self, tenant: str, action: str, record: CaseRecord, actor: Actor, detail: dict[str, Any]
    ) -> None:
        """Every governance action, once, in the audit log (after its commit): as the
        platform for its own, else as the request's principal, else as the actor named."""
        who = audit.SYSTEM if actor == SYSTEM else audit.acting.get()
        detail = {**detail, "department": record.department}
        audit.record(
            self.broker.store.audit,
            f"case.{action}",
            tenant,
            record.id,
            detail,
            who=who or audit.Who(actor.id, "unauthenticated"),
        )

    def _commit(self, tenant: str, writes: list[CaseWrite]) -> None:
        previous = self.broker.entities(tenant, [w.record.id for w in writes])
        entities = [case_entity(w.record, previous.get(w.record.id)) for w in writes]
        self.broker.commit_cases(tenant, entities, writes)


def _entry(
    record: CaseRecord,
    action: str,
    from_state: State | None,
    actor: str,
    role: str,
    at: datetime,
    note: str | None = None,
) -> TrailEntry:
    return TrailEntry(record.id, 0, action, from_state, record.state, actor, role, at, note)


def _role(actor: Actor, source: Source) -> str:
    """The role a report is filed in (for the trail)."""
    if "admin" in actor.roles:
        return "admin"
    fitting = sorted(REPORTERS[source] & actor.roles)
    return fitting[0] if fitting else "citizen"


def _location(location: tuple[float, float] | None) -> tuple[float, float] | None:
    if location is None:
        return None
    lon, lat = location
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequestData(f"({lon}, {lat}) is not a longitude and latitude.")
    return (float(lon), float(lat))


def _answers(
    category: Category, answers: dict[str, object], *, required: bool = True
) -> dict[str, object]:
    """The category's questions answered: required ones present (when asked of a person),
    each answer valid."""
    questions = {a.code: a for a in category.attributes}
    unknown = set(answers) - set(questions)
    if unknown:
        raise BadRequestData(
            f"Category {category.code} asks no {', '.join(sorted(unknown))}; "
            f"it asks: {', '.join(questions) or 'nothing'}."
        )
    checked: dict[str, object] = {}
    for code, question in questions.items():
        if code not in answers or answers[code] in (None, "", []):
            if question.required and required:
                raise BadRequestData(f"Category {category.code} needs an answer to {code}.")
            continue
        try:
            checked[code] = question.check(answers[code])
        except ValueError as error:
            raise BadRequestData(f"{code}: {error}") from None
    return checked
