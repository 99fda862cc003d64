"""Governance errors, reported as ProblemDetails like the broker's own."""

from __future__ import annotations

from typing import Any

from cityos.context.errors import NgsiError

GOVERNANCE_ERRORS = "urn:cityos:errors:"


class IllegalTransition(NgsiError):
    """The action does not lead anywhere from the case's state; says where it can go."""

    type_name, title, status = "IllegalTransition", "Illegal transition", 409

    def __init__(self, detail: str, allowed: list[str], **extra: Any) -> None:
        super().__init__(detail, allowed=allowed, **extra)
        self.allowed = allowed

    @property
    def type_uri(self) -> str:
        return GOVERNANCE_ERRORS + self.type_name


class NotAllowed(NgsiError):
    """The actor's roles do not permit the action on this case."""

    type_name, title, status = "NotAllowed", "Not allowed", 403

    @property
    def type_uri(self) -> str:
        return GOVERNANCE_ERRORS + self.type_name
