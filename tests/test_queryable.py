"""Every attribute of every entity the demo city creates is found by `q` on its short
name (issue 16, item 10): internal writers store names under the IRIs the core @context
expands them to, exactly as the API does for a query."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from cityos.sim.client import CityClient
from cityos.sim.publish import HttpPublisher
from cityos.sim.runner import APIKEY, Simulation
from cityos.sim.scenario import load_scenario
from tests.serve import served

START = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)
SKIPPED = {"id", "type", "@context", "scope"}


async def build_city(port: int) -> None:
    """The demo's city, briefly: the sample, every pack's setup, a minute of readings."""
    simulation = Simulation(replace(load_scenario("chongqing"), start=START))
    sample = Path(__file__).parents[1] / "src/cityos/sample/chongqing.json"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        loaded = await http.post(
            "/ngsi-ld/v1/entityOperations/upsert",
            content=sample.read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        assert loaded.status_code in (201, 204), loaded.text
        await simulation.load(CityClient(http))
        publisher = HttpPublisher(http, APIKEY)
        for _ in range(6):
            await simulation.step(publisher)
        for body in (
            {
                "category": "pothole",
                "description": 'A "deep" hole\\by the stop',
                "address": "12 Minzu Rd",
                "location": {"lon": 106.577, "lat": 29.557},
            },
            {
                "category": "noise",
                "description": "Drilling at night",
                "source": "inspector",
                "attributes": {},
                "location": {"lon": 106.55, "lat": 29.56},
            },
        ):
            filed = await http.post(
                "/governance/cases", json=body, headers={"CityOS-Roles": "inspector"}
            )
            assert filed.status_code == 201, filed.text


def term(value: Any) -> str | None:
    """`value` as a q term, or None when it is not a simple value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    return None


def simple_members(entity: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, q term) of each Property or Relationship holding one simple value."""
    found = []
    for name, attr in entity.items():
        if name in SKIPPED or not isinstance(attr, dict):
            continue
        if attr.get("type") == "Relationship":
            value = attr.get("object")
        elif attr.get("type") == "Property":
            value = attr.get("value")
        else:
            continue
        written = term(value)
        if written is not None:
            found.append((name, written))
    return found


def test_every_attribute_the_demo_writes_is_found_by_q(tmp_path: Path) -> None:
    with served(tmp_path / "data") as port:
        asyncio.run(build_city(port))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            types = http.get("/ngsi-ld/v1/types").json()["typeList"]
            assert "Case" in types and len(types) > 10
            checked, missed = 0, []
            for entity_type in types:
                entities = http.get(
                    "/ngsi-ld/v1/entities", params={"type": entity_type, "limit": "1000"}
                ).json()
                asked: set[tuple[str, str]] = set()
                for entity in entities:
                    for name, value in simple_members(entity):
                        if (name, value) in asked:
                            continue  # one query finds all the entities sharing it
                        asked.add((name, value))
                        q = f"{name}=={value}"
                        found = http.get(
                            "/ngsi-ld/v1/entities",
                            params={"type": entity_type, "q": q, "limit": "1000", "attrs": name},
                        )
                        checked += 1
                        if found.status_code != 200 or entity["id"] not in {
                            e["id"] for e in found.json()
                        }:
                            missed.append(
                                f"{entity_type} {entity['id']}: q={q} "
                                f"-> {found.status_code} {found.text[:120]}"
                            )
            print(f"attributes checked by q: {checked} (types: {len(types)})")
            assert checked > 500
            assert not missed, "\n".join(missed[:40])
