"""Authentication and the role matrix: what held in the review, kept as a baseline."""

from __future__ import annotations

from bench.redteam.target import Probe, Target, Verdict, refused

ENTITIES = "/ngsi-ld/v1/entities"


def no_key(target: Target) -> Verdict:
    answer = target.request("GET", ENTITIES, params={"type": "Building"})
    return refused(answer.status_code == 401, f"anonymous entity query: {answer.status_code}")


def forged_key(target: Target) -> Verdict:
    forged = target.keys["admin"][:-4] + "AAAA"
    answer = target.request("GET", ENTITIES, headers={"Authorization": f"Bearer {forged}"})
    return refused(answer.status_code == 401, f"forged key: {answer.status_code}")


def citizen_writes(target: Target) -> Verdict:
    body = {"id": "urn:ngsi-ld:Building:redteam-citizen", "type": "Building"}
    answer = target.request("POST", ENTITIES, as_="citizen", json=body)
    return refused(answer.status_code == 403, f"citizen creates an entity: {answer.status_code}")


def operator_reads_audit(target: Target) -> Verdict:
    answer = target.request("GET", "/audit", as_="operator")
    return refused(answer.status_code == 403, f"operator reads /audit: {answer.status_code}")


def other_tenant(target: Target) -> Verdict:
    answer = target.request(
        "GET", ENTITIES, as_="operator_a", tenant="redteam-b", params={"type": "Building"}
    )
    return refused(answer.status_code == 403, f"tenant-A key in tenant B: {answer.status_code}")


PROBES = [
    Probe("no credentials", no_key),
    Probe("forged key", forged_key),
    Probe("citizen writes an entity", citizen_writes),
    Probe("operator reads the audit log", operator_reads_audit),
    Probe("tenant-A key names tenant B", other_tenant),
]
