"""The front door's work, without HTTP: what a citizen may send, and what anyone may see.

A report becomes a case through `CaseService.report` (routing, deadlines, the trail, a short
reference); this module adds what concerns citizens only: the categories offered to them,
photos checked and stored, the honeypot, rude words flagging a report for review, "me too"
support and followers, the public story of a case, and the e-mails to followers on each
public state change. Nothing returned by a public function here carries a reporter's
contact, a key id or a hidden text or photo: they are built from an allow-list of fields.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from cityos.auth.visibility import EVERYTHING, Visibility
from cityos.citizens.messages import CitizenError, promise, say, state_name
from cityos.citizens.photos import MediaStore, clean
from cityos.context.errors import BadRequestData, NgsiError, ResourceNotFound
from cityos.governance.config import Category, GovernanceConfig
from cityos.governance.entity import iso
from cityos.governance.model import (
    FINISHED,
    Actor,
    CaseFilter,
    CaseRecord,
    Photo,
    Report,
    Source,
    Stage,
    State,
    TrailEntry,
)
from cityos.governance.service import CaseService
from cityos.store.case_rows import distance_m
from cityos.store.citizens import Follower, Mail

MAX_DESCRIPTION = 4000
MAX_PHOTOS = 3
MAX_RADIUS_M = 2000
MAX_MAP = 500
RECENT = timedelta(days=30)
NEARBY_WINDOW = timedelta(days=90)
PUBLIC_NOTES = frozenset({"reject", "resolve", "close", "reopen", "fail"})
"""Actions whose notes speak to the public (a reason for rejecting, what was fixed)."""
SILENT = frozenset({"moderate", "escalate"})
"""Trail entries that are the staff's business, never in a public timeline or e-mail."""
CITIZEN = Actor("citizen", frozenset({"citizen"}))
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(slots=True)
class CitizenReport:
    """What the reporting form sent, as text and bytes."""

    category: str
    lat: str = ""
    long: str = ""
    address: str = ""
    description: str = ""
    answers: dict[str, str | list[str]] = field(default_factory=dict)
    name: str = ""
    email: str = ""
    website: str = ""
    photos: list[bytes] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeskSettings:
    public_url: str = ""
    """The address citizens reach the city at (links in e-mails); '' relative links only."""
    max_photo_bytes: int = 10_000_000


