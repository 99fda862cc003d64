"""Mobility pack: vehicles on the timetable, traffic, car parks, KPIs and rules."""

from __future__ import annotations

import itertools
import math
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cityos.context.geo import SHARED_TRACK_M, haversine_m
from cityos.domains.base import CityView, Reading, Setup
from cityos.domains.mobility import (
    ON_TIME_S,
    MobilityPack,
    car_park_occupancy,
    high_capacity_network,
    stop_coverage,
    traffic_speed,
    vehicle_kpis,
)
from cityos.domains.mobility import PACK as FACTORY
from cityos.governance.districts import Districts
from tests.domains.packcity import check_setup, context, pack_city
from tests.rules.world import world

TICK = timedelta(seconds=10)
MORNING = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 08:00 in Chongqing, a Monday


def run(pack: MobilityPack, start: datetime, minutes: float) -> list[tuple[datetime, Reading]]:
    out = []
    now = start
    for _ in range(int(minutes * 6)):
        now += TICK
        out.extend((now, r) for r in pack.step(now, TICK))
    return out


def chongqing(seed: int = 1, **params: Any) -> tuple[MobilityPack, Setup]:
    pack = FACTORY()
    return pack, pack.setup(context(MORNING, params, seed))


# -- a tiny feed whose answers are worked out by hand -----------------------------------------

NORTH = 1000 / 110_540  # one kilometre of latitude, in degrees, as the pack measures it


def tiny_feed(tmp_path: Path, with_distances: bool = False) -> Path:
    dist_col = ",shape_dist_traveled" if with_distances else ""
    files = {
        "agency.txt": "agency_name,agency_url,agency_timezone\nTiny,https://example.org,UTC\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        f"A,Alpha,52.0,21.0\nB,Beta,{52.0 + NORTH},21.0\nC,Gamma,{52.0 + 2 * NORTH},21.0\n",
        "routes.txt": "route_id,route_short_name,route_type\nR,1,3\n",
        "trips.txt": "route_id,service_id,trip_id,shape_id\nR,WK,T1,S\n",
        "stop_times.txt": f"trip_id,arrival_time,departure_time,stop_id,stop_sequence{dist_col}\n"
        + (
            "T1,08:00:00,08:00:00,A,1,0\nT1,08:01:40,08:02:00,B,2,1.0\nT1,08:05:20,08:05:20,C,3,2.0\n"
            if with_distances
            else "T1,08:00:00,08:00:00,A,1\nT1,08:01:40,08:02:00,B,2\nT1,08:05:20,08:05:20,C,3\n"
        ),
        "shapes.txt": f"shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence{dist_col}\n"
        + (
            f"S,52.0,21.0,1,0\nS,{52.0 + 2 * NORTH},21.0,2,2.0\n"
            if with_distances
            else f"S,52.0,21.0,1\nS,{52.0 + 2 * NORTH},21.0,2\n"
        ),
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nWK,1,1,1,1,1,0,0,20250101,20251231\n",
        # no service on Monday 5 May 2025, an extra one on Saturday 3 May
        "calendar_dates.txt": "service_id,date,exception_type\nWK,20250505,2\nWK,20250503,1\n",
    }
    path = tmp_path / "tiny-gtfs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def tiny_pack(tmp_path: Path, **params: Any) -> MobilityPack:
    pack = MobilityPack()
    base = {
        "gtfs": str(tiny_feed(tmp_path, params.pop("with_distances", False))),
        "central_districts": [],
    }
    pack.setup(context(datetime(2025, 5, 6, tzinfo=UTC), {**base, **params}))
    return pack


@pytest.mark.parametrize("with_distances", [False, True])
def test_position_interpolates_along_the_shape(tmp_path: Path, with_distances: bool) -> None:
    pack = tiny_pack(tmp_path, with_distances=with_distances)
    (plan,) = pack.plans
    eight = 8 * 3600
    assert plan.distances == pytest.approx([0, 1000, 2000], abs=0.5)
    lon, lat, bearing, speed = plan.position(eight + 50)  # halfway from A to B in 100 s
    assert (lon, lat) == pytest.approx((21.0, 52.0 + NORTH / 2), abs=1e-6)
    assert bearing == pytest.approx(0.0, abs=0.1)  # due north
    assert speed == pytest.approx(36.0)  # 1000 m in 100 s
    assert plan.position(eight + 110)[3] == 0.0  # dwelling at B until 08:02:00
    assert plan.position(eight + 110)[1] == pytest.approx(52.0 + NORTH, abs=1e-6)
    lon, lat, _, speed = plan.position(eight + 120 + 100)  # 1000 m in 200 s: halfway to C
    assert lat == pytest.approx(52.0 + 1.5 * NORTH, abs=1e-6) and speed == pytest.approx(18.0)


