"""`/rules` through HTTP (httpx's ASGI transport, the app's lifespan running), with notify
delivered by the real subscription machinery to a real receiver on loopback."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.api.rules import load_rules_file
from cityos.store.base import Store
from tests.events.receiver import LOOPBACK, receiving

ENTITIES = "/ngsi-ld/v1/entities"
SUBS = "/ngsi-ld/v1/subscriptions"
YAML = {"Content-Type": "application/yaml"}
M1 = "urn:ngsi-ld:Machine:1"
ALERT = f"urn:ngsi-ld:Alert:overheat:{hashlib.sha1(M1.encode()).hexdigest()[:12]}"

Scenario = Callable[[httpx.AsyncClient, Any], Awaitable[None]]


def run(store: Store, scenario: Scenario, rules_file: Path | None = None) -> None:
    app = create_app(store, Settings(notify_policy=LOOPBACK))
    if rules_file is not None:
        load_rules_file(app, rules_file)

    async def main() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://cityos") as http:
                await scenario(http, app)

    asyncio.run(main())


def overheat(uri: str | None = None, **extra: Any) -> dict[str, Any]:
    then: list[dict[str, Any]] = [{"set": {"attribute": "alarm", "value": "overheating"}}]
    if uri is not None:
        then.append({"notify": {"uri": uri, "severity": "high", "category": "machine"}})
    return {
        "id": "overheat",
        "type": "Machine",
        "when": {"q": "temperature>90"},
        "then": then,
        **extra,
    }


def machine(temperature: float) -> dict[str, Any]:
    return {
        "id": M1,
        "type": "Machine",
        "temperature": {"type": "Property", "value": temperature},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
    }


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def test_rule_life_cycle(store: Store) -> None:
    async def scenario(http: httpx.AsyncClient, app: Any) -> None:
        created = await http.post("/rules", content=yaml.safe_dump(overheat()), headers=YAML)
        assert created.status_code == 201, created.text
        assert created.headers["Location"] == "/rules/overheat"
        again = await http.post("/rules", json=overheat())
        assert again.status_code == 409
        bad = await http.post("/rules", json={"rules": [overheat(id="b"), {"id": "c"}]})
        assert bad.status_code == 400
        assert bad.json()["member"] == "rules[1].type"
        assert (await http.get("/rules/b")).status_code == 404  # nothing of a bad list kept
        wrong = await http.post("/rules", content=b"id: [", headers=YAML)
        assert wrong.status_code == 400
        text = await http.post("/rules", content=b"id: x", headers={"Content-Type": "text/plain"})
        assert text.status_code == 415

        assert (await http.post(ENTITIES, json=machine(95))).status_code == 201

        async def alarmed() -> bool:
            got = await http.get(f"{ENTITIES}/{M1}", params={"options": "keyValues"})
            return bool(got.json().get("alarm") == "overheating")

        await until(alarmed)  # set: through the broker, visible on GET
        listed = (await http.get("/rules")).json()
        assert [r["id"] for r in listed] == ["overheat"]
        assert listed[0]["status"]["fired"] == 1
        assert listed[0]["status"]["activeEpisodes"] == 1
        one = (await http.get("/rules/overheat")).json()
        assert one["when"] == {"q": "temperature>90"}
        [state] = (await http.get("/rules/overheat/state")).json()
        assert (state["entity"], state["episode"], state["armed"]) == (M1, 1, False)

        replaced = await http.put("/rules/overheat", json=overheat(cooldown="1h"))
        assert replaced.status_code == 204
        assert (await http.get("/rules/overheat/state")).json() == []
        assert (await http.get("/rules/overheat")).json()["status"]["fired"] == 0
        mismatch = await http.put("/rules/overheat", json=overheat(id="other"))
        assert mismatch.status_code == 400
        new = await http.put("/rules/other", json=overheat(id="other"))
        assert new.status_code == 201

        tenant = {"NGSILD-Tenant": "elsewhere"}
        assert (await http.get("/rules", headers=tenant)).json() == []
        assert (await http.delete("/rules/overheat")).status_code == 204
        assert (await http.delete("/rules/overheat")).status_code == 404
        assert (await http.get("/rules/overheat/state")).status_code == 404

    run(store, scenario)


def test_notify_raises_an_alert_and_delivers_it(store: Store) -> None:
    with receiving() as receiver:

        async def scenario(http: httpx.AsyncClient, app: Any) -> None:
            created = await http.post("/rules", json=overheat(receiver.url))
            assert created.status_code == 201, created.text
            again = await http.put("/rules/overheat", json=overheat(receiver.url))
            assert again.status_code == 204
            [sub] = (await http.get(SUBS)).json()  # one subscription, made once
            assert sub["entities"][0]["type"] == "Alert"
            await http.post(ENTITIES, json=machine(95))
            [first] = await asyncio.to_thread(receiver.wait_for, 1)
            [alert] = first.body["data"]
            assert alert["id"] == ALERT and alert["type"] == "Alert"
            assert alert["alertSource"]["object"] == M1
            assert alert["severity"]["value"] == "high"
            assert alert["category"]["value"] == "machine"
            assert alert["subCategory"]["value"] == "overheat"
            assert alert["location"]["value"]["coordinates"] == [1, 2]
            assert "validTo" not in alert
            patch = {"temperature": {"type": "Property", "value": 50}}
            await http.patch(f"{ENTITIES}/{M1}/attrs", json=patch)  # clears: validTo
            received = await asyncio.to_thread(receiver.wait_for, 2)
            assert "validTo" in received[1].body["data"][0]
            assert (await http.delete("/rules/overheat")).status_code == 204
            assert (await http.get(SUBS)).json() == []

        run(store, scenario)


def test_a_refused_endpoint_is_a_bad_rule(store: Store) -> None:
    async def scenario(http: httpx.AsyncClient, app: Any) -> None:
        refused = await http.post("/rules", json=overheat("http://169.254.169.254/latest"))
        assert refused.status_code == 400
        assert refused.json()["member"] == "then[1].notify.uri"
        assert (await http.get("/rules")).json() == []

    run(store, scenario)


def test_a_rules_file_is_served_from_start(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": [overheat()]}), encoding="utf-8")

    async def first(http: httpx.AsyncClient, app: Any) -> None:
        await http.post(ENTITIES, json=machine(95))
        await until(lambda: _fired(http, 1))

    async def second(http: httpx.AsyncClient, app: Any) -> None:
        await until(lambda: _fired(http, 1))  # the same file again: its state kept

    run(store, first, path)
    run(store, second, path)


async def _fired(http: httpx.AsyncClient, count: int) -> bool:
    found = (await http.get("/rules/overheat")).json()
    return bool(found.get("status", {}).get("fired") == count)
