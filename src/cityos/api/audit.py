"""`GET /audit`: the audit log, for admins only (policy `audit.read`).

Parameters: `since` (ISO date-time), `tenant`, `action` (`case.accept`, or `case` for every
case action), `after` (the last `seq` seen: the next page) and `limit`. An admin bound to
some tenants reads only theirs, and must name one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.auth.principal import ALL_TENANTS
from cityos.context.errors import BadRequestData, Forbidden
from cityos.store.audit import AuditFilter, AuditRecord

from .http import moment_param, plain_json, principal_of, services, tenancy_of

AUDIT = "/audit"
PARAMETERS = frozenset(["since", "tenant", "action", "after", "limit"])


def _number(request: Request, name: str, default: int, maximum: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    if not value.isdigit() or len(value) > 18 or int(value) > maximum:
        raise BadRequestData(f"{name} must be a whole number from 0 to {maximum}.")
    return int(value)


def _tenant(request: Request) -> str | None:
    """The tenant to read: the request's (`?tenant=`, or a header; api/auth.py has checked
    that the principal may use it); None, every tenant, when an unbound admin names none.
    `?tenant=` empty is the default tenant, not "every tenant"."""
    tenancy = tenancy_of(request)
    tenant = tenancy.tenant if tenancy.named else None
    principal = principal_of(request)
    if tenant is None and principal is not None and ALL_TENANTS not in principal.tenants:
        raise Forbidden("Your credentials are bound to some tenants: name one with ?tenant=.")
    return tenant


def _render(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": record.at.isoformat().replace("+00:00", "Z"),
        "actor": record.actor,
        "method": record.method,
        "tenant": record.tenant,
        "action": record.action,
        "object": record.object_id,
        "requestId": record.request_id,
        "detail": record.detail,
    }


def read_audit(request: Request) -> Response:
    unknown = sorted(set(request.query_params) - PARAMETERS)
    if unknown:
        raise BadRequestData(f"Unknown query parameter(s): {', '.join(unknown)}.")
    settings = services(request).settings
    selection = AuditFilter(
        since=moment_param(request, "since"),
        tenant=_tenant(request),
        action=request.query_params.get("action") or None,
        after=_number(request, "after", 0, 2**62),
        limit=_number(request, "limit", settings.default_limit, settings.max_limit),
    )
    records = services(request).broker.store.audit.find(selection)
    return plain_json([_render(r) for r in records])


routes = [Route(AUDIT, read_audit, methods=["GET"])]
