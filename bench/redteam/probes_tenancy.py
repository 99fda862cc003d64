"""Tenancy and the object rules (issue 16, items 2, 6 and 7): a tenant named empty or
twice, another department's case through every surface, contexts, devices and Open311
posts across tenants. The data are seeded first, as admin, through the API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from bench.redteam.target import TENANT_A, TENANT_B, Probe, Target, Verdict, _cityos, refused

V1 = "/ngsi-ld/v1"
CENTRAL = {"type": "Point", "coordinates": [106.577, 29.557]}
"""Yuzhong, central Chongqing: a pothole there goes to central-roads."""
FORM = {"service_code": "pothole", "lat": "29.557", "long": "106.577", "api_key": "app"}

_seeded: dict[int, dict[str, Any]] = {}


def _seed(target: Target) -> dict[str, Any]:
    """A central-roads case, a stream subscription and a context in the default tenant, a
    device in tenant B; once per target."""
    found = _seeded.get(id(target))
    if found is not None:
        return found
    case = target.request(
        "POST",
        "/governance/cases",
        as_="admin",
        json={"category": "pothole", "location": CENTRAL, "reporter": {"email": "r@x.cn"}},
    ).json()
    assert case["department"] == "central-roads", case
    subscription = "urn:ngsi-ld:Subscription:redteam-stream"
    target.request(
        "POST",
        f"{V1}/subscriptions",
        as_="admin",
        json={
            "id": subscription,
            "type": "Subscription",
            "entities": [{"type": "Case"}],
            "notification": {"endpoint": {"uri": "urn:cityos:stream"}},
        },
    )
    made = target.request(
        "POST", f"{V1}/jsonldContexts", as_="admin", json={"@context": {"x": "urn:x"}}
    )
    context = made.headers["Location"].rsplit("/", 1)[-1]
    device = {
        "device_id": "redteam-dev",
        "apikey": "k3y",
        "entity_name": "urn:ngsi-ld:WeatherObserved:redteam-dev",
        "entity_type": "WeatherObserved",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}],
    }
    target.request("POST", "/iot/devices", as_="admin", tenant=TENANT_B, json={"devices": [device]})
    args = ["keys", "create", "--name", "redteam admin a", "--role", "admin"]
    admin_a = _cityos(*args, "--tenant", TENANT_A, "--data", str(target.data))
    found = {
        "case": case["id"],
        "subscription": subscription,
        "context": context,
        "admin_a": admin_a.strip().splitlines()[-1],
    }
    _seeded[id(target)] = found
    return found


def _status_of_stream(target: Target, path: str, headers: dict[str, str]) -> int:
    """The status of an event stream, without reading the (endless) body."""
    try:
        with target.client.stream("GET", path, headers=headers, timeout=10) as answer:
            return answer.status_code
    except httpx.HTTPError as error:
        raise AssertionError(f"stream {path}: {error}") from None


def stream_empty_tenant(target: Target) -> Verdict:
    seed = _seed(target)
    key = {"Authorization": f"Bearer {target.keys['operator_a']}", "NGSILD-Tenant": TENANT_A}
    path = f"{V1}/subscriptions/{seed['subscription']}/stream?tenant="
    status = _status_of_stream(target, path, key)
    return refused(status in (400, 403), f"tenant-A key, ?tenant= empty on the stream: {status}")


def audit_empty_tenant(target: Target) -> Verdict:
    seed = _seed(target)
    headers = {"Authorization": f"Bearer {seed['admin_a']}", "NGSILD-Tenant": TENANT_A}
    answer = target.client.get("/audit?tenant=", headers=headers)
    return refused(
        answer.status_code in (400, 403), f"tenant-A admin, /audit?tenant=: {answer.status_code}"
    )


def conflicting_tenants(target: Target) -> Verdict:
    answer = target.request(
        "GET",
        f"{V1}/entities",
        as_="operator",
        tenant=TENANT_A,
        params={"type": "Building", "tenant": TENANT_B},
    )
    return refused(answer.status_code == 400, f"header A, ?tenant=B: {answer.status_code}")


def _department_reads(target: Target, method: str, path: str, **kw: Any) -> httpx.Response:
    return target.request(method, path, as_="dept_water", **kw)


def dept_entity(target: Target) -> Verdict:
    case = _seed(target)["case"]
    answer = _department_reads(target, "GET", f"{V1}/entities/{case}")
    return refused(answer.status_code == 404, f"water reads a roads case: {answer.status_code}")


def dept_query(target: Target) -> Verdict:
    case = _seed(target)["case"]
    answer = _department_reads(target, "GET", f"{V1}/entities", params={"type": "Case"})
    ids = [e.get("id") for e in answer.json()] if answer.status_code == 200 else []
    return refused(case not in ids, f"water queries Case: {answer.status_code}, {len(ids)} cases")


def dept_temporal(target: Target) -> Verdict:
    case = _seed(target)["case"]
    answer = _department_reads(target, "GET", f"{V1}/temporal/entities/{case}")
    return refused(answer.status_code == 404, f"water, temporal roads case: {answer.status_code}")


def dept_subscription(target: Target) -> Verdict:
    _seed(target)
    body = {
        "type": "Subscription",
        "entities": [{"type": "Case"}],
        # .invalid never resolves: the endpoint passes the network policy at creation, so
        # only the visibility rule can refuse; nothing is ever sent there.
        "notification": {"endpoint": {"uri": "http://hooks.redteam.invalid/hook"}},
    }
    answer = _department_reads(target, "POST", f"{V1}/subscriptions", json=body)
    if answer.status_code == 201:
        target.request("DELETE", answer.headers["Location"], as_="admin")
    return refused(
        answer.status_code == 403, f"water subscribes to every Case: {answer.status_code}"
    )


def dept_open311(target: Target) -> Verdict:
    case = _seed(target)["case"]
    answer = _department_reads(target, "GET", f"/open311/v2/requests/{case}.json")
    return refused(answer.status_code == 404, f"water, Open311 roads case: {answer.status_code}")


def delete_default_context(target: Target) -> Verdict:
    context = _seed(target)["context"]
    path = f"{V1}/jsonldContexts/{context}"
    target.request("DELETE", path, as_="operator_a", tenant=TENANT_A)
    kept = target.request("GET", path, as_="admin")
    return refused(
        kept.status_code == 200, f"tenant-A operator deletes a default context: {kept.status_code}"
    )


def iot_other_tenant(target: Target) -> Verdict:
    _seed(target)
    answer = target.request(
        "POST",
        "/iot/json",
        as_="operator_a",
        tenant=TENANT_A,
        params={"k": "k3y", "i": "redteam-dev"},
        json={"t": 1},
    )
    return refused(
        answer.status_code == 404, f"tenant-A measures, B's device: {answer.status_code}"
    )


def open311_ghost_tenant(target: Target) -> Verdict:
    ghost = f"redteam-ghost-{uuid.uuid4().hex[:8]}"
    answer = target.request(
        "POST", "/open311/v2/requests.json", as_="citizen", tenant=ghost, data=FORM
    )
    return refused(answer.status_code == 404, f"Open311 POST, no such tenant: {answer.status_code}")


PROBES = [
    Probe("empty ?tenant= on the event stream", stream_empty_tenant),
    Probe("empty ?tenant= on /audit", audit_empty_tenant),
    Probe("header and ?tenant= name different tenants", conflicting_tenants),
    Probe("department reads another's case: entity", dept_entity),
    Probe("department reads another's case: query", dept_query),
    Probe("department reads another's case: temporal", dept_temporal),
    Probe("department subscribes to another's cases", dept_subscription),
    Probe("department reads another's case: Open311", dept_open311),
    Probe("tenant-A operator deletes a default-tenant context", delete_default_context),
    Probe("/iot/json finds a device of another tenant", iot_other_tenant),
    Probe("Open311 POST into a tenant that does not exist", open311_ghost_tenant),
]
