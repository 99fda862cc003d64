"""/governance: the case desk of the city's departments.

    POST /governance/cases                          file a report                201
    GET  /governance/cases?state&category&district&department&overdue&since&until&limit&offset
    GET  /governance/cases/{id}                     the case and the actions open to the caller
    GET  /governance/cases/{id}/trail               its append-only trail
    POST /governance/cases/{id}/{action}            {note, department, into}     the new case
    GET  /governance/statistics?groupBy&period&since&until&…   computed in the database
    GET  /governance/catalogue                      categories and departments

Who acts is the authenticated principal (api/auth.py): its key id or token subject, in its
roles. A department sees and acts only on its own cases (others are 404, as if absent);
reporter contact details go only to operators, supervisors, admins and the case's own
department (`auth.policy`). With authentication off, the `CityOS-Actor` and `CityOS-Roles`
headers say who acts: the identity a gateway in front of cityos vouches for.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.auth.policy import sees_contact_details
from cityos.context.errors import BadRequestData
from cityos.governance.entity import iso
from cityos.governance.lifecycle import ACTIONS, acting_role, allowed_actions
from cityos.governance.model import (
    Actor,
    CaseFilter,
    CaseRecord,
    Priority,
    Report,
    Source,
    State,
    TrailEntry,
)
from cityos.governance.service import CaseService
from cityos.store.cases import StatsRow

from . import background
from .http import (
    moment_param,
    plain_json,
    principal_of,
    read_body,
    services,
    tenant_of,
    visibility_of,
)

CASES = "/governance/cases"
ACTOR_HEADER = "cityos-actor"
ROLES_HEADER = "cityos-roles"
PRIVILEGED = frozenset({"operator", "supervisor", "admin"})


def actor_of(request: Request) -> Actor:
    """The principal as a governance actor; without authentication, the gateway's headers."""
    principal = principal_of(request)
    if principal is not None:
        return Actor(principal.subject, principal.role_names)
    roles = request.headers.get(ROLES_HEADER, "")
    return Actor(
        request.headers.get(ACTOR_HEADER, "anonymous"),
        frozenset(r.strip() for r in roles.split(",") if r.strip()),
    )


def render_case(record: CaseRecord, actor: Actor, request: Request) -> dict[str, Any]:
    """The case as JSON; the reporter's contact only for those who need it."""
    body: dict[str, Any] = {
        "id": record.id,
        "reference": record.reference,
        "category": record.category,
        "state": record.state.value,
        "priority": record.priority.value,
        "source": record.source.value,
        "department": record.department,
        "routing": record.routing,
        "district": record.district,
        "gridCell": record.cell,
        "location": {"type": "Point", "coordinates": list(record.location)}
        if record.location
        else None,
        "address": record.address,
        "description": record.description,
        "media": record.media,
        "attributes": record.attributes,
        "raisedBy": record.raised_by,
        "reportedAt": iso(record.reported_at),
        "updatedAt": iso(record.updated_at),
        "closedAt": iso(record.closed_at) if record.closed_at else None,
        "due": {stage.value: iso(at) for stage, at in record.due.items()},
        "done": {stage.value: iso(at) for stage, at in record.done.items()},
        "overdue": record.overdue.value if record.overdue else None,
        "escalatedTo": record.escalated_to,
        "reopened": record.reopened,
        "mergedInto": record.merged_into,
        "possibleDuplicateOf": record.duplicate_of,
        "note": record.note,
        "actions": [
            name
            for name in allowed_actions(record.state)
            if acting_role(ACTIONS[name], record, actor) is not None
        ],
    }
    principal = principal_of(request)
    if principal is not None:
        contacts = sees_contact_details(principal, record)
    else:
        contacts = bool(PRIVILEGED & actor.roles) or record.department in actor.department()
    if contacts:
        body["reporter"] = record.reporter
    return {k: v for k, v in body.items() if v is not None}


def _trail(entry: TrailEntry, names: dict[str, str]) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "action": entry.action,
        "from": entry.from_state.value if entry.from_state else None,
        "to": entry.to_state.value,
        "actor": names.get(entry.actor, entry.actor),
        "role": entry.role,
        "at": iso(entry.at),
        "note": entry.note,
    }


def _stats(row: StatsRow) -> dict[str, Any]:
    return {
        **row.key,
        "received": row.received,
        "closed": row.closed,
        "backlog": row.backlog,
        "onTime": {stage.value: rate for stage, rate in row.on_time.items()},
        "medianCloseSeconds": row.median_close_s,
        "p90CloseSeconds": row.p90_close_s,
        "reopenRate": row.reopen_rate,
    }


