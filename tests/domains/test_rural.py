"""Rural pack: setup valid and labelled simulated, soil and weather plausible, irrigation
and batch chains behaving, the irrigation rule firing and clearing, KPIs by hand."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely

from cityos.domains.base import Reading, Setup
from cityos.domains.common import SIMULATOR, iot_device, point, prop, rel
from cityos.domains.rural import (
    ALERT,
    BATCH,
    COOPERATIVE,
    FARM,
    FIELD_CAPACITY,
    IRRIGATION_RULE,
    MARKET,
    RECORD,
    VILLAGE,
    WILTING_POINT,
    RuralPack,
    rectangle,
    soil_water,
)
from cityos.rules.actions import alert_id
from tests.domains.packcity import CHONGQING, check_setup, context, pack_city
from tests.rules.world import world

TICK = timedelta(seconds=10)
CST = timedelta(hours=8)
START = datetime(2030, 7, 15, tzinfo=UTC) - CST  # 2030-07-15 00:00 in Chongqing, a Monday
SMALL = {"districts": ["Fengjie", "Wushan"], "batches_per_day": 4, "batch_days": 5}


def run(pack: RuralPack, start: datetime, ticks: int, dt: timedelta = TICK) -> list[Reading]:
    out: list[Reading] = []
    now = start
    for _ in range(ticks):
        now += dt
        out.extend(pack.step(now, dt))
    return out


def test_setup_is_valid_and_labelled_simulated() -> None:
    pack = RuralPack()
    setup = pack.setup(context(START))
    devices, rules = check_setup(setup)
    kinds = Counter(e["type"] for e in setup.entities)
    counties = [d.name for d in CHONGQING if d.kind == "county"]
    villages = len(counties) + 6
    assert kinds == {
        VILLAGE: villages,
        "WeatherObserved": villages,
        COOPERATIVE: villages,
        FARM: 2 * villages,
        "AgriParcel": 4 * villages,
        RECORD: 4 * villages,
        "AgriCrop": 4,
        MARKET: 3,
    }
    batch_tags = [d for d in devices if d.entity_type == BATCH]
    assert len(devices) - len(batch_tags) == 2 * villages + 4 * villages
    assert len(batch_tags) > 100  # 6 a day over 37 days, Poisson
    assert [r.id for r in rules] == [IRRIGATION_RULE]
    for entity in setup.entities:
        if entity["type"] != "AgriCrop":
            assert entity["dataProvider"]["value"] == SIMULATOR
            assert "imulated" in entity["name"]["value"] + entity["description"]["value"]
    # villages stand inside their district; Fengjie grows navel oranges, Jiangjin prickly ash
    for village in (e for e in setup.entities if e["type"] == VILLAGE):
        district = CHONGQING.find(village["district"]["value"])
        assert district is not None
        assert district.kind == "county" or district.name in {
            "Jiangjin",
            "Yongchuan",
            "Wulong",
            "Nanchuan",
            "Kaizhou",
            "Wanzhou",
        }
        lon, lat = village["location"]["value"]["coordinates"]
        assert shapely.intersects_xy(district.geometry, lon, lat)
    products = {
        e["district"]["value"]: e["product"]["value"]
        for e in setup.entities
        if e["type"] == VILLAGE
    }
    assert products["Fengjie"] == "navel-orange" and products["Jiangjin"] == "prickly-ash"
    assert set(products.values()) == {"navel-orange", "prickly-ash", "tea", "kiwifruit"}


def test_a_parcel_rectangle_has_its_area() -> None:
    shape = shapely.geometry.shape(rectangle(108.0, 31.0, 6000))
    metres = 111_320.0**2 * 0.857167  # cos(31°)
    assert abs(shape.area * metres - 6000) < 30


def test_a_run_is_deterministic_for_a_seed_and_within_bounds() -> None:
    first, second, other = RuralPack(), RuralPack(), RuralPack()
    first.setup(context(START, SMALL, seed=3))
    second.setup(context(START, SMALL, seed=3))
    other.setup(context(START, SMALL, seed=4))
    ticks = 6 * 60 * 24 * 2  # two simulated days
    readings = run(first, START, ticks)
    assert readings == run(second, START, ticks)
    assert readings != run(other, START, ticks)
    later = [r for r in readings if r.payload["TimeInstant"] > "2030-07-14T16:00:10"]
    assert len(later) / (2 * 24 * 60) < 100  # readings a simulated minute
    seen: Counter[str] = Counter()
    for reading in readings:
        kind = reading.device_id.split("-")[1]
        seen[kind] += 1
        payload = reading.payload
        if kind == "soil":
            assert WILTING_POINT * 0.8 <= payload["m"] <= 0.45
            assert 0 < payload["st"] < 40
        elif kind == "weather":
            assert 10 < payload["t"] < 40  # July
            assert 0.3 <= payload["rh"] <= 1.0
            assert 0 <= payload["p"] < 30 * 0.25 + 0.1  # at most 30 mm/h over 15 minutes
        elif kind == "village":
            assert 0 <= payload["bb"] <= 100 and payload["eo"] >= 0 and payload["v"] >= 0
    # 2 stations and 8 plots at the first tick then every 15 minutes; 7 backfilled days + 2
    assert seen["soil"] == 8 * (4 * 24 * 2 + 1) and seen["weather"] == 2 * (4 * 24 * 2 + 1)
    assert seen["village"] == 2 * (7 + 2)


def test_soil_water_balance() -> None:
    # drying: the demand comes out of 300 mm of root zone, slower as the soil dries
    assert soil_water(0.30, 0.0, 0.6, 1.0) == 0.30 - 0.6 / 300
    dry = soil_water(0.15, 0.0, 0.6, 1.0)
    assert 0.15 - 0.6 / 300 < dry < 0.15
    # 30 mm of rain add 0.1; above field capacity the excess drains
    assert abs(soil_water(0.20, 30.0, 0.0, 0.0) - 0.30) < 1e-12
    wet = soil_water(0.40, 0.0, 0.0, 12.0)
    assert FIELD_CAPACITY < wet < 0.40
    assert soil_water(0.44, 100.0, 0.0, 0.0) == 0.45  # runoff above saturation


def test_a_dry_plot_is_irrigated_hours_later_and_recovers() -> None:
    pack = RuralPack()
    pack.setup(context(START, {**SMALL, "batches_per_day": 0}, seed=5))
    plot = pack.plots[0]
    plot.moisture = 0.15
    for village in pack.villages:  # no rain
        village.rain_until, village.rain_rate = None, 0.0
    history: list[float] = []
    now = START
    for _ in range(6 * 60 * 12):  # twelve hours
        now += TICK
        for village in pack.villages:
            village.rain_until = None
        pack.step(now, TICK)
        history.append(plot.moisture)
    assert plot.dry_since is None and plot.irrigate_at is None  # watered, rearmed
    wet_from = next(i for i, m in enumerate(history) if m >= pack.threshold + 0.02)
    assert wet_from >= 6 * 60 * 2  # not before the rule's hour and the farmer's delay
    assert max(history) > 0.2


def test_batches_move_along_the_chain() -> None:
    pack = RuralPack()
    pack.setup(context(START, {**SMALL, "direct_sale_share": 0.3}, seed=2))
    readings = run(pack, START, 12 * 24 * 12, dt=timedelta(minutes=5))
    by_batch: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for reading in readings:
        if reading.device_id.startswith("rural-batch-"):
            by_batch[reading.device_id].append(reading.payload)
    assert len(by_batch) > 20
    direct = 0
    for scans in by_batch.values():
        stages = [s["s"] for s in scans]
        times = [s["TimeInstant"] for s in scans]
        assert times == sorted(times)
        assert stages[0] == "harvested" and scans[0]["q"] > 0
        if stages[1:2] == ["atMarket"]:
            direct += 1
        else:
            assert stages[1] == "atCooperative" and scans[1]["coop"].startswith("urn:")
        assert stages[-1] in ("atMarket", "sold") or len(stages) < 4
        places = [tuple(s["loc"]) for s in scans if "loc" in s]
        assert len(set(places)) == len(places)  # the location moves with the stage
    assert 0 < direct < len(by_batch)


def test_the_irrigation_rule_fires_after_an_hour_and_clears(tmp_path: Path) -> None:
    pack = RuralPack()
    setup = pack.setup(context(START, SMALL))
    record = next(e for e in setup.entities if e["type"] == RECORD)
    with world(tmp_path) as w:
        w.rules(setup.rules or "")
        w.create({**record, "soilMoistureVwc": prop(0.15)})
        assert w.later(3500) == 0
        assert w.later(200) == 1
        _, report = w.cases.reports[0]
        assert report.category == "irrigation-alert" and report.raised_by == record["id"]
        assert report.priority is not None and report.priority.value == "normal"
        w.merge(record["id"], soilMoistureVwc=0.26)
        assert "validTo" in str(w.get(alert_id(IRRIGATION_RULE, record["id"])).attrs)
        w.merge(record["id"], soilMoistureVwc=0.14)  # dry again: re-armed, after the cooldown
        w.later(6 * 3600 + 10)
        assert len(w.cases.reports) == 2


# -- KPIs on what the broker holds ---------------------------------------------------------


def entity(kind: str, key: str, **attrs: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": f"urn:ngsi-ld:{kind}:{key}", "type": kind}
    for name, value in attrs.items():
        if name.startswith("ref") or name == "alertSource":
            body[name] = rel(value)
        elif name == "location":
            body[name] = point(*value)
        else:
            body[name] = prop(value)
    return body


F, C, M = "urn:ngsi-ld:AgriFarm:f1", "urn:ngsi-ld:Cooperative:c1", "urn:ngsi-ld:Market:m1"


def test_kpis_from_what_the_broker_holds(tmp_path: Path) -> None:
    now = datetime(2030, 7, 20, 4, tzinfo=UTC)  # 12:00 in Chongqing
    villages = [("a", "Fengjie", 90.0), ("b", "Fengjie", 95.0), ("c", "Wushan", 80.0)]
    setup = Setup(
        entities=[entity(VILLAGE, k, name=f"V{k}", district=d) for k, d, _ in villages],
        devices=[
            iot_device(
                f"v-{k}",
                "k",
                f"urn:ngsi-ld:{VILLAGE}:{k}",
                VILLAGE,
                [
                    ("eo", "ecommerceOrders", "Number", None),
                    ("bb", "broadbandCoverage", "Number", None),
                ],
            )
            for k, _, _ in villages
        ],
    )
    with pack_city(tmp_path, setup) as city:
        # daily orders of the 8 days before the 20th (local), observed at 23:59:59 local
        readings = []
        for back in range(1, 9):
            day_end = datetime(2030, 7, 20, tzinfo=UTC) - CST - timedelta(days=back - 1, seconds=1)
            stamp = day_end.isoformat()
            for k, _, bb in villages:
                value = {"a": 10, "b": 100, "c": 1000}[k] * back
                readings.append(Reading(f"v-{k}", {"eo": value, "bb": bb, "TimeInstant": stamp}))
        city.publish(sorted(readings, key=lambda r: r.payload["TimeInstant"]))
        # a reading of today (the 20th) is outside the last 7 complete days
        today = (now - timedelta(hours=1)).isoformat()
        city.publish([Reading("v-a", {"eo": 5000, "TimeInstant": today})])

        for body in (
            entity(RECORD, "r1", district="Fengjie"),
            entity(RECORD, "r2", district="Wushan"),
            entity(ALERT, "1", subCategory=IRRIGATION_RULE, alertSource=f"urn:ngsi-ld:{RECORD}:r1"),
            entity(ALERT, "3", subCategory=IRRIGATION_RULE, alertSource="urn:ngsi-ld:Machine:x"),
            entity(ALERT, "4", subCategory="other-rule", alertSource=f"urn:ngsi-ld:{RECORD}:r2"),
            entity(FARM, "f1"),
            entity(COOPERATIVE, "c1"),
            entity(MARKET, "m1"),
            entity(BATCH, "b1", stage="atMarket", product="orange", refFarm=F, refCooperative=C,
                   refMarket=M),
            entity(BATCH, "b2", stage="sold", product="orange", refFarm=F, refMarket=M),
            entity(BATCH, "b3", stage="sold", product="tea", refFarm=F, refCooperative=C,
                   refMarket="urn:ngsi-ld:Market:gone"),
            entity(BATCH, "b4", stage="harvested", product="tea", refFarm=F),
        ):  # fmt: skip
            city.create(body)
        closed = entity(ALERT, "2", subCategory=IRRIGATION_RULE)
        closed["alertSource"] = rel(f"urn:ngsi-ld:{RECORD}:r2")
        closed["validTo"] = prop({"@type": "DateTime", "@value": "2030-07-20T01:00:00Z"})
        city.create(closed)

        kpis = {k.id: k for k in RuralPack().kpis(city.view, now)}

    alerts = kpis["rural-irrigation-alerts"]
    assert alerts.value == 1 and alerts.breakdown == {"Fengjie": 1}
    traced = kpis["rural-batches-traced"]  # b1 only, of b1-b3 (b4 has not arrived)
    assert traced.value == round(100 / 3, 1)
    assert traced.breakdown == {"orange": 50.0, "tea": 0.0}
    orders = kpis["rural-ecommerce-orders-7d"]  # days 1..7 back: 1+2+…+7 = 28
    assert orders.breakdown == {"Fengjie": 28 * 10 + 28 * 100, "Wushan": 28 * 1000}
    assert orders.value == 28 * 1110
    broadband = kpis["rural-broadband-coverage"]
    assert broadband.breakdown == {"Fengjie": 92.5, "Wushan": 80.0}
    assert broadband.value == round((90 + 95 + 80) / 3, 1)


def test_kpis_without_data_say_none(tmp_path: Path) -> None:
    with pack_city(tmp_path) as city:
        kpis = {k.id: k for k in RuralPack().kpis(city.view, START)}
    assert kpis["rural-irrigation-alerts"].value == 0
    assert kpis["rural-batches-traced"].value is None
    assert kpis["rural-ecommerce-orders-7d"].value is None
    assert kpis["rural-broadband-coverage"].value is None
