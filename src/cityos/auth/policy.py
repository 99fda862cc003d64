"""Who may do what, as data the code itself checks (and docs/security.md is generated from).

Three layers, each a table or a small function over one:
- `Endpoint`: every route of the API belongs to one class (api/auth.py maps routes onto
  them, and a test makes sure no route is left out);
- `MATRIX`: which role kind may use which classes; `PUBLIC` classes need no credentials;
- object rules: which cases a department sees, whose contact details a role sees, which
  entity a device may write, which entity types anonymous callers see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cityos.auth.principal import Method, Principal, RoleKind


class Endpoint(StrEnum):
    """A class of endpoints that one permission covers."""

    PUBLIC = "public"
    """/version and the operational probes: nothing about the city."""
    DASHBOARD = "dashboard"
    """The dashboard's static shell (HTML, JS, CSS); its data calls need credentials."""
    SELF = "self"
    """Who the caller is (GET /auth/me)."""
    ENTITIES_READ = "entities.read"
    ENTITIES_WRITE = "entities.write"
    ENTITIES_DELETE = "entities.delete"
    BATCH_WRITE = "batch.write"
    TYPES_READ = "types.read"
    CONTEXTS_READ = "contexts.read"
    CONTEXTS_WRITE = "contexts.write"
    SUBSCRIPTIONS_READ = "subscriptions.read"
    SUBSCRIPTIONS_WRITE = "subscriptions.write"
    TEMPORAL_READ = "temporal.read"
    TEMPORAL_WRITE = "temporal.write"
    IOT_PROVISION = "iot.provision"
    IOT_MEASURE = "iot.measure"
    GOVERNANCE_READ = "governance.read"
    GOVERNANCE_REPORT = "governance.report"
    GOVERNANCE_ACT = "governance.act"
    OPEN311_SERVICES = "open311.services"
    OPEN311_READ = "open311.read"
    OPEN311_REPORT = "open311.report"
    RULES_READ = "rules.read"
    RULES_WRITE = "rules.write"
    KPIS_READ = "kpis.read"
    INDICATORS_READ = "indicators.read"
    AUDIT_READ = "audit.read"
    """The audit log: who did what to cases, keys, subscriptions and rules."""


E = Endpoint

PUBLIC: frozenset[Endpoint] = frozenset(
    {E.PUBLIC, E.DASHBOARD, E.OPEN311_SERVICES, E.OPEN311_REPORT}
)
"""Open to callers without credentials. An anonymous Open311 POST still needs a valid
service api_key (checked by the Open311 route, the Open311 way: 403)."""

READS = frozenset(
    {
        E.ENTITIES_READ,
        E.TYPES_READ,
        E.CONTEXTS_READ,
        E.SUBSCRIPTIONS_READ,
        E.TEMPORAL_READ,
        E.GOVERNANCE_READ,
        E.OPEN311_READ,
        E.RULES_READ,
        E.KPIS_READ,
        E.INDICATORS_READ,
    }
)
"""What the city's staff read: the live model, its history, cases, rules and figures."""

_CASE_DESK = READS | {E.SUBSCRIPTIONS_WRITE, E.GOVERNANCE_REPORT, E.GOVERNANCE_ACT}
"""Staff working cases; subscriptions for the dashboard's live stream."""

MATRIX: dict[RoleKind, frozenset[Endpoint]] = {
    RoleKind.ADMIN: frozenset(Endpoint),
    RoleKind.OPERATOR: frozenset(Endpoint) - {E.AUDIT_READ},
    RoleKind.SUPERVISOR: _CASE_DESK | {E.OPEN311_REPORT},
    RoleKind.DEPARTMENT: _CASE_DESK,
    RoleKind.INSPECTOR: _CASE_DESK,
    RoleKind.DEVICE: frozenset({E.ENTITIES_WRITE, E.IOT_MEASURE}),
    RoleKind.CITIZEN: frozenset({E.OPEN311_READ, E.OPEN311_REPORT}),
    RoleKind.PUBLIC_READ: frozenset({E.ENTITIES_READ}),
}
"""Role kind → the classes it may use, besides PUBLIC (and SELF for any credentials).
operator differs from admin only in the object rules of governance (admin may take any
action a case's state allows) and in the audit log, which admins alone read (it watches the
operators too); in nothing else on purpose: keys are managed on the command line, by
whoever holds the store."""

CASE_WIDE = frozenset({RoleKind.ADMIN, RoleKind.OPERATOR, RoleKind.SUPERVISOR, RoleKind.INSPECTOR})
"""Roles that see every case of their tenants; a department sees only its own."""

CONTACT = frozenset({RoleKind.ADMIN, RoleKind.OPERATOR, RoleKind.SUPERVISOR})
"""Roles that see every reporter's contact details; a department sees its own cases'."""