def _service(request: Request) -> CaseService:
    return services(request).cases


def _visible(request: Request, case_id: str) -> CaseRecord:
    """The case, if the caller may see it; 404 otherwise, so its existence does not leak."""
    return _service(request).get(tenant_of(request), case_id, visibility_of(request))


# -- parsing -------------------------------------------------------------------------------


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequestData(f"{name} must be a string.")
    return value


_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], value: str, name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(m.value for m in kind)
        raise BadRequestData(f"{name} {value!r} is not one of: {known}.") from None


def _point(value: Any) -> tuple[float, float] | None:
    """A GeoJSON Point or {lon, lat}."""
    if value is None:
        return None
    if isinstance(value, dict) and value.get("type") == "Point":
        value = value.get("coordinates")
    elif isinstance(value, dict) and {"lon", "lat"} <= value.keys():
        value = [value["lon"], value["lat"]]
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return (float(value[0]), float(value[1]))
    raise BadRequestData("location must be a GeoJSON Point or {lon, lat}.")


def parse_report(body: Any) -> Report:
    if not isinstance(body, dict):
        raise BadRequestData("A report is a JSON object.")
    known = {
        "category",
        "source",
        "description",
        "location",
        "address",
        "priority",
        "reporter",
        "media",
        "attributes",
        "raisedBy",
        "id",
    }
    unknown = set(body) - known
    if unknown:
        raise BadRequestData(f"A report has no member {', '.join(sorted(unknown))}.")
    category = _text(body, "category")
    if not category:
        raise BadRequestData("A report needs a category.")
    reporter = body.get("reporter", {})
    if not isinstance(reporter, dict) or not all(isinstance(v, str) for v in reporter.values()):
        raise BadRequestData("reporter must be an object of strings (email, phone…).")
    media = body.get("media", [])
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        raise BadRequestData("media must be a list of URLs.")
    attributes = body.get("attributes", {})
    if not isinstance(attributes, dict):
        raise BadRequestData("attributes must be an object.")
    priority = _text(body, "priority")
    return Report(
        category=category,
        source=_enum(Source, _text(body, "source") or "citizen", "source"),
        description=_text(body, "description"),
        location=_point(body.get("location")),
        address=_text(body, "address"),
        priority=_enum(Priority, priority, "priority") if priority else None,
        reporter=reporter,
        media=media,
        attributes=attributes,
        raised_by=_text(body, "raisedBy"),
        case_id=_text(body, "id"),
    )


def _list(request: Request, name: str) -> list[str] | None:
    value = request.query_params.get(name)
    return [v for v in value.split(",") if v] if value else None


def _int(request: Request, name: str, default: int, maximum: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) > maximum:
        raise BadRequestData(f"{name} must be a whole number from 0 to {maximum}.")
    return int(value)


def parse_filter(request: Request) -> CaseFilter:
    states = _list(request, "state")
    overdue = request.query_params.get("overdue")
    if overdue not in (None, "true", "false"):
        raise BadRequestData("overdue must be true or false.")
    return CaseFilter(
        ids=_list(request, "id"),
        categories=_list(request, "category"),
        states=[_enum(State, s, "state") for s in states] if states else None,
        departments=_list(request, "department"),
        districts=_list(request, "district"),
        overdue=None if overdue is None else overdue == "true",
        since=moment_param(request, "since"),
        until=moment_param(request, "until"),
        limit=_int(request, "limit", 100, 1000),
        offset=_int(request, "offset", 0, 10**9),
    )


# -- routes --------------------------------------------------------------------------------


async def report_case(request: Request) -> Response:
    body, _ = await read_body(request)
    report = parse_report(body)
    actor = actor_of(request)
    record = await anyio.to_thread.run_sync(
        _service(request).report, tenant_of(request), report, actor
    )
    body = render_case(record, actor, request)
    return plain_json(body, 201, {"Location": f"{CASES}/{record.id}"})


async def list_cases(request: Request) -> Response:
    selection = visibility_of(request).narrow_cases(parse_filter(request))
    if selection is None:
        return plain_json([], headers={"CityOS-Count": "0"})
    actor = actor_of(request)
    service = _service(request)
    tenant = tenant_of(request)
    records = service.find(tenant, selection)
    count = service.cases.count(tenant, selection)
    return plain_json(
        [render_case(r, actor, request) for r in records], headers={"CityOS-Count": str(count)}
    )


def actor_names(request: Request, entries: list[TrailEntry]) -> dict[str, str]:
    """Key id → the key's name, for the actors of `entries`: people read names, and a key
    id is a credential's handle, not something to show around the office."""
    keys = services(request).broker.store.keys
    names = {}
    for actor in {e.actor for e in entries}:
        key = keys.get_key(actor)
        if key is not None:
            names[actor] = key.name
    return names


