"""The simulator against a real `cityos serve`: ten simulated minutes of Chongqing through
the HTTP device path, and readings through MQTT, landing where they should."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from cityos.sim.client import CityClient
from cityos.sim.publish import HttpPublisher, MqttPublisher, mqtt_client
from cityos.sim.runner import APIKEY, LoadReport, Simulation
from cityos.sim.scenario import load_scenario
from tests.serve import served
from tests.services import MOSQUITTO, service_fixture

START = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)  # a summer weekday, 09:00 in Chongqing
mosquitto = service_fixture("Mosquitto", *MOSQUITTO)
LIVE_TYPES = (
    "AirQualityObserved",
    "FloodMonitoring",
    "School",
    "Vehicle",
    "TrafficFlowObserved",
    "OffStreetParking",
    "Train",
    "ManufacturingMachine",
    "AgriParcel",
    "WeatherObserved",
    "Building",
    "RenewalProject",
)


def chongqing(**packs: dict[str, Any]) -> Simulation:
    scenario = load_scenario("chongqing")
    if packs:
        scenario = replace(scenario, packs=packs)
    return Simulation(replace(scenario, start=START))


def test_the_same_seed_gives_the_same_city() -> None:
    first, second = chongqing(), chongqing()
    first.setups(), second.setups()
    for _ in range(30):
        assert first.readings() == second.readings()
    other = Simulation(replace(load_scenario("chongqing"), start=START, seed=7))
    other.setups()
    assert [other.readings() for _ in range(30)] != [first.readings() for _ in range(30)]


def count(http: httpx.Client, entity_type: str) -> int:
    response = http.get(
        "/ngsi-ld/v1/entities", params={"type": entity_type, "count": "true", "limit": "0"}
    )
    assert response.status_code == 200, response.text
    return int(response.headers["ngsild-results-count"])


async def ten_minutes(port: int, simulation: Simulation) -> LoadReport:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        report = await simulation.load(CityClient(http))
        publisher = HttpPublisher(http, APIKEY)
        for _ in range(60):  # 60 ticks of 10 simulated seconds
            await simulation.step(publisher)
        assert publisher.refused == 0
    return report


def test_ten_simulated_minutes_of_chongqing(tmp_path: Path) -> None:
    simulation = chongqing()
    with served(tmp_path / "data") as port:
        report = asyncio.run(ten_minutes(port, simulation))
        assert simulation.stats.readings > 0
        assert simulation.stats.accepted == simulation.stats.readings
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            setups = simulation.setups()
            for name in simulation.packs:
                placed: dict[str, int] = {}
                for entity in setups[name].entities:
                    placed[entity["type"]] = placed.get(entity["type"], 0) + 1
                for entity_type, n in placed.items():
                    assert count(http, entity_type) >= n, (name, entity_type)
            # what the devices measured landed on entities of every pack
            for entity_type in LIVE_TYPES:
                assert count(http, entity_type) > 0, entity_type
            assert report.devices > 0 and report.rules > 0
            # history: readings were kept with their simulated time
            device = next(d for s in setups.values() for d in s.devices)
            history = http.get(
                f"/ngsi-ld/v1/temporal/entities/{device['entity_name']}",
                params={"options": "temporalValues"},
            ).json()
            stamps = [
                v[1]
                for attr, values in history.items()
                if isinstance(values, dict)
                for v in values.get("values", [])
            ]
            assert stamps and min(stamps) >= START.strftime("%Y-%m-%dT%H")
            # rules fired and opened cases (the rule engine works beside the API)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                cases = http.get("/governance/cases", params={"limit": "1000"}).json()
                if any(c["source"] == "rule" for c in cases):
                    break
                time.sleep(0.5)
            rules = http.get("/rules").json()
            assert sum(r["status"]["fired"] for r in rules) > 0, rules
            assert any(c["source"] == "rule" and c.get("raisedBy") for c in cases)
            at = {"at": simulation.now.isoformat()}
            kpis = {k["id"]: k["value"] for k in http.get("/kpis", params=at).json()}
            for kpi in (
                "students-per-teacher",
                "aqi-current",
                "mobility.vehicles-in-service",
                "oee",
            ):
                assert kpis[kpi] is not None and kpis[kpi] > 0, kpi


def test_readings_through_mqtt(tmp_path: Path, mosquitto: tuple[str, int]) -> None:
    url = f"mqtt://{mosquitto[0]}:{mosquitto[1]}"
    simulation = chongqing(manufacturing={})

    async def run(port: int) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            await simulation.load(CityClient(http))
            async with mqtt_client(url) as client:
                publisher = MqttPublisher(client, APIKEY)
                for _ in range(6):
                    await simulation.step(publisher)

    with served(tmp_path / "data", "--mqtt", url) as port:
        asyncio.run(run(port))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                stats = http.get("/iot/stats").json()
                if stats["applied"] >= simulation.stats.readings:
                    break
                time.sleep(0.2)
            assert simulation.stats.readings > 0
            assert stats["applied"] == simulation.stats.readings, stats
            assert not any(stats["rejected"].values()), stats


async def backfilled(port: int, simulation: Simulation) -> int:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        await simulation.load(CityClient(http))
        return await simulation.backfill(CityClient(http))


def test_recent_history_is_back_filled_through_the_temporal_api(tmp_path: Path) -> None:
    """Before going live the demo writes the scenario's `history` hours (24 h of air and
    rivers here) as attribute instances through the temporal API, and marks each entity."""
    scenario = replace(
        load_scenario("chongqing"),
        start=START,
        packs={"environment": {}},
        history={"environment": 24},
    )
    simulation = Simulation(scenario)
    with served(tmp_path / "data") as port:
        written = asyncio.run(backfilled(port, simulation))
        assert written > 24 * 6  # six stations hourly, five gauges every minute
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            station = "urn:ngsi-ld:AirQualityObserved:cq-yuzhong-dongsi"
            history = http.get(
                f"/ngsi-ld/v1/temporal/entities/{station}",
                params={"attrs": "airQualityIndex", "options": "temporalValues"},
            ).json()
            stamps = sorted(v[1] for v in history["airQualityIndex"]["values"])
            assert len(stamps) == 24
            assert stamps[0].startswith("2026-07-14T01") and stamps[-1].startswith("2026-07-15T00")
            marked = http.get(
                f"/ngsi-ld/v1/entities/{station}", params={"options": "keyValues"}
            ).json()
            assert marked["simulatedHistory"]["until"].startswith("2026-07-15T01:00")
            assert "simulated" in marked["simulatedHistory"]["note"]
