"""Open311 GeoReport v2 over the governance service, as plain data (no HTTP here).

Categories are Open311 services and cases are service requests; `api/open311.py` puts
what these functions return on the wire as JSON or XML. A service request shows what a
citizen may see of a case and never the reporter's contact details. Errors are the
broker's own (`BadRequestData` 400, `NotAllowed` 403, `ResourceNotFound` 404), so every
caller reports them the same way.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cityos.auth.visibility import EVERYTHING, Visibility
from cityos.context.errors import BadRequestData, ResourceNotFound
from cityos.governance.config import GovernanceConfig, ServiceAttribute
from cityos.governance.entity import iso
from cityos.governance.errors import NotAllowed
from cityos.governance.model import (
    FINISHED,
    Actor,
    CaseFilter,
    CaseRecord,
    Report,
    Source,
    Stage,
    State,
)
from cityos.governance.service import CaseService

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_REQUESTS = 1000
"""The most requests one GET /requests returns (the spec's suggested default)."""
WINDOW = timedelta(days=90)
"""The span of requested_datetime a GET /requests covers at most, and by default."""
MAX_DESCRIPTION = 4000
"""The spec limits a request's description to 4,000 characters."""
MAX_IDS = 1000

CONTACT_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone")
"""What a POST may say about its reporter: kept private on the case, never shown."""
REQUEST_FIELDS = frozenset(
    {
        "api_key",
        "jurisdiction_id",
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "description",
        "media_url",
        *CONTACT_FIELDS,
    }
)
QUERY_FIELDS = frozenset({"service_request_id", "service_code", "start_date", "end_date", "status"})
"""The filters of GET /requests."""
COMMON_FIELDS = frozenset({"jurisdiction_id", "api_key"})
"""Accepted on every GET and ignored: one city per endpoint, and reading needs no key."""
OPEN, CLOSED = "open", "closed"

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_MERGE_HOPS = 10
"""How far a chain of merges is followed to find the case that decides the status."""


MediaUrl = Callable[[CaseRecord], str]
"""The URL of a case's first public photo ('' when it has none)."""


def no_media(record: CaseRecord) -> str:
    return ""


# -- services ------------------------------------------------------------------------------


def service_list(config: GovernanceConfig) -> list[dict[str, Any]]:
    """Every category as an Open311 service, in the configuration's order."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.description or "",
            "metadata": bool(c.attributes),
            "type": "realtime",
            "keywords": ",".join(c.keywords),
            "group": c.group or "",
        }
        for c in config.categories.values()
    ]


def service_definition(config: GovernanceConfig, code: str) -> dict[str, Any]:
    """The questions a service asks (404 for an unknown service_code)."""
    category = config.categories.get(code)
    if category is None:
        raise ResourceNotFound(f"There is no service_code {code!r}; {_known(config)}.")
    return {
        "service_code": category.code,
        "attributes": [_attribute(a) for a in sorted(category.attributes, key=_order)],
    }


def _order(attribute: ServiceAttribute) -> int:
    return attribute.order


def _attribute(attribute: ServiceAttribute) -> dict[str, Any]:
    return {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": attribute.datatype_description or "",
        "order": attribute.order,
        "description": attribute.description,
        "values": [{"key": key, "name": name} for key, name in attribute.values or []],
    }


def _known(config: GovernanceConfig) -> str:
    return f"known: {', '.join(config.categories)}"


def discovery(
    config: GovernanceConfig, url: str, changed: datetime, keys: frozenset[str]
) -> dict[str, Any]:
    """The discovery document of the one endpoint at `url`."""
    changeset = iso(changed)
    return {
        "changeset": changeset,
        "contact": f"{config.city} city platform (cityos)",
        "key_service": "Ask the city's platform operators for an api_key."
        if keys
        else "Any non-empty api_key is accepted.",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# -- keys ----------------------------------------------------------------------------------


def load_keys(path: Path) -> frozenset[str]:
    """The api_keys in a text file, one a line, `#` starting a comment; ValueError when it
    holds none, since an empty key list would silently accept every key."""
    keys = frozenset(
        line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
    ) - {""}
    if not keys:
        raise ValueError(f"{path} holds no api_key (one a line, # for comments)")
    return keys


def check_key(api_key: str | None, keys: frozenset[str]) -> str:
    """The api_key of a POST: one of `keys`, or any non-empty one when there are none."""
    if not api_key:
        raise NotAllowed("An api_key is needed to post a service request.")
    if keys and api_key not in keys:
        raise NotAllowed("The api_key is not valid for this endpoint.")
    return api_key


def key_digest(api_key: str) -> str:
    """What a case keeps of the key that filed it: enough to trace abuse, not to reuse."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


# -- posting a request ---------------------------------------------------------------------


@dataclass(slots=True)
class NewRequest:
    """A POSTed service request, ready for `CaseService.report`."""

    report: Report
    actor: Actor
    account_id: str


def parse_request(
    fields: Iterable[tuple[str, str]], config: GovernanceConfig, keys: frozenset[str]
) -> NewRequest:
    """A POST /requests form as a citizen's report; 403 for a bad api_key, 400 for the rest."""
    scalars: dict[str, str] = {}
    answers: dict[str, str | list[str]] = {}
    for name, value in fields:
        match = _ATTRIBUTE.match(name)
        if match is not None:
            _answer(answers, match.group(1), value, multiple=match.group(2) is not None)
        elif name not in REQUEST_FIELDS:
            raise BadRequestData(f"A service request has no field {name!r}.")
        elif name in scalars:
            raise BadRequestData(f"{name} is given twice.")
        else:
            scalars[name] = value.strip()
    api_key = check_key(scalars.get("api_key"), keys)
    code = scalars.get("service_code")
    if not code:
        raise BadRequestData("service_code is required.")
    category = config.categories.get(code)
    if category is None:
        raise BadRequestData(f"There is no service_code {code!r}; {_known(config)}.")
    location = _location(scalars)
    address = scalars.get("address_string") or scalars.get("address_id") or None
    if location is None and address is None:
        raise BadRequestData(
            "A service request needs a location: lat and long, address_string or address_id."
        )
    description = scalars.get("description") or None
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise BadRequestData(f"description is longer than {MAX_DESCRIPTION} characters.")
    reporter = {k: scalars[k] for k in CONTACT_FIELDS if scalars.get(k)}
    reporter["api_key_sha256"] = key_digest(api_key)
    media = scalars.get("media_url")
    report = Report(
        category=category.code,
        source=Source.CITIZEN,
        description=description,
        location=location,
        address=address,
        reporter=reporter,
        media=[media] if media else [],
        attributes=dict(answers),
    )
    who = reporter.get("email") or reporter.get("device_id") or reporter.get("account_id")
    actor = Actor(who or "open311", frozenset({"citizen"}))
    return NewRequest(report, actor, scalars.get("account_id", ""))


def _answer(answers: dict[str, str | list[str]], code: str, value: str, multiple: bool) -> None:
    """`attribute[code]=v` once, or `attribute[code][]=v` any number of times."""
    present = answers.get(code)
    if multiple:
        if isinstance(present, str):
            raise BadRequestData(f"attribute[{code}] is given both as one value and as a list.")
        answers[code] = [*(present or []), value]
    elif present is not None:
        raise BadRequestData(
            f"attribute[{code}] is given twice; send a list as attribute[{code}][]."
        )
    else:
        answers[code] = value


def _location(scalars: Mapping[str, str]) -> tuple[float, float] | None:
    lat, lon = scalars.get("lat"), scalars.get("long")
    if not lat and not lon:
        return None
    if not lat or not lon:
        raise BadRequestData("lat and long go together: give both or neither.")
    return (_degrees(lon, "long", 180), _degrees(lat, "lat", 90))


def _degrees(text: str, name: str, limit: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRequestData(f"{name} must be a number of degrees, not {text!r}.") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise BadRequestData(f"{name} must be between -{limit:g} and {limit:g}, not {text!r}.")
    return value


def post_response(record: CaseRecord, account_id: str) -> dict[str, Any]:
    """The answer to a POST: realtime, so the id (the short reference) comes at once, with
    its token."""
    return {
        "service_request_id": record.reference or record.id,
        "token": record.token or "",
        "service_notice": record.routing,
        "account_id": account_id,
    }


# -- reading requests ----------------------------------------------------------------------


@dataclass(slots=True)
class RequestQuery:
    """The filters of GET /requests, checked; `ids` overrides all the others."""

    ids: list[str] | None = None
    service_codes: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    """Exclusive."""
    statuses: set[str] = field(default_factory=lambda: {OPEN, CLOSED})


def parse_query(params: Mapping[str, str], config: GovernanceConfig, now: datetime) -> RequestQuery:
    """The spec's filters from query parameters (comma lists already joined)."""
    ids = _comma(params.get("service_request_id"))
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise BadRequestData(f"Ask for at most {MAX_IDS} service_request_id at once.")
        return RequestQuery(ids=list(dict.fromkeys(ids)))
    codes = _comma(params.get("service_code"))
    unknown = [c for c in codes or [] if c not in config.categories]
    if unknown:
        raise BadRequestData(f"There is no service_code {', '.join(unknown)}; {_known(config)}.")
    statuses = set(_comma(params.get("status")) or (OPEN, CLOSED))
    if statuses - {OPEN, CLOSED}:
        wrong = ", ".join(sorted(statuses - {OPEN, CLOSED}))
        raise BadRequestData(f"status must be open or closed (comma-separated), not {wrong}.")
    start = _w3c(params.get("start_date"), "start_date")
    end = _w3c(params.get("end_date"), "end_date")
    if start is not None and end is not None:
        if end < start:
            raise BadRequestData("end_date is before start_date.")
        if end - start > WINDOW:
            raise BadRequestData(f"start_date to end_date may span at most {WINDOW.days} days.")
    elif start is not None:
        end = start + WINDOW
    else:
        end = end or now
        start = end - WINDOW
    # end_date is the latest moment included; datetimes are shown to the millisecond.
    return RequestQuery(None, codes, start, end + timedelta(milliseconds=1), statuses)


def _comma(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _w3c(value: str | None, name: str) -> datetime | None:
    """A W3C datetime: a date (midnight UTC), or a date and time with its time zone."""
    if value is None:
        return None
    # An unencoded '+' of a time-zone offset arrives as a space.
    text = value.strip().replace(" ", "+")
    example = "like 2026-11-30T08:00:00Z or 2026-11-30T16:00:00+08:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequestData(f"{name} {value!r} is not a W3C datetime {example}.") from None
    if _DATE_ONLY.match(text):
        return moment.replace(tzinfo=UTC)
    if moment.tzinfo is None:
        raise BadRequestData(f"{name} {value!r} needs a time zone, {example}.")
    return moment


def find_requests(
    service: CaseService,
    tenant: str,
    query: RequestQuery,
    sees: Visibility = EVERYTHING,
    media: MediaUrl = no_media,
) -> list[dict[str, Any]]:
    """The service requests `query` selects that `sees` sees, newest first, at most
    MAX_REQUESTS; a service_request_id is a short reference or a case id."""
    if query.ids is not None:
        refs = service.broker.store.citizens
        ids = [refs.case_of(tenant, i.upper()) or i for i in query.ids]
        records = service.find(tenant, CaseFilter(ids=ids, limit=len(ids)), sees)
        return _render(service, tenant, records, media)
    states = _states(query.statuses)
    found: list[dict[str, Any]] = []
    offset = 0
    while len(found) < MAX_REQUESTS:
        selection = CaseFilter(
            categories=query.service_codes,
            states=states,
            since=query.since,
            until=query.until,
            limit=MAX_REQUESTS,
            offset=offset,
        )
        page = service.find(tenant, selection, sees)
        found += [r for r in _render(service, tenant, page, media) if r["status"] in query.statuses]
        if len(page) < MAX_REQUESTS:
            break
        offset += len(page)
    return found[:MAX_REQUESTS]


def _states(statuses: set[str]) -> list[State] | None:
    """The states that may show `statuses`; a merged case may show either, as its original."""
    if statuses == {OPEN}:
        return [s for s in State if s not in FINISHED or s is State.MERGED]
    if statuses == {CLOSED}:
        return sorted(FINISHED)
    return None


def get_request(
    service: CaseService,
    tenant: str,
    case_id: str,
    sees: Visibility = EVERYTHING,
    media: MediaUrl = no_media,
) -> list[dict[str, Any]]:
    """One service request by reference or id, as the list the spec answers with (404 if
    unknown or hidden)."""
    try:
        record = service.by_reference(tenant, case_id, sees)
    except ResourceNotFound:
        raise ResourceNotFound(f"There is no service request {case_id}.") from None
    return _render(service, tenant, [record], media)


def by_token(service: CaseService, tenant: str, token: str) -> list[dict[str, str]]:
    record = service.cases.by_token(tenant, token)
    if record is None:
        raise ResourceNotFound(f"There is no service request with token {token}.")
    return [{"service_request_id": record.reference or record.id, "token": token}]


def _render(
    service: CaseService, tenant: str, records: list[CaseRecord], media: MediaUrl = no_media
) -> list[dict[str, Any]]:
    deciding = _deciding_states(service, tenant, records)
    originals = {r.merged_into for r in records if r.merged_into}
    found = service.find(tenant, CaseFilter(ids=sorted(originals), limit=len(originals) or 1))
    named = {o.id: o.reference for o in found if o.reference}
    return [
        service_request(r, service.config, deciding.get(r.id), media(r), named) for r in records
    ]


# -- updates (mySociety's servicerequestupdates extension) ---------------------------------

UPDATE_FIELDS = frozenset({"start_date", "end_date"})
MAX_UPDATES = 1000
QUIET_ACTIONS = frozenset({"moderate", "escalate"})
NOTED_ACTIONS = frozenset({"reject", "resolve", "close", "reopen", "fail"})
"""Actions whose notes are written for the public."""


def find_updates(
    service: CaseService,
    tenant: str,
    params: Mapping[str, str],
    sees: Visibility = EVERYTHING,
    media: MediaUrl = no_media,
) -> list[dict[str, Any]]:
    """Public state changes of cases in [start_date, end_date] (default: the last day, at
    most WINDOW), oldest first: what a FixMyStreet client polls to follow its reports."""
    now = service.clock()
    start = _w3c(params.get("start_date"), "start_date")
    end = _w3c(params.get("end_date"), "end_date") or now
    start = start or end - timedelta(days=1)
    if end < start:
        raise BadRequestData("end_date is before start_date.")
    if end - start > WINDOW:
        raise BadRequestData(f"start_date to end_date may span at most {WINDOW.days} days.")
    entries = service.broker.store.citizens.updates(
        tenant, start, end + timedelta(milliseconds=1), MAX_UPDATES
    )
    entries = [e for e in entries if e.action not in QUIET_ACTIONS]
    ids = sorted({e.case_id for e in entries})
    records = {r.id: r for r in service.find(tenant, CaseFilter(ids=ids, limit=len(ids)), sees)}
    return [
        {
            "update_id": f"{e.case_id}#{e.seq}",
            "service_request_id": records[e.case_id].reference or e.case_id,
            "status": status_of(e.to_state),
            "external_status_code": e.to_state.value,
            "updated_datetime": iso(e.at),
            "description": (e.note or "") if e.action in NOTED_ACTIONS else "",
            "media_url": media(records[e.case_id]),
        }
        for e in entries
        if e.case_id in records
    ]


def _deciding_states(
    service: CaseService, tenant: str, records: list[CaseRecord]
) -> dict[str, State]:
    """For each merged case, the state of the case at the end of its merge chain: a
    citizen's duplicate report is open for as long as the problem is."""
    states: dict[str, State] = {}
    pending = {r.id: r.merged_into for r in records if r.merged_into}
    for _ in range(_MERGE_HOPS):
        if not pending:
            break
        targets = sorted(set(pending.values()))
        found = {r.id: r for r in service.find(tenant, CaseFilter(ids=targets, limit=len(targets)))}
        following: dict[str, str] = {}
        for case_id, target in pending.items():
            original = found.get(target)
            if original is None:
                continue  # the original is gone: the merged case shows its own state
            states[case_id] = original.state
            if original.merged_into:
                following[case_id] = original.merged_into
        pending = following
    return states


def status_of(state: State) -> str:
    return CLOSED if state in FINISHED else OPEN


def service_request(
    record: CaseRecord,
    config: GovernanceConfig,
    deciding: State | None = None,
    media: str = "",
    references: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A case as a service request; `deciding` is the state its status follows (a merged
    case's original's). No contact detail of the reporter, by construction."""
    category = config.categories.get(record.category)
    department = config.departments.get(record.department)
    notes = record.note or ""
    if record.merged_into:
        into = (references or {}).get(record.merged_into, record.merged_into)
        notes = f"merged into {into}" + (f": {notes}" if notes else "")
    expected = record.due.get(Stage.RESOLVE) or record.due.get(Stage.ACCEPT)
    lon, lat = record.location if record.location else (None, None)
    return {
        "service_request_id": record.reference or record.id,
        "status": status_of(deciding or record.state),
        "status_notes": notes,
        "service_name": category.name if category else record.category,
        "service_code": record.category,
        "description": public_description(record),
        "agency_responsible": department.name if department else record.department,
        "service_notice": record.routing,
        "requested_datetime": iso(record.reported_at),
        "updated_datetime": iso(record.updated_at),
        "expected_datetime": iso(expected) if expected else "",
        "address": record.address or "",
        "address_id": "",
        "zipcode": "",
        "lat": lat,
        "long": lon,
        "media_url": media or (record.media[0] if record.media else ""),
    }


def public_description(record: CaseRecord) -> str:
    """The description, unless moderation hid it or a rude word holds it for review."""
    return "" if record.text_hidden or record.flagged else record.description or ""
