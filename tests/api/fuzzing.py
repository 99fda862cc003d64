"""What fuzzing the API needs, shared by tests/api/test_schemathesis.py and
bench/fuzz_api.py: a loopback-only world, settings that keep notifications on this machine,
and a few seeded resources so that the spec's examples reach the handlers' success paths.

Fuzzed subscriptions and rules carry arbitrary endpoint URIs. The broker resolves their
host names when they are written and delivers to them on every matching change, so the
fuzzed app must neither ask a DNS server about a made-up name nor send a notification
off this machine: `loopback_only` answers names itself (only `localhost`), and
`FUZZ_SETTINGS` allows notifications to 127.0.0.0/8 only.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from starlette.applications import Starlette
from starlette.testclient import TestClient

from cityos.api.http import Settings
from cityos.events.endpoints import EndpointPolicy

FUZZ_SETTINGS = Settings(
    # generated subscriptions may notify loopback and nothing else: every other network is
    # denied, loopback allowed as the one exception
    notify_policy=EndpointPolicy.from_lists(allow=["127.0.0.0/8"], deny=["0.0.0.0/0", "::/0"])
)

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _loopback_getaddrinfo(
    host: Any, port: Any = None, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> Any:
    """getaddrinfo that knows only loopback: an IP literal as itself, `localhost` as
    127.0.0.1, any other name as unknown (gaierror), without asking a resolver."""
    name = host.decode() if isinstance(host, bytes) else host
    if name in LOOPBACK_NAMES:
        name = "127.0.0.1"
    return _REAL_GETADDRINFO(name, port, family, type, proto, flags | socket.AI_NUMERICHOST)


_REAL_GETADDRINFO = socket.getaddrinfo


@contextmanager
def loopback_only() -> Iterator[None]:
    """Within the block, no host name is resolved through DNS (see the module's doc)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", _loopback_getaddrinfo)
        yield


SEED_ENTITY = {
    "id": "urn:ngsi-ld:Vehicle:A4567",
    "type": "Vehicle",
    "speed": {"type": "Property", "value": 55, "observedAt": "2026-01-01T08:00:00Z"},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [106.55, 29.56]}},
}
SEED_RULE = {
    "id": "machine-overheat",
    "type": "Machine",
    "when": {"q": "temperature>90", "for": "5m"},
    "then": [{"set": {"attribute": "alarm", "value": "overheating"}}],
}


def seed(app: Starlette) -> None:
    """The resources the spec's examples name: an entity with history, a device, a case and
    a rule (no subscription: a stream of one would never end)."""
    client = TestClient(app)  # no lifespan: the fuzzing transport runs the app's own
    answers = [
        client.post("/ngsi-ld/v1/entities", json=SEED_ENTITY),
        client.post(
            "/iot/devices",
            json={"devices": [{"device_id": "thermometer-1", "entity_type": "Thermometer"}]},
        ),
        client.post(
            "/governance/cases",
            json={"id": "urn:ngsi-ld:Case:1", "category": "pothole", "address": "Jiefangbei"},
        ),
        client.post("/rules", json=SEED_RULE),
    ]
    for answer in answers:
        assert answer.status_code == 201, answer.text


CONTEXT_NOT_AVAILABLE = "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"


@schemathesis.check
def no_server_error(ctx: CheckContext, response: Response, case: schemathesis.Case) -> None:
    """not_a_server_error, but for the one 5xx NGSI-LD prescribes for a client's request:
    504 LdContextNotAvailable, when the @context URL named is one this broker does not have
    (it never fetches one). Any @context that is no URL at all is a 400."""
    if response.status_code == 504 and response.json().get("type") == CONTEXT_NOT_AVAILABLE:
        return
    not_a_server_error(ctx, response, case)
