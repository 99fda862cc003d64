"""Case reports that name an existing id (issue 16, item 3): a report must never take over
another entity, nor file over an existing case (reopening is a lifecycle action)."""

from __future__ import annotations

from collections.abc import Callable

from bench.redteam.target import Probe, Target, Verdict, refused

ENTITIES = "/ngsi-ld/v1/entities"
CASES = "/governance/cases"
POINT = {"type": "Point", "coordinates": [106.577, 29.557]}
REPORTERS = ("admin", "operator", "supervisor", "dept_roads", "inspector")
"""Every key whose role may use governance.report."""


def _street(target: Target, name: str) -> str:
    """A plain entity of the admin's, to aim a report at."""
    entity_id = f"urn:ngsi-ld:Street:redteam-{name}"
    body = {"id": entity_id, "type": "Street", "name": {"type": "Property", "value": name}}
    target.request("POST", ENTITIES, as_="admin", json=body)
    return entity_id


def _case(target: Target) -> str:
    answer = target.request(
        "POST", CASES, as_="admin", json={"category": "pothole", "location": POINT}
    )
    case_id: str = answer.json()["id"]
    return case_id


def _take_over(as_: str, aim: Callable[[Target], str]) -> Callable[[Target], Verdict]:
    def probe(target: Target) -> Verdict:
        victim = aim(target)
        before = target.request("GET", f"{ENTITIES}/{victim}", as_="admin").json()
        answer = target.request(
            "POST",
            CASES,
            as_=as_,
            json={"category": "noise", "location": POINT, "id": victim, "source": "inspector"},
        )
        after = target.request("GET", f"{ENTITIES}/{victim}", as_="admin").json()
        held = answer.status_code in (403, 409) and after == before
        return refused(held, f"{as_} reports under {victim}: {answer.status_code}")

    return probe


PROBES = [
    *(
        Probe(
            f"{who} reports under an entity's id", _take_over(who, lambda t, w=who: _street(t, w))
        )
        for who in REPORTERS
    ),
    *(Probe(f"{who} reports under a case's id", _take_over(who, _case)) for who in REPORTERS),
]
