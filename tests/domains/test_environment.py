"""Environment pack: setup valid, replay faithful, rivers plausible, KPIs by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely

from cityos.domains.base import CityView, Reading
from cityos.domains.common import SIMULATOR
from cityos.domains.environment import (
    AQ_TYPE,
    FLOOD_TYPE,
    EnvironmentPack,
    max_8h_by_day,
    season,
)
from tests.domains.packcity import CHONGQING, check_setup, context, pack_city

TICK = timedelta(seconds=10)
CST = timedelta(hours=8)
START = datetime(2030, 3, 1, tzinfo=UTC) - CST  # 2030-03-01 00:00 in Chongqing


def run(pack: EnvironmentPack, start: datetime, ticks: int) -> list[Any]:
    out = []
    now = start
    for _ in range(ticks):
        now += TICK
        out.extend(pack.step(now, TICK))
    return out


def test_setup_is_valid_and_labelled_simulated() -> None:
    pack = EnvironmentPack()
    setup = pack.setup(context(START))
    devices, rules = check_setup(setup)
    assert {e["type"] for e in setup.entities} == {AQ_TYPE, FLOOD_TYPE}
    assert len(devices) == len(setup.entities) == 6 + 5
    assert len(rules) == 5 + 2  # a flood rule per gauge; heavy air: alert now, case in 2 h
    assert {r.id for r in rules} >= {"env-aqi-heavy", "env-river-flood-cuntan"}
    for entity in setup.entities:
        assert entity["dataProvider"]["value"] == SIMULATOR
        assert "imulated" in entity["description"]["value"]
    yuzhong = next(e for e in setup.entities if e["id"].endswith("yuzhong-dongsi"))
    assert yuzhong["name"]["value"] == "Yuzhong (simulated, replaying Beijing Dongsi)"
    assert "CC BY 4.0" in yuzhong["source"]["value"]
    # every station stands inside the district it is named after
    for entity in setup.entities:
        lon, lat = entity["location"]["value"]["coordinates"]
        district = CHONGQING.find(entity["district"]["value"])
        assert district is not None and shapely.intersects_xy(district.geometry, lon, lat)
    gauges = {
        e["stationID"]["value"]: e["district"]["value"] for e in setup.entities if "stationID" in e
    }
    assert gauges == {
        "jiangjin": "Jiangjin",
        "cuntan": "Jiangbei",
        "chaotianmen": "Yuzhong",
        "beibei": "Beibei",
        "ciqikou": "Shapingba",
    }


def test_a_missing_data_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"beijing-aq-Dongsi-2013-2017\.csv\.gz"):
        EnvironmentPack().setup(context(START, data=tmp_path))


def test_stations_replay_the_row_of_the_same_hour() -> None:
    pack = EnvironmentPack()
    pack.setup(
        context(
            START,
            {
                "stations": [{"district": "Yuzhong", "source": "Dongsi", "year": 2013}],
                "gauges": [],
                "storms": [],
                "replay_months": {},  # each month replays itself
            },
        )
    )
    [reading] = pack.step(START + TICK, TICK)
    # Dongsi, 2013-03-01 00:00: PM2.5 9, PM10 9, SO2 3, NO2 17, CO 300 µg/m³, O3 89, NNW
    payload = reading.payload
    assert (payload["pm25"], payload["pm10"], payload["so2"], payload["no2"]) == (9, 9, 3, 17)
    assert payload["co"] == 0.3  # mg/m³
    assert payload["windDirection"] == 337.5
    assert payload["temperature"] == -0.5
    # IAQI: pm25 9→12.9→13, pm10 9, so2 3, no2 17→21.25→22, co 0.3→7.5→8, o3 89→27.8→28
    assert payload["airQualityIndex"] == 28
    assert payload["airQualityLevel"] == "excellent"
    assert payload["primaryPollutant"] == []
    assert payload["reliability"] == 1.0
    assert payload["TimeInstant"] == "2030-02-28T16:00:00.000000Z"
    assert payload["replayedFrom"] == "Beijing Dongsi 2013-03-01T00:00"
    # nothing more until the next hour, then the row of 01:00
    assert run(pack, START + TICK, 358) == []
    [next_hour] = run(pack, START + 359 * TICK, 1)
    assert next_hour.payload["TimeInstant"] == "2030-02-28T17:00:00.000000Z"
    assert next_hour.payload["pm25"] == 4


def test_a_chongqing_december_replays_beijing_weather_that_fits_it() -> None:
    """Chongqing in December is about 9 °C, Beijing about 0 °C: the default replay takes a
    month of Beijing that fits (March), and says which hours it replays."""
    december = datetime(2030, 12, 1, tzinfo=UTC) - CST
    hour = timedelta(hours=1)

    def month_mean(params: dict[str, Any]) -> tuple[float, list[Reading]]:
        pack = EnvironmentPack()
        pack.setup(context(december, {"gauges": [], "storms": [], **params}))
        readings = [r for n in range(1, 31 * 24) for r in pack.step(december + n * hour, hour)]
        temperatures = [r.payload["temperature"] for r in readings if "temperature" in r.payload]
        assert len(temperatures) > 6 * 24 * 28
        return sum(temperatures) / len(temperatures), readings

    mean, readings = month_mean({})
    assert 5 <= mean <= 14
    assert all("-03-" in r.payload["replayedFrom"] for r in readings)
    beijing_december, _ = month_mean({"replay_months": {}})
    assert beijing_december < 2  # what the demo showed before: a Chongqing December at 0 °C


def test_a_run_is_deterministic_for_a_seed_and_within_bounds() -> None:
    def readings(seed: int) -> list[Any]:
        pack = EnvironmentPack()
        pack.setup(context(START, {"rain_events_per_day": 20}, seed=seed))
        return run(pack, START, 6 * 60 * 12)

    first, again, other = readings(3), readings(3), readings(4)
    assert first == again
    assert first != other
    per_minute = len(first) / (12 * 60)
    assert 4 <= per_minute <= 100
    for reading in first:
        payload = reading.payload
        if reading.device_id.startswith("env-gauge"):
            assert 0 <= payload["l"] < 40
            assert payload["s"] in ("Normal", "Alert", "Danger")
        else:
            assert 0 <= payload.get("airQualityIndex", 0) <= 500
            assert 0 <= payload["reliability"] <= 1
            for key in ("pm25", "pm10", "so2", "no2", "co", "o3"):
                assert payload.get(key, 0) >= 0


def test_a_storm_takes_the_river_over_its_danger_level_and_back() -> None:
    pack = EnvironmentPack()
    params = {
        "stations": [],
        "rain_events_per_day": 0,
        "storms": [{"after_hours": 1, "river": "Jialing", "peak_ratio": 1.1}],
    }
    pack.setup(context(START, params))

    minute = timedelta(minutes=1)
    now, seen = START, {}
    for _ in range(7 * 24 * 60):  # a week, minute by minute
        now += minute
        for reading in pack.step(now, minute):
            seen[(now - START, reading.device_id)] = (reading.payload["l"], reading.payload["s"])

    def at(hours: float, gauge: str) -> tuple[float, str]:
        return seen[(timedelta(hours=hours), f"env-gauge-{gauge}")]

    assert at(0.5, "beibei")[1] == at(0.5, "cuntan")[1] == "Normal"
    assert at(7, "beibei")[1] == "Danger"  # the storm starts at 1 h and rises for 6 h
    assert at(7, "beibei")[0] == pytest.approx(11.0 * 1.1, abs=0.1)
    assert at(7, "ciqikou")[1] == "Danger"
    assert at(7, "cuntan")[1] == "Normal"  # the Yangtze did not get the storm
    assert at(24 * 6, "beibei")[1] == "Normal"  # receded


def test_the_flood_season_peaks_in_july() -> None:
    assert season(datetime(2030, 7, 15, tzinfo=UTC)) > 0.99
    assert season(datetime(2030, 1, 14, tzinfo=UTC)) < 0.01


def test_o3_8h_daily_maximum_uses_windows_inside_the_local_day() -> None:
    from zoneinfo import ZoneInfo

    day = datetime(2030, 6, 1, tzinfo=UTC) - CST
    hourly = [(day + timedelta(hours=h), 100.0 if h < 16 else 200.0) for h in range(24)]
    hourly.append((day + timedelta(hours=24), 999.0))  # next day: not in this day's windows
    best = max_8h_by_day(hourly, ZoneInfo("Asia/Shanghai"))
    assert best[day] == pytest.approx(200.0)  # hours 16..23
    # five hours of a window are not enough: fewer than 6 values
    sparse = [(day + timedelta(hours=h), 50.0) for h in range(5)]
    assert max_8h_by_day(sparse, ZoneInfo("Asia/Shanghai"))[day] is None


# -- KPIs on a real broker -----------------------------------------------------------------


def hours(
    pack: EnvironmentPack, device: str, day: datetime, count: int, **values: float
) -> list[Any]:
    from cityos.context.broker import iso_time

    return [
        Reading(device, {**values, "TimeInstant": iso_time((day + timedelta(hours=h)).timestamp())})
        for h in range(count)
    ]


def test_kpis_from_what_the_broker_holds(tmp_path: Path) -> None:
    pack = EnvironmentPack()
    params = {
        "stations": [
            {"district": "Yuzhong", "source": "Dongsi", "year": 2015},
            {"district": "Jiangbei", "source": "Tiantan", "year": 2015},
        ],
        "gauges": [
            {
                "id": "a",
                "name": "A",
                "river": "Yangtze",
                "lon": 106.60,
                "lat": 29.615,
                "base": 1,
                "seasonal": 1,
                "alert": 8,
                "danger": 10,
            },
            {
                "id": "b",
                "name": "B",
                "river": "Jialing",
                "lon": 106.44,
                "lat": 29.83,
                "base": 1,
                "seasonal": 1,
                "alert": 4,
                "danger": 5,
            },
        ],
    }
    day1 = datetime(2030, 6, 1, tzinfo=UTC) - CST  # local midnights
    day2 = day1 + timedelta(days=1)
    now = day2 + timedelta(hours=23, minutes=30)
    setup = pack.setup(context(day1, params))
    a = "env-aq-cq-yuzhong-dongsi"
    b = "env-aq-cq-jiangbei-tiantan"
    with pack_city(tmp_path, setup) as city:
        # station A: day 1, 20 hours of PM2.5 75 → daily IAQI 100 (good);
        #            day 2, 20 hours of PM2.5 115 → 150 (not good)
        city.publish(hours(pack, a, day1, 20, pm25=75, airQualityIndex=100))
        city.publish(hours(pack, a, day2, 20, pm25=115, airQualityIndex=150))
        # station B: day 1, 19 hours of PM2.5 200: too few for a 24-hour average (no day);
        #            day 2, 24 hours of O3 300: 1-hour IAQI 150, 8-hour 300 → 200 + 100 *
        #            35/535 = 206.5 → 207 (not good)
        city.publish(hours(pack, b, day1, 19, pm25=200))
        city.publish(hours(pack, b, day2, 24, o3=300, airQualityIndex=42))
        city.publish(
            [
                Reading("env-gauge-a", {"l": 6.0, "s": "Normal"}),
                Reading("env-gauge-b", {"l": 5.5, "s": "Danger"}),
            ]
        )
        kpis = {k.id: k for k in pack.kpis(city.view, now)}

    current = kpis["aqi-current"]
    assert current.value == 150
    assert current.breakdown == {
        "Yuzhong (simulated, replaying Beijing Dongsi)": 150,
        "Jiangbei (simulated, replaying Beijing Tiantan)": 42,
    }
    good = kpis["aqi-good-days"]
    assert good.value == pytest.approx(33.3)  # 1 good station-day of 3
    assert good.breakdown == {
        "Yuzhong (simulated, replaying Beijing Dongsi)": 50.0,
        "Jiangbei (simulated, replaying Beijing Tiantan)": 0.0,
    }
    river = kpis["river-level-ratio"]
    assert river.value == pytest.approx(1.1)  # 5.5 / 5
    assert river.breakdown == {"A river gauge (simulated)": 0.6, "B river gauge (simulated)": 1.1}


def test_kpis_of_an_empty_city_are_none(tmp_path: Path) -> None:
    with pack_city(tmp_path) as city:
        kpis = EnvironmentPack().kpis(city.view, START)
    assert [k.value for k in kpis] == [None, None, None]


def test_heavy_pollution_raises_an_alert_at_once_that_clears_when_it_falls(
    tmp_path: Path,
) -> None:
    from tests.rules.world import world

    pack = EnvironmentPack()
    setup = pack.setup(context(START))
    station = next(e for e in setup.entities if e["type"] == AQ_TYPE)
    with world(tmp_path) as w:
        w.rules(setup.rules or "")
        w.create(station)
        view = CityView(w.broker)
        w.merge(station["id"], airQualityIndex=200)  # heavily polluted starts above 200
        w.later(5)
        assert view.count("Alert") == 0
        w.merge(station["id"], airQualityIndex=268)
        w.later(5)
        (alert,) = view.entities("Alert")
        assert alert["severity"] == "high" and alert["category"] == "environment"
        assert "268" in alert["description"] and "validTo" not in alert
        w.merge(station["id"], airQualityIndex=150)
        w.later(5)
        (cleared,) = view.entities("Alert")
        assert "validTo" in cleared  # cleared: the overview no longer lists it


def test_the_rules_open_flood_and_air_pollution_cases(tmp_path: Path) -> None:
    from tests.rules.world import world

    pack = EnvironmentPack()
    setup = pack.setup(context(START))
    gauge = next(e for e in setup.entities if e["id"].endswith("cq-cuntan"))
    station = next(e for e in setup.entities if e["type"] == AQ_TYPE)
    with world(tmp_path) as w:
        w.rules(setup.rules or "")
        w.create(gauge)
        w.create(station)
        w.merge(gauge["id"], currentLevel=14.9)  # under its danger level of 15 m
        assert w.later(3600) == 0
        w.merge(gauge["id"], currentLevel=15.2)
        assert w.later(9 * 60) == 0
        assert w.later(60) == 1  # ten minutes over it
        w.merge(station["id"], airQualityIndex=201)
        assert w.later(3600) == 0
        assert w.later(3600) == 1  # two hours over 200
        reports = [report for _, report in w.cases.reports]
        assert CityView(w.broker).count("Alert") == 2  # the flood's, and the heavy air's
    assert [(r.category, r.priority) for r in reports] == [
        ("flood", "high"),
        ("air-pollution", "high"),
    ]
