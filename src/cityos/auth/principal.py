"""The authenticated caller: who, in which roles, for which tenants and entity."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

ALL_TENANTS = "*"
"""In a principal's tenants: every tenant."""


class RoleKind(StrEnum):
    """The kinds of role; `department` always names its department (`department:roads`)."""

    ADMIN = "admin"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    DEPARTMENT = "department"
    INSPECTOR = "inspector"
    DEVICE = "device"
    CITIZEN = "citizen"
    PUBLIC_READ = "public-read"


class RoleError(ValueError):
    """A role, tenant or key scope that cannot be; the message says what would do."""


@dataclass(frozen=True, slots=True, order=True)
class Role:
    kind: RoleKind
    department: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.department}" if self.department else str(self.kind)


def parse_role(text: str) -> Role:
    """`admin`, `operator`, …, or `department:<name>`; RoleError naming the valid ones."""
    name, _, department = text.strip().partition(":")
    try:
        kind = RoleKind(name)
    except ValueError:
        known = ", ".join(k.value for k in RoleKind if k is not RoleKind.DEPARTMENT)
        raise RoleError(
            f"Unknown role {text!r}: use one of {known} or department:<name>."
        ) from None
    if (kind is RoleKind.DEPARTMENT) != bool(department):
        raise RoleError(
            "A department role names its department (department:<name>)"
            if kind is RoleKind.DEPARTMENT
            else f"Role {name!r} takes no ':<name>'."
        )
    return Role(kind, department or None)


def parse_roles(texts: Iterable[str]) -> frozenset[Role]:
    return frozenset(parse_role(t) for t in texts if t.strip())


class Method(StrEnum):
    """How the principal proved who it is."""

    KEY = "key"
    JWT = "jwt"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for. `subject` is stable: the key id, or the token's `sub`."""

    subject: str
    roles: frozenset[Role]
    tenants: frozenset[str] = frozenset({ALL_TENANTS})
    entity: str | None = None
    """A device's own entity: the only one it may write."""
    method: Method = Method.KEY

    def has(self, kind: RoleKind) -> bool:
        return any(role.kind is kind for role in self.roles)

    @property
    def departments(self) -> frozenset[str]:
        return frozenset(r.department for r in self.roles if r.department)

    def may_use(self, tenant: str) -> bool:
        return ALL_TENANTS in self.tenants or tenant in self.tenants

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(str(r) for r in self.roles)


ANONYMOUS = Principal("anonymous", frozenset({Role(RoleKind.PUBLIC_READ)}), method=Method.ANONYMOUS)
"""A caller without credentials, where some routes are configured public."""
