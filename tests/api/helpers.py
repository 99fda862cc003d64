"""Small helpers shared by the API tests."""

from __future__ import annotations

from httpx import Response

from cityos.context.jsonld import CORE_CONTEXT_URL

CORE = CORE_CONTEXT_URL
ENTITIES = "/ngsi-ld/v1/entities"
BATCH = "/ngsi-ld/v1/entityOperations"
LD = "application/ld+json"


def link(url: str) -> str:
    return f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def problem_type(response: Response) -> str:
    """The short NGSI-LD error type of a ProblemDetails response."""
    kind: str = response.json()["type"]
    return kind.rsplit("/", 1)[-1]