@pytest.mark.parametrize(
    ("day", "runs"),
    [
        (date(2025, 5, 6), True),  # a Tuesday
        (date(2025, 5, 5), False),  # a Monday removed by calendar_dates
        (date(2025, 5, 3), True),  # a Saturday added by calendar_dates
        (date(2025, 5, 4), False),  # a Sunday
    ],
)
def test_trips_run_only_on_their_service_days(tmp_path: Path, day: date, runs: bool) -> None:
    pack = tiny_pack(tmp_path)
    start = datetime(day.year, day.month, day.day, 7, 59, tzinfo=UTC)
    vehicles = [r for _, r in run(pack, start, 3) if "serviceStatus" in r.payload]
    assert bool(vehicles) is runs


def test_a_trip_runs_late_then_parks(tmp_path: Path) -> None:
    """Every trip severe: the delay builds up towards 10-20 minutes, the vehicle keeps moving
    forward, reports every 30 s, and parks at the end of the line, freeing its vehicle."""
    pack = tiny_pack(tmp_path, late_share=0, severe_share=1.0)
    readings = [(t, r) for t, r in run(pack, datetime(2025, 5, 6, 7, 59, tzinfo=UTC), 40)]
    statuses = [r.payload["serviceStatus"] for _, r in readings]
    assert statuses[0] == "onRoute" and statuses[-1] == "parked"
    assert statuses.count("parked") == 1
    moving = [(t, r.payload) for t, r in readings if r.payload["serviceStatus"] == "onRoute"]
    times = [t for t, _ in moving]
    assert all(b - a == timedelta(seconds=30) for a, b in itertools.pairwise(times))
    delays = [p["delay"] for _, p in moving]
    # A 10-20 minute delay builds up over twice itself, so the timetable clock runs at half
    # speed: the 320 s trip takes 640 s, ending 320 s late at 08:10:40 (parked next tick).
    assert delays == sorted(delays) and 300 <= delays[-1] <= 320
    assert readings[-1][0] == datetime(2025, 5, 6, 8, 10, 50, tzinfo=UTC)
    lats = [p["location"][1] for _, p in moving]
    assert lats == sorted(lats)  # northbound, never backwards
    assert readings[-1][1].payload["location"][1] == pytest.approx(52.0 + 2 * NORTH, abs=1e-6)
    assert all(not pool.busy for pool in pack.pools.values())
    assert moving[0][1]["currentTrip"] == "urn:ngsi-ld:GtfsTrip:tiny:T1"


def test_chongqing_is_deterministic_and_within_bounds() -> None:
    first, setup = chongqing(seed=7)
    second, _ = chongqing(seed=7)
    other, _ = chongqing(seed=8)
    a, b, c = (run(p, MORNING, 60) for p in (first, second, other))
    assert a == b
    assert a != c
    totals = {
        e["id"]: e["totalSpotNumber"]["value"] for e in setup.entities if "totalSpotNumber" in e
    }
    kinds = Counter()
    for _, reading in a:
        p = reading.payload
        if "serviceStatus" in p:
            kinds["vehicle"] += 1
            lon, lat = p["location"]
            assert 105 < lon < 110.5 and 28 < lat < 32.5
            assert 0 <= p["speed"] <= 100 and 0 <= p["bearing"] < 360
            assert -60 <= p.get("delay", 0) <= 1200
        elif "intensity" in p:
            kinds["traffic"] += 1
            assert p["intensity"] >= 0 and 0 <= p["occupancy"] <= 1
            assert 0 < p["averageVehicleSpeed"] <= 60
            assert p["congested"] == (p["averageVehicleSpeed"] < 20)
        else:
            kinds["parking"] += 1
            device = reading.device_id.removeprefix("mob-parking-")
            total = totals[f"urn:ngsi-ld:OffStreetParking:cq-{device}"]
            assert 0 <= p["availableSpotNumber"] <= total
            assert p["availableSpotNumber"] + p["occupiedSpotNumber"] == total
            assert p["occupancy"] == pytest.approx(p["occupiedSpotNumber"] / total, abs=1e-3)
    assert kinds["vehicle"] > 100 and kinds["traffic"] == 27 * 12 and kinds["parking"] == 18 * 12


def test_chongqing_rate_is_modest_all_day() -> None:
    pack, _ = chongqing()
    per_hour = Counter(t.hour for t, _ in run(pack, MORNING, 24 * 60))
    assert max(per_hour.values()) / 60 <= 100
    assert pack.skipped == 0