class CitizenDesk:
    """The citizens' front door over one case service and one photo store."""

    def __init__(
        self, cases: CaseService, media: MediaStore | None, settings: DeskSettings
    ) -> None:
        self.cases = cases
        self.media = media
        self.settings = settings
        self.queued: list[Callable[[], None]] = []
        """Told when e-mails were queued (the mailer wakes up)."""
        cases.listeners.append(self.state_changed)

    @property
    def _config(self) -> GovernanceConfig:
        return self.cases.config

    # -- categories ----------------------------------------------------------------------

    def citizen_category(self, code: str) -> Category:
        category = self._config.categories.get(code)
        if category is None or not category.citizen:
            raise CitizenError(400, "bad_request", "bad_category")
        return category

    def categories(self, lang: str) -> list[dict[str, Any]]:
        out = []
        for c in self._config.categories.values():
            if not c.citizen:
                continue
            due = (
                self._config.deadlines.due(Stage.ACCEPT, c.code, c.priority, self.cases.clock())
                - self.cases.clock()
            )
            days = max(1, math.ceil(due.total_seconds() / 86400))
            out.append(
                {
                    "code": c.code,
                    "name": c.named(lang),
                    "description": c.description or "",
                    "group": c.group or "",
                    "deadline_text": say("deadline_text", lang, days=days),
                    "attributes": [
                        {
                            "code": a.code,
                            "datatype": a.datatype,
                            "required": a.required,
                            "description": a.description,
                            "values": [{"key": k, "name": n} for k, n in a.values],
                        }
                        for a in sorted(c.attributes, key=lambda a: a.order)
                        if a.variable
                    ],
                }
            )
        return out

    # -- reports -------------------------------------------------------------------------

    def check(self, form: CitizenReport) -> Report:
        """The form as a report, or a CitizenError saying what to correct. Photos are not
        looked at here (see `file`)."""
        if form.website.strip():
            raise CitizenError(400, "bad_request", "refused")
        category = self.citizen_category(form.category)
        location = _place(form.lat, form.long)
        address = form.address.strip() or None
        if location is None and address is None:
            raise CitizenError(400, "bad_request", "no_place")
        description = form.description.strip() or None
        if description and len(description) > MAX_DESCRIPTION:
            raise CitizenError(400, "bad_request", "too_long", limit=MAX_DESCRIPTION)
        answers: dict[str, object] = {}
        questions = {a.code: a for a in category.attributes}
        for code, value in form.answers.items():
            question = questions.get(code)
            if question is None:
                continue  # an old form's question: ignored rather than refused
            try:
                answers[code] = question.check(value)
            except ValueError:
                raise CitizenError(
                    400, "bad_request", "bad_answer", question=question.description
                ) from None
        for code, question in questions.items():
            if question.required and answers.get(code) in (None, "", []):
                raise CitizenError(400, "bad_request", "bad_answer", question=question.description)
        email = form.email.strip()
        if email and not _EMAIL.match(email):
            raise CitizenError(400, "bad_request", "bad_email")
        if len(form.photos) > MAX_PHOTOS:
            raise CitizenError(400, "bad_request", "too_many_photos", most=MAX_PHOTOS)
        reporter = {"email": email} if email else {}
        if form.name.strip():
            reporter["first_name"] = form.name.strip()[:200]
        return Report(
            category=category.code,
            source=Source.CITIZEN,
            description=description,
            location=location,
            address=address,
            reporter=reporter,
            attributes={k: v for k, v in answers.items() if v is not None},
            flagged=self.rude(description),
        )

    def rude(self, text: str | None) -> str | None:
        """Why `text` needs an operator's review: a word of the city's rude-word lists."""
        if not text:
            return None
        folded = text.casefold()
        words = set(_WORD.findall(folded))
        for lang, listed in self._config.citizens.rude_words.items():
            for word in listed:
                # Chinese has no spaces between words: look for the characters anywhere.
                if word in words or (not word.isascii() and lang == "zh" and word in folded):
                    return f"rude word ({lang})"
        return None

    def photos(self, tenant: str, files: list[bytes]) -> list[Photo]:
        """Each file checked, re-encoded and stored (CitizenError 413/415 on the first bad)."""
        if not files:
            return []
        if self.media is None:
            raise CitizenError(400, "bad_request", "no_photos")
        cleaned = [clean(data, self.settings.max_photo_bytes) for data in files]
        return [self.media.save(tenant, data, ext) for data, ext in cleaned]

    def file(self, tenant: str, form: CitizenReport, lang: str) -> dict[str, Any]:
        report = self.check(form)
        report.photos = self.photos(tenant, form.photos)
        try:
            record = self.cases.report(tenant, report, CITIZEN)
        except NgsiError as error:
            raise CitizenError(400, "bad_request", "bad_query", detail=error.detail) from None
        email = report.reporter.get("email")
        if email:
            self.follow(tenant, record, email, report.reporter.get("first_name", ""), lang)
        deadline = record.due[Stage.ACCEPT]
        return {
            "reference": record.reference,
            "id": record.id,
            "token": record.token,
            "state": record.state.value,
            "deadline": iso(deadline),
            "promise": promise(deadline, self._config.citizens.timezone, lang),
            "photos": [self.photo_url(tenant, p) for p in record.photos],
        }

    def follow(self, tenant: str, record: CaseRecord, email: str, name: str, lang: str) -> None:
        token = secrets.token_urlsafe(24)
        follower = Follower(token, tenant, record.id, email, name[:200], lang)
        self.cases.broker.store.citizens.follow(follower)

    # -- reading -------------------------------------------------------------------------

    def find(self, tenant: str, reference: str, sees: Visibility = EVERYTHING) -> CaseRecord:
        try:
            record = self.cases.by_reference(tenant, reference, sees)
        except ResourceNotFound:
            raise CitizenError(404, "not_found", "not_found", reference=reference[:40]) from None
        category = self._config.categories.get(record.category)
        if category is None or not category.citizen:
            raise CitizenError(404, "not_found", "not_found", reference=reference[:40])
        return record

    def photo_url(self, tenant: str, photo: Photo) -> str:
        return f"/media/{photo.file}" + (f"?tenant={quote(tenant)}" if tenant else "")

    def public_text(self, record: CaseRecord) -> str | None:
        """The description, unless moderation hid it or a rude word holds it for review."""
        return None if record.text_hidden or record.flagged else record.description

    def public_photos(self, tenant: str, record: CaseRecord) -> list[str]:
        return [self.photo_url(tenant, p) for p in record.photos if not p.hidden]

    def first_photo(self, tenant: str, record: CaseRecord) -> str | None:
        shown = self.public_photos(tenant, record)
        return shown[0] if shown else None

    def story(self, tenant: str, reference: str, lang: str) -> dict[str, Any]:
        record = self.find(tenant, reference)
        category = self._config.categories[record.category]
        department = self._config.departments.get(record.department)
        deadline = record.due.get(Stage.RESOLVE) or record.due.get(Stage.ACCEPT)
        timeline = [
            {
                "at": iso(e.at),
                "state": e.to_state.value,
                "state_name": state_name(e.to_state.value, lang),
                "note": e.note if e.action in PUBLIC_NOTES else None,
            }
            for e in self.cases.cases.trail(tenant, record.id)
            if e.action not in SILENT
        ]
        lon, lat = record.location if record.location else (None, None)
        return {
            "reference": record.reference or record.id,
            "category": record.category,
            "category_name": category.named(lang),
            "state": record.state.value,
            "state_name": state_name(record.state.value, lang),
            "department": _department_name(department, lang) if department else None,
            "created": iso(record.reported_at),
            "deadline": iso(deadline) if deadline else None,
            "description": self.public_text(record),
            "photos": self.public_photos(tenant, record),
            "supporters": record.supporters,
            "location": {"lat": lat, "long": lon} if lat is not None else None,
            "address": record.address,
            "timeline": timeline,
        }

    def nearby(
        self, tenant: str, category: str, lat: str, lon: str, radius: str
    ) -> list[dict[str, Any]]:
        self.citizen_category(category)
        place = _place(lat, lon)
        if place is None:
            raise CitizenError(400, "bad_request", "no_place")
        try:
            metres = float(radius or 500)
        except ValueError:
            raise CitizenError(400, "bad_request", "bad_query", detail="radius") from None
        if not 0 < metres <= MAX_RADIUS_M:
            raise CitizenError(400, "bad_request", "bad_query", detail=f"radius ≤ {MAX_RADIUS_M}")
        since = self.cases.clock() - NEARBY_WINDOW
        found = self.cases.cases.open_near(tenant, category, place, metres, since)
        return [
            {
                "reference": r.reference or r.id,
                "state": r.state.value,
                "description": self.public_text(r),
                "photo": self.first_photo(tenant, r),
                "distance_m": round(distance_m(place, r.location), 1) if r.location else None,
                "supporters": r.supporters,
            }
            for r in found[:20]
        ]

    def reports_map(self, tenant: str, bbox: str, status: str, lang: str) -> list[dict[str, Any]]:
        try:
            west, south, east, north = (float(x) for x in bbox.split(","))
        except ValueError:
            raise CitizenError(
                400, "bad_request", "bad_query", detail="bbox=minlon,minlat,maxlon,maxlat"
            ) from None
        if not (west <= east and south <= north):
            raise CitizenError(400, "bad_request", "bad_query", detail="bbox")
        codes = [c.code for c in self._config.categories.values() if c.citizen]
        if status == "recent":
            states = [State.RESOLVED, State.VERIFIED, State.CLOSED]
            since: datetime | None = self.cases.clock() - RECENT
        elif status in ("", "open"):
            states = [s for s in State if s not in FINISHED and s not in _DONE]
            since = None
        else:
            raise CitizenError(400, "bad_request", "bad_query", detail="status=open|recent")
        out: list[dict[str, Any]] = []
        offset = 0
        for _ in range(10):
            page = self.cases.find(
                tenant,
                CaseFilter(categories=codes, states=states, since=since, limit=500, offset=offset),
            )
            for r in page:
                if r.location and west <= r.location[0] <= east and south <= r.location[1] <= north:
                    out.append(self._pin(tenant, r, lang))
            if len(page) < 500 or len(out) >= MAX_MAP:
                break
            offset += len(page)
        return out[:MAX_MAP]

    def _pin(self, tenant: str, r: CaseRecord, lang: str) -> dict[str, Any]:
        assert r.location is not None
        category = self._config.categories[r.category]
        return {
            "reference": r.reference or r.id,
            "category": r.category,
            "category_name": category.named(lang),
            "state": r.state.value,
            "state_name": state_name(r.state.value, lang),
            "lat": r.location[1],
            "long": r.location[0],
            "created": iso(r.reported_at),
            "supporters": r.supporters,
            "photo": self.first_photo(tenant, r),
        }

    # -- after a report ------------------------------------------------------------------

    def support(
        self, tenant: str, reference: str, email: str, name: str, lang: str
    ) -> dict[str, Any]:
        record = self.find(tenant, reference)
        email = email.strip()
        if email and not _EMAIL.match(email):
            raise CitizenError(400, "bad_request", "bad_email")
        try:
            record = self.cases.support(tenant, record.id)
        except BadRequestData:
            raise CitizenError(400, "bad_request", "finished", reference=reference[:40]) from None
        if email:
            self.follow(tenant, record, email, name, lang)
        return {"reference": record.reference or record.id, "supporters": record.supporters}

    def add_photos(
        self, tenant: str, reference: str, token: str, files: list[bytes]
    ) -> dict[str, Any]:
        record = self.find(tenant, reference)
        if not token or not record.token or not secrets.compare_digest(token, record.token):
            raise CitizenError(403, "bad_token", "bad_token")
        if not files or len(record.photos) + len(files) > MAX_PHOTOS:
            raise CitizenError(400, "bad_request", "too_many_photos", most=MAX_PHOTOS)
        photos = self.photos(tenant, files)
        try:
            record = self.cases.add_photos(tenant, record.id, photos, MAX_PHOTOS)
        except BadRequestData:
            raise CitizenError(400, "bad_request", "too_many_photos", most=MAX_PHOTOS) from None
        return {
            "reference": record.reference or record.id,
            "photos": self.public_photos(tenant, record),
        }

    def photo_bytes(self, tenant: str, photo_id: str, ext: str) -> bytes | None:
        return self.media.read(tenant, photo_id, ext) if self.media else None

    def moderate(
        self, tenant: str, case_id: str, actor: Actor, target: str, reason: str, hide: bool
    ) -> CaseRecord:
        """Staff hide (or show) a text or a photo; a hidden photo's file stops being served."""
        record = self.cases.moderate(tenant, case_id, actor, target, reason, hide)
        if target.startswith("photo:") and self.media is not None:
            photo = next(p for p in record.photos if p.id == target.split(":", 1)[1])
            self.media.hide(tenant, photo, hide)
        return record

    def unsubscribe(self, token: str) -> tuple[str, str]:
        """(the reference, the follower's language) of the case no longer followed."""
        follower = self.cases.broker.store.citizens.unsubscribe(token)
        if follower is None:
            raise CitizenError(404, "not_found", "bad_token")
        record = self.cases.cases.get(follower.tenant, follower.case_id)
        return (record.reference or record.id) if record else "", follower.lang

    def staff_view(self, tenant: str, record: CaseRecord) -> dict[str, Any]:
        """What operators see besides the record: photos (hidden ones marked), support,
        followers and the review flag."""
        followers = self.cases.broker.store.citizens.followers(tenant, record.id)
        return {
            "reference": record.reference,
            "photos": [
                {"id": p.id, "url": self.photo_url(tenant, p), "hidden": p.hidden}
                for p in record.photos
            ],
            "textHidden": record.text_hidden,
            "supporters": record.supporters,
            "followers": [
                {"email": f.email, "name": f.name, "active": f.active} for f in followers
            ],
            "flagged": record.flagged,
        }

    # -- e-mail --------------------------------------------------------------------------

    def state_changed(self, tenant: str, record: CaseRecord, entry: TrailEntry) -> None:
        """Queue an e-mail to every active follower on a public state change."""
        if entry.action in SILENT or entry.from_state == entry.to_state:
            return
        followers = [
            f for f in self.cases.broker.store.citizens.followers(tenant, record.id) if f.active
        ]
        if not followers:
            return
        reference = record.reference or record.id
        base = self.settings.public_url.rstrip("/")
        now = self.cases.clock()
        note = entry.note if entry.action in PUBLIC_NOTES and entry.note else ""
        mails = []
        for f in followers:
            state = state_name(record.state.value, f.lang)
            link = f"{base}/report/{quote(reference)}"
            unsubscribe = f"{base}/unsubscribe/{f.token}"
            subject = say("mail_subject", f.lang, reference=reference, state=state)
            body = say(
                "mail_body",
                f.lang,
                reference=reference,
                state=state,
                note=note,
                link=link,
                unsubscribe=unsubscribe,
            )
            mails.append(Mail(tenant, record.id, f.email, subject, body, now))
        self.cases.broker.store.citizens.enqueue(mails)
        for wake in self.queued:
            wake()


_DONE = frozenset({State.RESOLVED, State.VERIFIED})
"""Fixed, waiting to be closed: on the map as recently fixed, not as open."""


def _department_name(department: Any, lang: str) -> str:
    name: str = department.name_zh if lang == "zh" and department.name_zh else department.name
    return name


def _place(lat: str, lon: str) -> tuple[float, float] | None:
    lat, lon = lat.strip(), lon.strip()
    if not lat and not lon:
        return None
    try:
        y, x = float(lat), float(lon)
    except ValueError:
        raise CitizenError(400, "bad_request", "bad_place") from None
    if not (math.isfinite(x) and math.isfinite(y) and abs(x) <= 180 and abs(y) <= 90):
        raise CitizenError(400, "bad_request", "bad_place")
    return (x, y)
