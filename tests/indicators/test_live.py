"""Indicators computed from the city's own data: the live-city section, the city-wide KPIs
on hand-worked cases, and live values through the API and the background pass."""

from __future__ import annotations

import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.context.broker import Broker, iso_time
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.domains.base import CityView, Kpi
from cityos.governance.config import load_config
from cityos.governance.model import Stage
from cityos.governance.service import CaseService
from cityos.indicators.live import (
    LiveCity,
    LiveCityError,
    governance_timeliness,
    live_values,
    load_live_city,
    parse_live_city,
    sensors_reporting,
)
from cityos.ingest.gtfs import import_gtfs
from cityos.sim.scenario import load_scenario
from cityos.store.devices import Device
from cityos.store.sqlite import SQLiteStore
from tests.governance.conftest import OPERATOR, ManualClock
from tests.governance.test_cases import pothole

SECTION = {
    "city": "Testville",
    "basis": "city proper",
    "provenance": "test data",
    "live": ["oee", "urban-rail-length"],
}


def test_the_live_city_section_is_checked_naming_the_member(tmp_path: Path) -> None:
    live = parse_live_city(SECTION, "indicators")
    assert live == LiveCity("testville", "city proper", ("oee", "urban-rail-length"), "test data")
    with pytest.raises(LiveCityError, match=r"indicators.live\[0\]: unknown indicator 'gdpx'"):
        parse_live_city({**SECTION, "live": ["gdpx"]}, "indicators")
    with pytest.raises(LiveCityError, match=r"live\[1\]: gdp is not computed live; these are"):
        parse_live_city({**SECTION, "live": ["oee", "gdp"]}, "indicators")
    with pytest.raises(LiveCityError, match=r"indicators.basis: must be non-empty text"):
        parse_live_city({**SECTION, "basis": ""}, "indicators")
    with pytest.raises(LiveCityError, match="unknown member"):
        parse_live_city({**SECTION, "population": 5}, "indicators")
    bad = tmp_path / "live.yaml"
    bad.write_text("city: [", encoding="utf-8")
    with pytest.raises(LiveCityError, match="not YAML"):
        load_live_city(bad)


def test_the_demo_scenarios_offer_only_what_their_data_can_say() -> None:
    chongqing, warsaw = load_scenario("chongqing").live, load_scenario("warsaw").live
    assert chongqing is not None and warsaw is not None
    assert "urban-rail-length" not in chongqing.indicators  # its buses are simulated
    assert "simulated" in chongqing.provenance
    assert warsaw.indicators == ("urban-rail-length",) and "WKD" in warsaw.provenance


def test_governance_timeliness_is_the_statistics_on_time_rate(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path, synchronous="OFF")
    try:
        clock = ManualClock()
        service = CaseService(Broker(store), load_config(), clock)
        reported = [
            service.report("", pothole((106.577 + i / 100, 29.557)), OPERATOR) for i in range(4)
        ]
        due = reported[0].due[Stage.ACCEPT]
        service.act("", reported[0].id, "accept", OPERATOR)
        service.act("", reported[1].id, "accept", OPERATOR)
        clock.now = due + timedelta(minutes=1)
        service.act("", reported[2].id, "accept", OPERATOR)  # late
        # reported[3] is never accepted: past its deadline, it counts as late too
        kpi = governance_timeliness(CityView(Broker(store)), clock.now)
        assert kpi.value == 50.0  # 2 on time of 4
        long_after = clock.now + timedelta(days=40)  # nothing reported in the last 30 days
        assert governance_timeliness(CityView(Broker(store)), long_after).value is None
    finally:
        store.close()


def _device(n: int) -> Device:
    return Device("", f"sensor-{n}", "key", f"urn:ngsi-ld:Thing:{n}", "Thing")


def test_sensors_reporting_counts_entities_updated_in_the_last_hour(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path, synchronous="OFF")
    try:
        noon = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
        core = ContextResolver().core
        for n, minutes_ago in enumerate((5, 59, 61, 600)):
            stamp = iso_time((noon - timedelta(minutes=minutes_ago)).timestamp())
            broker = Broker(store, clock=lambda stamp=stamp: stamp)
            body = {"id": f"urn:ngsi-ld:Thing:{n}", "type": "Thing", "level": {"value": n}}
            broker.create("", parse_entity(body, core, stamp))
            store.devices.add_device(_device(n))
        store.devices.add_device(_device(9))  # provisioned, its entity never written
        kpi = sensors_reporting(CityView(Broker(store)), noon)
        assert kpi.value == 40.0  # 2 of 5
    finally:
        store.close()