def test_setups_are_valid_and_readings_land(tmp_path: Path) -> None:
    pack, setup = chongqing()
    devices, rules = check_setup(setup)
    assert {r.id for r in rules} == {
        "mobility-congestion",
        "mobility-car-park-full",
        "mobility-vehicle-late",
    }
    types = Counter(e["type"] for e in setup.entities)
    assert types["TrafficFlowObserved"] == 27 and types["OffStreetParking"] == 18
    assert types["GtfsRoute"] == 6
    assert all(e["dataProvider"]["value"] == "cityos simulator" for e in setup.entities)
    assert set(types) <= set(pack.entity_types)
    keys = {d.device_id: {m.object_id for m in d.attributes} | {"TimeInstant"} for d in devices}
    with pack_city(tmp_path, setup) as city:
        now = MORNING
        for _ in range(6 * 20):
            now += TICK
            readings = pack.step(now, TICK)
            assert all(set(r.payload) <= keys[r.device_id] for r in readings)
            city.publish(readings, now)
        in_service = city.view.count("Vehicle", q='serviceStatus=="onRoute"')
        assert in_service == sum(1 for run_ in pack.runs.values() if run_.last_report)
        (vehicles, _) = vehicle_kpis(city.view)
        assert vehicles.value == in_service > 0


def test_warsaw_runs_the_real_timetable_today() -> None:
    pack = MobilityPack()
    warsaw = replace(context(MORNING, {"gtfs": "warsaw-wkd-gtfs.zip"}), districts=Districts([]))
    setup = pack.setup(warsaw)  # as the warsaw scenario: no district boundaries
    check_setup(setup)
    day = pack.feed_day(date(2026, 11, 30))
    assert date(2024, 7, 15) <= day <= date(2024, 12, 31) and day.weekday() == 0
    assert pack.feed_day(date(2024, 9, 2)) == date(2024, 9, 2)
    assert str(pack.zone) == "Europe/Warsaw"
    noon = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 12:00 in Warsaw
    vehicles = {r.device_id for _, r in run(pack, noon, 30) if "serviceStatus" in r.payload}
    assert len(vehicles) >= 4
    assert all(e["type"].startswith("Gtfs") for e in setup.entities)  # no districts: no sensors


# -- KPIs on hand-made entities -------------------------------------------------------------


def _entity(kind: str, n: str, **attrs: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": f"urn:ngsi-ld:{kind}:{n}", "type": kind}
    for name, value in attrs.items():
        if name == "location":
            body[name] = {"type": "GeoProperty", "value": value}
        elif name == "hasRoute":
            body[name] = {"type": "Relationship", "object": value}
        else:
            body[name] = {"type": "Property", "value": value}
    return body


def _square(lon: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lon, 52], [lon + 0.1, 52], [lon + 0.1, 52.1], [lon, 52.1], [lon, 52]]],
    }