def staff_case(request: Request, record: CaseRecord, actor: Actor) -> dict[str, Any]:
    """One case for its staff: the record, and the citizens' side (photos, support,
    followers, the review flag)."""
    body = render_case(record, actor, request)
    citizens = services(request).desk.staff_view(tenant_of(request), record)
    if "reporter" not in body:
        citizens.pop("followers")
    return {**body, **{k: v for k, v in citizens.items() if v is not None}}


def get_case(request: Request) -> Response:
    record = _visible(request, request.path_params["id"])
    return plain_json(staff_case(request, record, actor_of(request)))


def case_trail(request: Request) -> Response:
    _visible(request, request.path_params["id"])
    entries = _service(request).trail(tenant_of(request), request.path_params["id"])
    names = actor_names(request, entries)
    return plain_json([_trail(e, names) for e in entries])


async def moderate_case(request: Request) -> Response:
    """{"hide": "text" | "photo:<id>", "reason"} or {"show": …, "reason"}: staff take a
    report's text or photo off (or back on) every public surface; the reason is kept in the
    trail."""
    body, _ = await read_body(request)
    if not isinstance(body, dict) or set(body) - {"hide", "show", "reason"}:
        raise BadRequestData('Moderation takes {"hide" or "show": target, "reason": text}.')
    hide = "hide" in body
    target = body.get("hide") if hide else body.get("show")
    reason = body.get("reason")
    if not isinstance(target, str) or not isinstance(reason, str) or ("show" in body) == hide:
        raise BadRequestData('Moderation takes {"hide" or "show": target, "reason": text}.')
    actor = actor_of(request)
    _visible(request, request.path_params["id"])
    desk = services(request).desk
    tenant, case_id = tenant_of(request), request.path_params["id"]
    record = await anyio.to_thread.run_sync(
        lambda: desk.moderate(tenant, case_id, actor, target, reason, hide)
    )
    return plain_json(staff_case(request, record, actor))


async def act_on_case(request: Request) -> Response:
    body: Any = {}
    if request.headers.get("content-length", "0") != "0":
        body, _ = await read_body(request)
    if not isinstance(body, dict) or set(body) - {"note", "department", "into"}:
        raise BadRequestData("An action's body may hold note, department and into.")
    actor = actor_of(request)
    _visible(request, request.path_params["id"])
    record = await anyio.to_thread.run_sync(
        lambda: _service(request).act(
            tenant_of(request),
            request.path_params["id"],
            request.path_params["action"],
            actor,
            _text(body, "note"),
            department=_text(body, "department"),
            into=_text(body, "into"),
        )
    )
    return plain_json(staff_case(request, record, actor))


async def statistics(request: Request) -> Response:
    group_by = _list(request, "groupBy") or []
    rows = await anyio.to_thread.run_sync(
        lambda: _service(request).statistics(
            tenant_of(request),
            group_by,
            request.query_params.get("period"),
            moment_param(request, "since"),
            moment_param(request, "until"),
        )
    )
    return plain_json([_stats(r) for r in rows])


async def catalogue(request: Request) -> Response:
    config = _service(request).config
    return plain_json(
        {
            "city": config.city,
            "categories": [
                {"code": c.code, "name": c.name, "nameZh": c.name_zh, "group": c.group}
                for c in config.categories.values()
            ],
            "departments": [
                {"id": d.id, "name": d.name, "nameZh": d.name_zh}
                for d in config.departments.values()
            ],
            "states": [s.value for s in State],
            "actions": list(ACTIONS),
        }
    )


def escalation_service(app: Starlette) -> Any:
    """Looks for overdue cases every `escalation_every_s` seconds while the app runs."""
    service: CaseService = app.state.services.cases
    every = app.state.services.settings.escalation_every_s

    async def loop() -> None:
        while True:
            await anyio.to_thread.run_sync(service.escalate_overdue)
            await anyio.sleep(every)

    return background.running(loop(), "case-escalation")


routes = [
    Route(CASES, report_case, methods=["POST"]),
    Route(CASES, list_cases, methods=["GET"]),
    Route(CASES + "/{id}", get_case, methods=["GET"]),
    Route(CASES + "/{id}/trail", case_trail, methods=["GET"]),
    Route(CASES + "/{id}/moderate", moderate_case, methods=["POST"]),
    Route(CASES + "/{id}/{action}", act_on_case, methods=["POST"]),
    Route("/governance/statistics", statistics, methods=["GET"]),
    Route("/governance/catalogue", catalogue, methods=["GET"]),
]