UNRESTRICTED_READ = frozenset(
    kind for kind, classes in MATRIX.items() if E.ENTITIES_READ in classes
) - {RoleKind.PUBLIC_READ}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may go on; `status` 401 (who are you?) or 403 (not you)."""

    allowed: bool
    status: int = 200
    reason: str = ""


ALLOW = Decision(True)


def classes_of(principal: Principal) -> frozenset[Endpoint]:
    """Every class the principal may use, in any tenant it may use."""
    granted = set(PUBLIC)
    if principal.method is not Method.ANONYMOUS:
        granted.add(E.SELF)
    for role in principal.roles:
        granted |= MATRIX[role.kind]
    return frozenset(granted)


def allowed(principal: Principal, endpoint: Endpoint, tenant: str) -> Decision:
    """May `principal` use `endpoint` in `tenant`? Anonymous callers are told to
    authenticate (401); known ones that may not, are refused (403)."""
    if endpoint in PUBLIC:
        return ALLOW
    anonymous = principal.method is Method.ANONYMOUS
    if endpoint not in classes_of(principal):
        if anonymous:
            return Decision(False, 401, "This needs credentials: an API key or a bearer token.")
        roles = ", ".join(sorted(principal.role_names)) or "none"
        return Decision(False, 403, f"Your roles ({roles}) do not allow {endpoint}.")
    if endpoint is not E.SELF and not principal.may_use(tenant):
        return Decision(False, 403, f"Your credentials are not valid for tenant {tenant!r}.")
    return ALLOW


def roles_allowed(endpoint: Endpoint) -> list[str]:
    """The role kinds that may use `endpoint` (all of them for a PUBLIC one)."""
    if endpoint in PUBLIC:
        return [k.value for k in RoleKind]
    return [k.value for k in RoleKind if endpoint in MATRIX[k]]


# -- object rules --------------------------------------------------------------------------


class Case(Protocol):
    @property
    def department(self) -> str | None: ...


def case_departments(principal: Principal) -> frozenset[str] | None:
    """The departments whose cases the principal sees; None: every case."""
    if any(r.kind in CASE_WIDE for r in principal.roles):
        return None
    return principal.departments


def may_see_case(principal: Principal, case: Case) -> bool:
    departments = case_departments(principal)
    return departments is None or case.department in departments


def may_act_on_case(principal: Principal, case: Case) -> bool:
    """Acting needs seeing; which action in which state is the lifecycle's to say."""
    return may_see_case(principal, case)


def sees_contact_details(principal: Principal, case: Case) -> bool:
    """Reporter contacts go to those who follow up: the desk, and the case's department."""
    if any(r.kind in CONTACT for r in principal.roles):
        return True
    return case.department is not None and case.department in principal.departments


def may_write_entity(principal: Principal, entity_id: str | None) -> bool:
    """A device writes only its own entity (`entity_id` None: a write naming none, such as a
    batch, which a device may not do); every other writer writes any."""
    if principal.has(RoleKind.DEVICE) and not any(
        E.ENTITIES_WRITE in MATRIX[r.kind] for r in principal.roles if r.kind != RoleKind.DEVICE
    ):
        return entity_id is not None and entity_id == principal.entity
    return True


def visible_types(principal: Principal, public: Iterable[str]) -> frozenset[str] | None:
    """The entity types the principal may read; None: every type."""
    if any(r.kind in UNRESTRICTED_READ for r in principal.roles):
        return None
    return frozenset(public)


NARROWED: dict[tuple[RoleKind, Endpoint], str] = {
    (RoleKind.DEVICE, E.ENTITIES_WRITE): "own entity",
    (RoleKind.DEVICE, E.IOT_MEASURE): "own entity",
    (RoleKind.DEPARTMENT, E.GOVERNANCE_READ): "own cases",
    (RoleKind.DEPARTMENT, E.GOVERNANCE_ACT): "own cases",
    (RoleKind.PUBLIC_READ, E.ENTITIES_READ): "public types",
}
"""Cells of the matrix an object rule narrows (the functions above), as the doc names them."""


# -- the matrix as a document --------------------------------------------------------------


def matrix_markdown() -> str:
    """The role matrix as a Markdown table (docs/security.md holds this very text)."""
    kinds = list(RoleKind)
    head = "| endpoint class | " + " | ".join(k.value for k in kinds) + " |"
    rule = "|---|" + "---|" * len(kinds)
    rows = []
    for endpoint in Endpoint:
        cells = []
        for kind in kinds:
            if endpoint in PUBLIC:
                cells.append("anyone")
            elif endpoint is E.SELF or endpoint in MATRIX[kind]:
                cells.append(NARROWED.get((kind, endpoint), "yes"))
            else:
                cells.append("—")
        rows.append(f"| `{endpoint}` | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows]) + "\n"