class FixedPack:
    """A pack whose KPIs are given: the mapping from KPI to indicator is what is tested."""

    def __init__(self, kpis: list[Kpi]) -> None:
        self._kpis = kpis

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        return self._kpis


def test_live_values_scale_cite_and_leave_out_what_has_no_value(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path, synchronous="OFF")
    try:
        packs: dict[str, Any] = {
            "manufacturing": FixedPack([Kpi("oee", "OEE", 0.625, "ratio", "from history")]),
            "freight": FixedPack([Kpi("trains-per-month", "Trains", None, "trains", "none")]),
        }
        live = LiveCity("testville", "city proper", ("oee", "freight-trains-per-month"), "tests")
        now = datetime(2031, 5, 1, 8, 30, tzinfo=UTC)
        [oee] = live_values(CityView(Broker(store)), live, packs, now)
    finally:
        store.close()
    assert (oee.city, oee.indicator, oee.value, oee.unit) == ("testville", "oee", 62.5, "%")
    assert (oee.year, oee.basis) == (2031, "city proper")
    assert oee.provenance == "live" and oee.source.publisher == "cityos"
    assert "computed live" in oee.source.title and "(tests)" in oee.source.title
    assert "2031-05-01 08:30 UTC" in oee.source.title and "from history" in oee.note


def _metro_feed(path: Path) -> Path:
    """One metro line of 2 km due north, run both ways."""
    north = 2000 / 110_540
    files = {
        "agency.txt": "agency_name,agency_url,agency_timezone\nTiny,https://example.org,UTC\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        f"A,Alpha,52.0,21.0\nB,Beta,{52.0 + north},21.0\n",
        "routes.txt": "route_id,route_short_name,route_type\nM,M1,1\n",
        "trips.txt": "route_id,service_id,trip_id,shape_id\nM,WK,out,N\nM,WK,back,S\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "out,08:00:00,08:00:00,A,1\nout,08:03:00,08:03:00,B,2\n"
        "back,09:00:00,09:00:00,B,1\nback,09:03:00,09:03:00,A,2\n",
        "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
        f"N,52.0,21.0,1\nN,{52.0 + north},21.0,2\nS,{52.0 + north},21.0,1\nS,52.0,21.0,2\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nWK,1,1,1,1,1,0,0,20250101,20251231\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_a_city_with_its_gtfs_gets_its_transit_indicator_live(tmp_path: Path) -> None:
    """The metro length computed from an imported GTFS is a live value: listed apart from
    the published figures, never ranked against them, citing where it was computed."""
    store = SQLiteStore(tmp_path / "db", synchronous="OFF")
    report = import_gtfs(_metro_feed(tmp_path / "metro.zip"), Broker(store))
    assert not report.problems
    live = LiveCity("warsaw", "city proper", ("urban-rail-length",), "test feed")
    settings = Settings(live_city=live, indicators_every_s=0.05)
    with TestClient(create_app(store, settings)) as client:
        body = client.get("/indicators/live").json()
        [length] = body["values"]
        assert length["indicator"] == "urban-rail-length"
        assert length["value"] == pytest.approx(2.0, abs=0.01)
        deadline = time.monotonic() + 10  # the background pass stores it as an entity
        while time.monotonic() < deadline:
            stored = client.get("/ngsi-ld/v1/entities", params={"type": "KeyPerformanceIndicator"})
            if stored.json():
                break
            time.sleep(0.05)
        [entity] = stored.json()
        assert entity["areaServed"]["value"] == "warsaw"
        table = client.get("/indicators/compare", params={"cities": "warsaw,london"}).json()
    [live_row] = [r for r in table["live"] if r["indicator"]["id"] == "urban-rail-length"]
    warsaw = next(c for c in live_row["cells"] if c["city"] == "warsaw")
    assert warsaw["value"] == pytest.approx(2.0, abs=0.01)
    assert warsaw["rank"] is None and warsaw["reason"] == ["live"]
    assert any("computed live" in c["title"] for c in warsaw["citations"])
    # The published row keeps Warsaw's published metro length and ranks only published ones.
    row = next(r for r in table["rows"] if r["indicator"]["id"] == "urban-rail-length")
    published = {c["city"]: c for c in row["cells"]}
    assert published["warsaw"]["value"] == 41.3 and published["london"]["rank"] == 1
    store.close()


def test_no_live_city_means_404(client: TestClient) -> None:
    response = client.get("/indicators/live")
    assert response.status_code == 404 and "--indicators" in response.json()["detail"]
