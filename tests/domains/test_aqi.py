"""HJ 633-2012 AQI: every expected value below is worked out by hand from Table 1."""

from __future__ import annotations

import math

import pytest

from cityos.domains.aqi import (
    BREAKPOINTS,
    CATEGORIES,
    IAQI_STEPS,
    category,
    combine,
    daily_aqi,
    hourly_aqi,
    iaqi,
    round_up,
    so2_iaqi_1h,
    ug_to_mg,
)


@pytest.mark.parametrize(("column", "row"), sorted(BREAKPOINTS.items()))
def test_every_breakpoint_gives_its_iaqi_step(
    column: tuple[str, str], row: tuple[float, ...]
) -> None:
    pollutant, averaging = column
    for concentration, step in zip(row, IAQI_STEPS, strict=False):
        assert iaqi(pollutant, concentration, averaging) == pytest.approx(step)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("concentration", "expected"),
    [(0, 0), (35, 50), (75, 100), (115, 150), (150, 200), (250, 300), (350, 400), (500, 500)],
)
def test_pm25_breakpoints(concentration: float, expected: float) -> None:
    assert iaqi("pm25", concentration, "24h") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("pollutant", "averaging", "concentration", "expected"),
    [
        ("pm25", "24h", 55, 75),  # midway 35..75 → midway 50..100
        ("pm25", "24h", 200, 250),  # midway 150..250 → 200..300
        ("pm10", "24h", 100, 75),
        ("pm10", "24h", 385, 250),  # midway 350..420 → 200..300
        ("so2", "24h", 312.5, 125),
        ("no2", "24h", 60, 75),
        ("co", "24h", 3, 75),
        ("co", "1h", 7.5, 75),
        ("o3", "1h", 180, 75),
        ("o3", "8h", 130, 75),
        ("pm25", "24h", 36, 51.25),  # 50 + 50 * 1/40
        ("no2", "24h", 17, 21.25),  # 50 * 17/40
    ],
)
def test_linear_interpolation(
    pollutant: str, averaging: str, concentration: float, expected: float
) -> None:
    assert iaqi(pollutant, concentration, averaging) == pytest.approx(expected)  # type: ignore[arg-type]


def test_results_are_rounded_up_to_a_whole_number() -> None:
    assert round_up(51.25) == 52
    assert round_up(75.0000000001) == 75  # float noise is not a step up
    result = hourly_aqi({"pm25": 36})
    assert result.aqi == 52
    assert result.iaqi == {"pm25": 52}


def test_above_the_top_breakpoint_is_500() -> None:
    assert iaqi("pm25", 600, "24h") == 500
    assert iaqi("pm10", 601, "24h") == 500
    assert hourly_aqi({"pm25": 900}).aqi == 500


def test_so2_1h_above_800_falls_back_on_the_24h_iaqi() -> None:
    assert iaqi("so2", 800, "1h") == 200
    assert iaqi("so2", 900, "1h") is None
    assert so2_iaqi_1h(900, 150) == pytest.approx(100)  # the 24-hour column
    assert so2_iaqi_1h(500, 150) == pytest.approx(100)  # 1-hour 500 is IAQI 100 too
    assert so2_iaqi_1h(325, None) == pytest.approx(75)


def test_o3_8h_above_800_uses_the_1h_value() -> None:
    # 8-hour 900 is off the 8-hour column; 1-hour 1000 → IAQI 400
    assert daily_aqi({}, o3_max_1h=1000, o3_max_8h=900).iaqi == {"o3": 400}
    # otherwise the higher of the two: 8-hour 265 → 200 beats 1-hour 200 → 100
    result = daily_aqi({}, o3_max_1h=200, o3_max_8h=265)
    assert result.aqi == 200
    assert result.primary == ("o3",)


def test_missing_values_are_left_out() -> None:
    assert iaqi("pm25", None, "24h") is None
    assert iaqi("pm25", math.nan, "24h") is None
    empty = hourly_aqi({"pm25": None, "pm10": math.nan})
    assert (empty.aqi, empty.primary, empty.category) == (None, (), None)
    partial = hourly_aqi({"pm25": None, "no2": 60})
    assert (partial.aqi, partial.iaqi) == (75, {"no2": 75})


def test_primary_pollutants_and_ties() -> None:
    tie = hourly_aqi({"pm25": 75, "pm10": 150, "no2": 40})  # 100, 100, 50
    assert tie.aqi == 100
    assert tie.primary == ("pm25", "pm10")
    assert tie.category is not None and tie.category.code == "good"
    clean = hourly_aqi({"pm25": 35, "pm10": 50})  # both 50: no primary pollutant at ≤ 50
    assert (clean.aqi, clean.primary) == (50, ())
    assert combine({"o3": 151.0, "so2": 150.2}).primary == ("so2", "o3")  # both round to 151


def test_hourly_columns_and_co_in_mg() -> None:
    # CO arrives in µg/m³ in the Beijing data: 4000 µg/m³ = 4 mg/m³ → 24-hour IAQI 100
    assert ug_to_mg(4000) == 4.0
    assert hourly_aqi({"co": ug_to_mg(4000)}).aqi == 100
    # SO2 hourly uses the 24-hour column: 150 → 100 (the 1-hour column would give 50)
    assert hourly_aqi({"so2": 150}).aqi == 100
    # O3 hourly uses the 1-hour column: 200 → 100 (the 8-hour column would give 150)
    assert hourly_aqi({"o3": 200}).aqi == 100


def test_daily_aqi_takes_24h_averages() -> None:
    result = daily_aqi({"pm25": 115, "pm10": 100, "co": 2, "o3": 999}, o3_max_1h=160)
    assert result.iaqi == {"pm25": 150, "pm10": 75, "co": 50, "o3": 50}  # o3 average ignored
    assert result.aqi == 150
    assert result.category is not None and result.category.name_zh == "轻度污染"


@pytest.mark.parametrize(
    ("aqi", "code", "zh", "colour"),
    [
        (0, "excellent", "优", "#00E400"),
        (50, "excellent", "优", "#00E400"),
        (51, "good", "良", "#FFFF00"),
        (100, "good", "良", "#FFFF00"),
        (101, "lightlyPolluted", "轻度污染", "#FF7E00"),
        (150, "lightlyPolluted", "轻度污染", "#FF7E00"),
        (151, "moderatelyPolluted", "中度污染", "#FF0000"),
        (200, "moderatelyPolluted", "中度污染", "#FF0000"),
        (201, "heavilyPolluted", "重度污染", "#99004C"),
        (300, "heavilyPolluted", "重度污染", "#99004C"),
        (301, "severelyPolluted", "严重污染", "#7E0023"),
        (500, "severelyPolluted", "严重污染", "#7E0023"),
    ],
)
def test_categories(aqi: int, code: str, zh: str, colour: str) -> None:
    found = category(aqi)
    assert (found.code, found.name_zh, found.hex) == (code, zh, colour)


def test_six_categories_in_order() -> None:
    assert [c.level for c in CATEGORIES] == [1, 2, 3, 4, 5, 6]
    assert CATEGORIES[0].name == "Excellent"


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        iaqi("pm25", -1, "24h")
    with pytest.raises(ValueError, match="no 1h breakpoints for pm25"):
        iaqi("pm25", 10, "1h")