def test_kpis_on_hand_computed_inputs(tmp_path: Path) -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    sensors = Setup(
        devices=[
            {
                "device_id": f"s{n}",
                "entity_name": f"urn:ngsi-ld:TrafficFlowObserved:{n}",
                "entity_type": "TrafficFlowObserved",
                "timestamp": True,
                "attributes": [{"object_id": "v", "name": "averageVehicleSpeed", "type": "Number"}],
                "static_attributes": [{"name": "areaServed", "type": "Text", "value": area}],
            }
            for n, area in ((1, "A"), (2, "B"))
        ]
    )
    route_x, route_y = "urn:ngsi-ld:GtfsRoute:t:X", "urn:ngsi-ld:GtfsRoute:t:Y"
    with pack_city(tmp_path, sensors) as city:
        for n, status, delay, route in (
            ("1", "onRoute", 0, route_x),
            ("2", "onRoute", 200, route_x),
            ("3", "onRoute", -100, route_x),
            ("4", "onRoute", 700, route_y),
            ("5", "parked", 50, route_y),
        ):
            city.create(_entity("Vehicle", n, serviceStatus=status, delay=delay, hasRoute=route))
        city.create(_entity("Vehicle", "6", serviceStatus="onRoute", hasRoute=route_y))
        vehicles, on_time = vehicle_kpis(city.view)
        assert vehicles.value == 5 and vehicles.breakdown == {"X": 3, "Y": 2}
        # delays 0, 200, -100, 700 (vehicle 6 reports none): 2 of 4 within 180 s
        assert ON_TIME_S == 180
        assert on_time.value == 50.0 and on_time.breakdown == {"X": 66.7, "Y": 0.0}

        assert stop_coverage(city.view).value is None  # no District entities yet
        for code, lon, name in (("a", 21.0, "Alpha"), ("b", 21.1, "Beta")):
            district = _entity("District", code, boundary=_square(lon))
            district["boundary"]["type"] = "GeoProperty"
            district["name"] = {"type": "LanguageProperty", "languageMap": {"en": name}}
            city.create(district)
        for n, (lon, lat) in enumerate([(21.01, 52.01), (21.05, 52.05), (21.09, 52.09), (22, 52)]):
            city.create(
                _entity("GtfsStop", str(n), location={"type": "Point", "coordinates": [lon, lat]})
            )
        city.create(
            _entity("GtfsStation", "s", location={"type": "Point", "coordinates": [21.15, 52.05]})
        )
        coverage = stop_coverage(city.view)
        assert coverage.value == 50.0 and coverage.breakdown == {"Alpha": 3.0, "Beta": 0.0}

        def speed(device: str, value: float, minutes_ago: float) -> None:
            at = now - timedelta(minutes=minutes_ago)
            city.publish([Reading(device, {"v": value, "TimeInstant": at.isoformat()})], at)

        speed("s1", 90, 120)  # outside the last hour
        speed("s1", 30, 50)
        speed("s1", 50, 10)
        speed("s2", 20, 30)
        traffic = traffic_speed(city.view, now)
        assert traffic.value == 30.0  # (avg(30, 50) + 20) / 2
        assert traffic.breakdown == {"A": 40.0, "B": 20.0}

        city.create(
            _entity(
                "OffStreetParking",
                "p1",
                totalSpotNumber=100,
                availableSpotNumber=25,
                areaServed="A",
            )
        )
        city.create(
            _entity(
                "OffStreetParking", "p2", totalSpotNumber=300, availableSpotNumber=0, areaServed="B"
            )
        )
        city.create(_entity("OffStreetParking", "p3", totalSpotNumber=50))  # no count yet
        parking = car_park_occupancy(city.view)
        assert parking.value == 93.8  # (75 + 300) / 400
        assert parking.breakdown == {"A": 75.0, "B": 100.0}


def test_rules_raise_alerts(tmp_path: Path) -> None:
    _, setup = chongqing()
    assert setup.rules is not None
    with world(tmp_path) as w:
        w.rules(setup.rules)
        w.create(_entity("Vehicle", "late", serviceStatus="onRoute", delay=300))
        w.create(
            _entity("OffStreetParking", "full", totalSpotNumber=100, availableSpotNumber=0)
            | {
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [106.5, 29.5]},
                }
            }
        )
        w.create(_entity("TrafficFlowObserved", "jam", congested=True))

        def alerts() -> set[str]:
            return {a["subCategory"] for a in CityView(w.broker).entities("Alert")}

        assert alerts() == set()
        w.merge("urn:ngsi-ld:Vehicle:late", delay=700)
        assert alerts() == {"vehicleDelay"}
        w.later(16 * 60)
        assert alerts() == {"vehicleDelay", "trafficJam"}
        w.later(15 * 60)
        assert alerts() == {
            "vehicleDelay",
            "trafficJam",
            "carParkFull",
        }


def test_delay_ramp_never_runs_backwards() -> None:
    from cityos.domains.mobility import _delay

    for target in (-60.0, 0.0, 300.0, 1200.0):
        scheduled = [t - _delay(target, t) for t in range(0, 4000, 10)]
        assert all(b >= a for a, b in itertools.pairwise(scheduled))
        assert math.isclose(_delay(target, 10_000), target)


# -- the high-capacity network from the imported GTFS ------------------------------------------


