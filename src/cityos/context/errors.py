"""NGSI-LD errors as exceptions carrying their ProblemDetails (ETSI GS CIM 009, 5.5.2)."""

from __future__ import annotations

from typing import Any

ERROR_BASE = "https://uri.etsi.org/ngsi-ld/errors/"


class NgsiError(Exception):
    """An error the API reports to the client as ProblemDetails with a fixed status."""

    type_name = "InternalError"
    title = "Internal error"
    status = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return ERROR_BASE + self.type_name

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type_uri, "title": self.title, "detail": self.detail}
        body.update(self.extra)
        return body


class InvalidRequest(NgsiError):
    type_name, title, status = "InvalidRequest", "Invalid request", 400


class BadRequestData(NgsiError):
    type_name, title, status = "BadRequestData", "Bad request data", 400


class AlreadyExists(NgsiError):
    type_name, title, status = "AlreadyExists", "Already exists", 409


class OperationNotSupported(NgsiError):
    type_name, title, status = "OperationNotSupported", "Operation not supported", 422


class ResourceNotFound(NgsiError):
    type_name, title, status = "ResourceNotFound", "Resource not found", 404


class TooComplexQuery(NgsiError):
    type_name, title, status = "TooComplexQuery", "Too complex query", 403


class TooManyResults(NgsiError):
    type_name, title, status = "TooManyResults", "Too many results", 403


class LdContextNotAvailable(NgsiError):
    type_name, title, status = "LdContextNotAvailable", "JSON-LD context not available", 504


class NonexistentTenant(NgsiError):
    type_name, title, status = "NonexistentTenant", "Nonexistent tenant", 404


class UnsupportedMediaType(NgsiError):
    """Not an NGSI-LD error type of its own: the spec answers 415 with InvalidRequest."""

    type_name, title, status = "InvalidRequest", "Unsupported media type", 415


class NotAcceptable(NgsiError):
    type_name, title, status = "InvalidRequest", "Not acceptable", 406


class PayloadTooLarge(NgsiError):
    type_name, title, status = "InvalidRequest", "Payload too large", 413


class LengthRequired(NgsiError):
    type_name, title, status = "InvalidRequest", "Length required", 411


class MethodNotAllowed(NgsiError):
    type_name, title, status = "OperationNotSupported", "Method not allowed", 405


CITYOS_ERROR_BASE = "urn:cityos:error:"
"""NGSI-LD defines no error types for authentication: these are cityos's own (a URN, as it
resolves to no page), in the same ProblemDetails shape."""


class Unauthorized(NgsiError):
    """No credentials, or ones that are not valid (unknown, revoked, expired): 401."""

    type_name, title, status = "Unauthorized", "Unauthorized", 401

    @property
    def type_uri(self) -> str:
        return CITYOS_ERROR_BASE + self.type_name


class Forbidden(NgsiError):
    """Valid credentials that do not allow this operation, tenant or object: 403."""

    type_name, title, status = "Forbidden", "Forbidden", 403

    @property
    def type_uri(self) -> str:
        return CITYOS_ERROR_BASE + self.type_name


class LimitExceeded(NgsiError):
    """A request that would take the tenant past one of the broker's quotas (such as its
    number of subscriptions): 403, as RFC 9110 15.5.4 has it (understood, refused).
    NGSI-LD defines no error type for a quota, so this one is cityos's own."""

    type_name, title, status = "LimitExceeded", "Limit exceeded", 403

    @property
    def type_uri(self) -> str:
        return CITYOS_ERROR_BASE + self.type_name


class ServiceUnavailable(NgsiError):
    """The instance is at one of its capacity limits (such as its live streams): 503 with
    Retry-After, in seconds; another instance, or a later try, may serve it."""

    type_name, title, status = "ServiceUnavailable", "Service unavailable", 503

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    @property
    def type_uri(self) -> str:
        return CITYOS_ERROR_BASE + self.type_name


class TooManyRequests(NgsiError):
    """The caller's rate limit is used up: 429 (RFC 6585) with Retry-After, in seconds."""

    type_name, title, status = "TooManyRequests", "Too many requests", 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    @property
    def type_uri(self) -> str:
        return CITYOS_ERROR_BASE + self.type_name
