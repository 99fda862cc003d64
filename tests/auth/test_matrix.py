"""Every role against every endpoint class, through real HTTP: allowed ones get past the
door (whatever the handler then says), denied ones get 403 (401 without credentials).

The expectation is computed from `policy.MATRIX`, so the table itself is pinned below by
explicit assertions of the cells that matter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route

from cityos.api.app import create_app
from cityos.api.auth import route_class
from cityos.auth.policy import MATRIX, PUBLIC, Endpoint, classes_of, matrix_markdown
from cityos.auth.principal import ANONYMOUS, RoleKind
from cityos.store.sqlite import SQLiteStore
from tests.auth.conftest import DEVICE_ENTITY, Secured, secured_app

V1 = "/ngsi-ld/v1"
PROPERTY = {"temperature": {"type": "Property", "value": 21}}

SAMPLES: dict[Endpoint, tuple[str, str, dict[str, Any]]] = {
    Endpoint.PUBLIC: ("GET", "/version", {}),
    Endpoint.DASHBOARD: ("GET", "/dashboard/", {}),
    Endpoint.SELF: ("GET", "/auth/me", {}),
    Endpoint.ENTITIES_READ: ("GET", f"{V1}/entities?type=District", {}),
    Endpoint.ENTITIES_WRITE: ("PATCH", f"{V1}/entities/{DEVICE_ENTITY}/attrs", {"json": PROPERTY}),
    Endpoint.ENTITIES_DELETE: ("DELETE", f"{V1}/entities/urn:x:gone", {}),
    Endpoint.BATCH_WRITE: ("POST", f"{V1}/entityOperations/upsert", {"json": []}),
    Endpoint.TYPES_READ: ("GET", f"{V1}/types", {}),
    Endpoint.CONTEXTS_READ: ("GET", f"{V1}/jsonldContexts", {}),
    Endpoint.CONTEXTS_WRITE: ("DELETE", f"{V1}/jsonldContexts/none", {}),
    Endpoint.SUBSCRIPTIONS_READ: ("GET", f"{V1}/subscriptions", {}),
    Endpoint.SUBSCRIPTIONS_WRITE: ("DELETE", f"{V1}/subscriptions/urn:x:none", {}),
    Endpoint.TEMPORAL_READ: ("GET", f"{V1}/temporal/entities/urn:x:none", {}),
    Endpoint.TEMPORAL_WRITE: ("DELETE", f"{V1}/temporal/entities/urn:x:none", {}),
    Endpoint.IOT_PROVISION: ("GET", "/iot/devices", {}),
    Endpoint.IOT_MEASURE: ("POST", "/iot/json?k=none&i=none", {"json": {"t": 1}}),
    Endpoint.GOVERNANCE_READ: ("GET", "/governance/cases", {}),
    Endpoint.GOVERNANCE_REPORT: ("POST", "/governance/cases", {"json": {}}),
    Endpoint.GOVERNANCE_ACT: ("POST", "/governance/cases/none/accept", {}),
    Endpoint.OPEN311_SERVICES: ("GET", "/open311/v2/services.json", {}),
    Endpoint.OPEN311_READ: ("GET", "/open311/v2/requests.json", {}),
    Endpoint.OPEN311_REPORT: ("GET", "/open311/v2/tokens/none.json", {}),
    Endpoint.RULES_READ: ("GET", "/rules", {}),
    Endpoint.RULES_WRITE: ("DELETE", "/rules/none", {}),
    Endpoint.KPIS_READ: ("GET", "/kpis", {}),
    Endpoint.INDICATORS_READ: ("GET", "/indicators", {}),
    Endpoint.AUDIT_READ: ("GET", "/audit", {}),
}
"""One representative request per class: it needs no data to get past the door."""

ROLES = [
    "admin",
    "operator",
    "supervisor",
    "department:roads",
    "inspector",
    "device",
    "citizen",
    "public-read",
]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """One SQLite-backed secured broker for the whole matrix (the store does not matter to
    the door; backends are covered by the other auth tests)."""
    store = SQLiteStore(tmp_path_factory.mktemp("matrix"))
    found = secured_app(store)
    with found.client:
        yield found
    store.close()


def test_every_class_has_a_sample() -> None:
    assert set(SAMPLES) == set(Endpoint)


def test_every_route_has_a_class(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    try:
        routes = create_app(store).routes
    finally:
        store.close()
    missing = []
    for route in routes:
        if isinstance(route, Mount):
            if route_class("GET", route.path) is None:
                missing.append(("*", route.path))
        elif isinstance(route, Route):
            for method in route.methods or ():
                if route_class(method, route.path) is None:
                    missing.append((method, route.path))
    assert missing == []


def _call(city: Secured, endpoint: Endpoint, headers: dict[str, str]) -> int:
    method, url, extra = SAMPLES[endpoint]
    return city.client.request(method, url, headers=headers, **extra).status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_role_against_endpoint_class(city: Secured, role: str, endpoint: Endpoint) -> None:
    kind = RoleKind(role.split(":")[0])
    status = _call(city, endpoint, city.headers(role))
    if endpoint in PUBLIC or endpoint is Endpoint.SELF or endpoint in MATRIX[kind]:
        assert status not in (401, 403), (role, endpoint, status)
    else:
        assert status == 403, (role, endpoint, status)


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_anonymous_against_endpoint_class(city: Secured, endpoint: Endpoint) -> None:
    status = _call(city, endpoint, {})
    if endpoint in classes_of(ANONYMOUS):
        assert status not in (401, 403), (endpoint, status)
    else:
        assert status == 401, (endpoint, status)


def test_the_important_cells() -> None:
    """The table itself, cell by cell where a mistake would hurt."""
    writes = {e for e in Endpoint if e.value.endswith((".write", ".delete", ".act"))}
    writes |= {Endpoint.IOT_PROVISION, Endpoint.IOT_MEASURE, Endpoint.GOVERNANCE_REPORT}
    assert Endpoint.ENTITIES_WRITE not in MATRIX[RoleKind.CITIZEN]
    assert MATRIX[RoleKind.CITIZEN] == {Endpoint.OPEN311_READ, Endpoint.OPEN311_REPORT}
    assert MATRIX[RoleKind.DEVICE] == {Endpoint.ENTITIES_WRITE, Endpoint.IOT_MEASURE}
    assert MATRIX[RoleKind.PUBLIC_READ] == {Endpoint.ENTITIES_READ}
    assert not writes & MATRIX[RoleKind.PUBLIC_READ]
    for kind in (RoleKind.DEPARTMENT, RoleKind.INSPECTOR, RoleKind.SUPERVISOR):
        assert Endpoint.GOVERNANCE_ACT in MATRIX[kind]
        assert (
            not {
                Endpoint.ENTITIES_WRITE,
                Endpoint.ENTITIES_DELETE,
                Endpoint.BATCH_WRITE,
                Endpoint.RULES_WRITE,
                Endpoint.IOT_PROVISION,
                Endpoint.CONTEXTS_WRITE,
                Endpoint.TEMPORAL_WRITE,
            }
            & MATRIX[kind]
        )
    assert MATRIX[RoleKind.ADMIN] == set(Endpoint)
    assert MATRIX[RoleKind.OPERATOR] == set(Endpoint) - {Endpoint.AUDIT_READ}  # admins only
    assert all(Endpoint.AUDIT_READ not in MATRIX[k] for k in RoleKind if k != RoleKind.ADMIN)
    assert {
        Endpoint.PUBLIC,
        Endpoint.DASHBOARD,
        Endpoint.OPEN311_SERVICES,
        Endpoint.OPEN311_REPORT,
    } == PUBLIC


def test_the_documented_matrix_is_the_code_s() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "security.md").read_text("utf-8")
    assert matrix_markdown() in doc