def test_high_capacity_network_counts_shared_track_once(tmp_path: Path) -> None:
    east = 1000 / 68_000  # about one kilometre of longitude at 52° N, checked below
    files = {
        "agency.txt": "agency_name,agency_url,agency_timezone\nTiny,https://example.org,UTC\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Alpha,52.0,21.0\n",
        # a metro (1), a rail line (2) sharing its trunk, and a bus (3) that never counts
        "routes.txt": "route_id,route_short_name,route_type\nM,M1,1\nR,R1,2\nB,B1,3\n",
        "trips.txt": "route_id,service_id,trip_id,shape_id\n"
        "M,WK,M-out,north\nM,WK,M-back,south\nR,WK,R-out,branch\nB,WK,B-out,bus\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        + "".join(f"{t},08:00:00,08:00:00,A,1\n" for t in ("M-out", "M-back", "R-out", "B-out")),
        # north: 2 km due north; south: the same track back; branch: the first km north,
        # then 3 km east; bus: 5 km far away
        "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
        f"north,52.0,21.0,1\nnorth,{52.0 + 2 * NORTH},21.0,2\n"
        f"south,{52.0 + 2 * NORTH},21.0,1\nsouth,52.0,21.0,2\n"
        f"branch,52.0,21.0,1\nbranch,{52.0 + NORTH},21.0,2\n"
        f"branch,{52.0 + NORTH},{21 + 3 * east},3\n"
        f"bus,53.0,22.0,1\nbus,53.0,{22 + 5 * east},2\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nWK,1,1,1,1,1,0,0,20250101,20251231\n",
    }
    feed = tmp_path / "metro.zip"
    with zipfile.ZipFile(feed, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    pack = MobilityPack()
    start = datetime(2025, 5, 6, tzinfo=UTC)
    setup = pack.setup(context(start, {"gtfs": str(feed), "central_districts": []}))
    with pack_city(tmp_path / "db", setup) as city:
        kpi = high_capacity_network(city.view)
    three_km_east = haversine_m(21.0, 52.0 + NORTH, 21.0 + 3 * east, 52.0 + NORTH) / 1000
    assert three_km_east == pytest.approx(3.0, rel=0.01)
    # 2 km of metro, then the rail branch adds its 3 km east (less the radius within which
    # two routes share a track)
    assert kpi.value == pytest.approx(2.0 + three_km_east - SHARED_TRACK_M / 1000, abs=0.02)
    assert kpi.breakdown == {
        "M1": pytest.approx(2.0, abs=0.02),
        "R1": pytest.approx(1.0 + three_km_east, abs=0.02),
    }


def test_no_gtfs_and_bus_only_mean_no_network_figure_never_zero(tmp_path: Path) -> None:
    with pack_city(tmp_path / "empty") as city:
        assert high_capacity_network(city.view).value is None
    params = {"gtfs": str(tiny_feed(tmp_path)), "central_districts": []}  # one bus route
    setup = MobilityPack().setup(context(datetime(2025, 5, 6, tzinfo=UTC), params))
    with pack_city(tmp_path / "bus", setup) as city:
        assert high_capacity_network(city.view).value is None  # "no data", not 0 km


def test_the_chongqing_metro_is_gtfs_entities_measured_from_their_geometry(
    tmp_path: Path,
) -> None:
    """The packaged Chongqing Rail Transit: ten routes in their official colours, 242 named
    stops, one shape per line; 456.4 km of line (README), measured with the track that
    lines really share counted once, neighbouring lines at interchanges kept apart."""
    params = {"rail_network": "chongqing-rail-transit-gcj02.geojson", "rail_prefix": "cq-crt"}
    _, setup = chongqing(**params)
    crt = [e for e in setup.entities if ":cq-crt:" in e["id"]]
    routes = {e["shortName"]["value"]: e for e in crt if e["type"] == "GtfsRoute"}
    assert sorted(routes, key=lambda r: (len(r), r)) == [
        *("1", "2", "3", "4", "5", "6", "9"),
        *("10", "18", "Loop"),
    ]
    assert routes["1"]["routeColor"]["value"] == "E4002B"
    assert routes["Loop"]["routeColor"]["value"] == "F2A900"
    assert "routeColor" not in routes["2"]  # no official colour: none made up
    assert routes["2"]["routeType"]["value"] == "12"  # monorail
    stops = [e for e in crt if e["type"] == "GtfsStop"]
    assert len(stops) == 242 and all(s["name"]["value"] for s in stops)
    assert sum(e["type"] == "GtfsShape" for e in crt) == 10
    with pack_city(tmp_path / "crt", setup) as city:
        kpi = high_capacity_network(city.view)
        assert city.view.count("GtfsStop", 'name=="Xiaoshizi"') == 1
    assert kpi.value == pytest.approx(456.4, rel=0.01)
    assert kpi.lower_bound
    assert kpi.breakdown["1"] == pytest.approx(43.63, rel=0.01)


def test_warsaw_wkd_network_is_its_two_rail_routes(tmp_path: Path) -> None:
    pack = MobilityPack()
    warsaw = replace(context(MORNING, {"gtfs": "warsaw-wkd-gtfs.zip"}), districts=Districts([]))
    setup = pack.setup(warsaw)
    with pack_city(tmp_path, setup) as city:
        kpi = high_capacity_network(city.view)
    assert set(kpi.breakdown) == {"A1", "A12"}  # ZA1 is a replacement bus
    parts = [v for v in kpi.breakdown.values() if v is not None]
    assert kpi.value is not None and max(parts) <= kpi.value < sum(parts)
