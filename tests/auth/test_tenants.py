"""Tenant isolation under every API: a key for tenant A gets nothing of tenant B."""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.conftest import Secured

V1 = "/ngsi-ld/v1"
BUILDING = {
    "id": "urn:ngsi-ld:Building:b1",
    "type": "Building",
    "height": {"type": "Property", "value": 9},
}

APIS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "entities": ("GET", f"{V1}/entities?type=Building", {}),
    "entity": ("GET", f"{V1}/entities/urn:ngsi-ld:Building:b1", {}),
    "batch": ("POST", f"{V1}/entityOperations/upsert", {"json": [BUILDING]}),
    "types": ("GET", f"{V1}/types", {}),
    "subscriptions": ("GET", f"{V1}/subscriptions", {}),
    "temporal": ("GET", f"{V1}/temporal/entities/urn:ngsi-ld:Building:b1", {}),
    "governance": ("GET", "/governance/cases", {}),
    "statistics": ("GET", "/governance/statistics", {}),
    "open311": ("GET", "/open311/v2/requests.json", {}),
    "rules": ("GET", "/rules", {}),
    "iot": ("GET", "/iot/devices", {}),
    "kpis": ("GET", "/kpis", {}),
    "indicators": ("GET", "/indicators/live", {}),
}


@pytest.mark.parametrize("api", list(APIS))
def test_a_key_for_one_tenant_gets_nothing_of_another(secured: Secured, api: str) -> None:
    method, url, extra = APIS[api]
    admin = secured.headers("admin")
    created = secured.client.post(
        f"{V1}/entities", json=BUILDING, headers={**admin, "NGSILD-Tenant": "b"}
    )
    assert created.status_code == 201
    only_a = secured.headers("operator", tenants=("a",))
    for tenant in ("b", ""):
        headers = {**only_a, "NGSILD-Tenant": tenant} if tenant else only_a
        refused = secured.client.request(method, url, headers=headers, **extra)
        assert refused.status_code == 403, (tenant, refused.text)
        assert "tenant" in refused.json()[0 if api == "open311" else "detail"].__str__()
    mine = secured.client.request(method, url, headers={**only_a, "NGSILD-Tenant": "a"}, **extra)
    assert mine.status_code not in (401, 403), mine.text
    if api == "entities":  # tenant a has nothing: not even tenant b's building
        assert mine.status_code == 404 and "does not exist" in mine.json()["detail"]


def test_other_ways_of_naming_a_tenant_are_checked_too(secured: Secured) -> None:
    only_a = secured.headers("operator", tenants=("a",))
    fiware = secured.client.get("/iot/devices", headers={**only_a, "fiware-service": "b"})
    assert fiware.status_code == 403
    both = {**only_a, "NGSILD-Tenant": "a", "fiware-service": "b"}
    assert secured.client.get("/iot/devices", headers=both).status_code == 400  # two tenants
    stream = secured.client.get(f"{V1}/subscriptions/urn:x:s/stream?tenant=b", headers=only_a)
    assert stream.status_code == 403


def test_a_key_for_several_tenants_uses_each(secured: Secured) -> None:
    both = secured.headers("operator", tenants=("a", "b"))
    for tenant in ("a", "b"):
        secured.client.post(
            f"{V1}/entities", json=BUILDING, headers={**both, "NGSILD-Tenant": tenant}
        )
        response = secured.client.get(
            f"{V1}/entities?type=Building", headers={**both, "NGSILD-Tenant": tenant}
        )
        assert response.status_code == 200
    other = secured.client.get(
        f"{V1}/entities?type=Building", headers={**both, "NGSILD-Tenant": "c"}
    )
    assert other.status_code == 403
