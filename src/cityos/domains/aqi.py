"""The Chinese air quality index (AQI), as HJ 633-2012 defines it: pure functions.

Source: HJ 633-2012 《环境空气质量指数(AQI)技术规定(试行)》 (Technical Regulation on
Ambient Air Quality Index, on trial), Ministry of Environmental Protection of the PRC,
published 2012-02-29, in force 2016-01-01 together with GB 3095-2012. Table 1 (空气质量分指数
及对应的污染物项目浓度限值) gives, for each individual AQI (IAQI) step 0, 50, 100, 150, 200,
300, 400, 500, the concentration breakpoints of each pollutant and averaging time; Table 2
and Appendix A give the six categories and their colours.

The calculation (§4 of the standard):

- IAQI_P = (IAQI_Hi - IAQI_Lo) / (BP_Hi - BP_Lo) * (C_P - BP_Lo) + IAQI_Lo, with BP_Lo ≤ C_P ≤
  BP_Hi the breakpoints around the concentration C_P (linear interpolation on Table 1).
- AQI = max(IAQI_1 … IAQI_n); when AQI > 50, the pollutant(s) whose IAQI equals the AQI are
  the primary pollutant(s) (首要污染物), all of them on a tie.
- Results are rounded *up* to a whole number (进位取整数); `iaqi` returns the exact value
  and `aqi` rounds, so that a tie is decided on the published integers.
- SO2 1-hour above 800 µg/m³: its IAQI is not computed from the 1-hour value (Table 1
  note 2); the 24-hour IAQI is reported instead. O3 8-hour above 800 µg/m³: its IAQI is
  not computed from the 8-hour value (note 3); the 1-hour IAQI is used. `iaqi` returns
  None for those and `aqi` takes the fallback when it is given.
- Above the top breakpoint (IAQI 500) the table has no row. The standard prescribes no
  extrapolation, so this module reports 500 (the top of the scale) — our choice, stated.

Units: µg/m³ for every pollutant but CO, which Table 1 gives in **mg/m³**. Many data sets
(the UCI Beijing data among them) give CO in µg/m³: divide by 1000 first (`ug_to_mg`).

Which columns for hourly readings. A station that reports hourly concentrations has no
24-hour averages at each hour. cityos's hourly AQI (`HOURLY_COLUMNS`) uses the **24-hour
breakpoints for SO2, NO2, CO, PM10 and PM2.5** and the **1-hour breakpoints for O3**: the
24-hour columns are the ones that define the daily categories (so an hourly figure reads on
the scale of the daily report and of the "good days" count), PM10 and PM2.5 have no 1-hour
column at all, and O3's daily figure is itself a 1-hour (or 8-hour) maximum, so its 1-hour
column is the right one for an hourly value. This is an indicative hourly figure, not the
standard's real-time report (实时报), whose SO2/NO2/CO columns are the laxer 1-hour ones;
`iaqi(..., "1h")` is there for whoever needs those. The daily AQI (`daily_aqi`) follows the
daily report (日报): 24-hour averages, and for O3 the daily maximum 1-hour value and the
daily maximum 8-hour moving average.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Pollutant = Literal["so2", "no2", "co", "o3", "pm10", "pm25"]
Averaging = Literal["1h", "8h", "24h"]

POLLUTANTS: tuple[Pollutant, ...] = ("pm25", "pm10", "so2", "no2", "co", "o3")
"""The six pollutants of the index (Smart Data Models attribute names)."""

IAQI_STEPS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)

BREAKPOINTS: dict[tuple[Pollutant, Averaging], tuple[float, ...]] = {
    # HJ 633-2012 Table 1; µg/m³ except CO in mg/m³. A shorter row stops where the table
    # stops (SO2 1-hour at 800, O3 8-hour at 800: see the module docstring).
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}

HOURLY_COLUMNS: dict[Pollutant, Averaging] = {
    "pm25": "24h",
    "pm10": "24h",
    "so2": "24h",
    "no2": "24h",
    "co": "24h",
    "o3": "1h",
}
"""The Table 1 column cityos applies to each pollutant's hourly value (see module docstring)."""


@dataclass(frozen=True, slots=True)
class Category:
    """One of the six AQI categories (HJ 633-2012 Table 2, colours from Appendix A)."""

    level: int
    """1 to 6 (一级 … 六级)."""
    low: int
    high: int | None
    """Inclusive AQI range; None: no upper bound."""
    name_zh: str
    name: str
    code: str
    """camelCase English name, the value of `airQualityLevel`."""
    colour_zh: str
    colour: str
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)


CATEGORIES: tuple[Category, ...] = (
    Category(1, 0, 50, "优", "Excellent", "excellent", "绿色", "green", (0, 228, 0)),
    Category(2, 51, 100, "良", "Good", "good", "黄色", "yellow", (255, 255, 0)),
    Category(
        3, 101, 150, "轻度污染", "Lightly polluted", "lightlyPolluted", "橙色", "orange",
        (255, 126, 0),
    ),
    Category(
        4, 151, 200, "中度污染", "Moderately polluted", "moderatelyPolluted", "红色", "red",
        (255, 0, 0),
    ),
    Category(
        5, 201, 300, "重度污染", "Heavily polluted", "heavilyPolluted", "紫色", "purple",
        (153, 0, 76),
    ),
    Category(
        6, 301, None, "严重污染", "Severely polluted", "severelyPolluted", "褐红色", "maroon",
        (126, 0, 35),
    ),
)  # fmt: skip

PRIMARY_THRESHOLD = 50
"""A primary pollutant is named only when AQI > 50."""


@dataclass(frozen=True, slots=True)
class AqiResult:
    """An AQI with its parts; `aqi` None when no pollutant had a value."""

    aqi: int | None
    iaqi: dict[Pollutant, int]
    """The rounded IAQI of each pollutant that had a value."""
    primary: tuple[Pollutant, ...]
    category: Category | None


def ug_to_mg(value: float | None) -> float | None:
    """µg/m³ → mg/m³ (for CO, which Table 1 gives in mg/m³)."""
    return None if value is None else value / 1000.0


def _missing(value: float | None) -> bool:
    return value is None or math.isnan(value)


def iaqi(pollutant: Pollutant, concentration: float | None, averaging: Averaging) -> float | None:
    """The exact (unrounded) IAQI of one concentration, by Table 1's column
    (`pollutant`, `averaging`); None for a missing value, or where the standard says this
    column is not to be used (SO2 1-hour > 800, O3 8-hour > 800). Above the top breakpoint:
    500. A negative concentration is a data error and raises ValueError."""
    row = BREAKPOINTS.get((pollutant, averaging))
    if row is None:
        raise ValueError(f"HJ 633-2012 has no {averaging} breakpoints for {pollutant}")
    if concentration is None or _missing(concentration):
        return None
    if concentration < 0:
        raise ValueError(f"{pollutant} concentration {concentration} is negative")
    if concentration > row[-1]:
        if len(row) < len(IAQI_STEPS):
            return None  # SO2 1h / O3 8h above 800: the standard falls back on another column
        return float(IAQI_STEPS[-1])
    for index in range(1, len(row)):
        lo, hi = row[index - 1], row[index]
        if concentration <= hi:
            i_lo, i_hi = IAQI_STEPS[index - 1], IAQI_STEPS[index]
            return i_lo + (i_hi - i_lo) * (concentration - lo) / (hi - lo)
    raise AssertionError("unreachable: the last breakpoint was checked above")


def round_up(value: float) -> int:
    """HJ 633-2012's 进位取整: up to the next whole number, ignoring float noise such as
    75.00000000001 from the interpolation."""
    return math.ceil(round(value, 6))


def category(aqi: int) -> Category:
    """The category of an AQI value (a whole number, as published)."""
    for found in CATEGORIES:
        if found.high is None or aqi <= found.high:
            return found
    return CATEGORIES[-1]


def combine(iaqis: Mapping[Pollutant, float | None]) -> AqiResult:
    """AQI, primary pollutant(s) and category from per-pollutant IAQIs (None: missing)."""
    rounded: dict[Pollutant, int] = {
        p: round_up(v) for p, v in iaqis.items() if v is not None and not math.isnan(v)
    }
    if not rounded:
        return AqiResult(None, {}, (), None)
    top = max(rounded.values())
    primary = (
        tuple(p for p in POLLUTANTS if rounded.get(p) == top) if top > PRIMARY_THRESHOLD else ()
    )
    return AqiResult(top, rounded, primary, category(top))


def hourly_aqi(concentrations: Mapping[Pollutant, float | None]) -> AqiResult:
    """cityos's hourly AQI of one hour's concentrations (µg/m³, CO in mg/m³), with
    `HOURLY_COLUMNS`."""
    return combine({p: iaqi(p, concentrations.get(p), HOURLY_COLUMNS[p]) for p in POLLUTANTS})


def daily_aqi(
    averages: Mapping[Pollutant, float | None],
    o3_max_1h: float | None = None,
    o3_max_8h: float | None = None,
) -> AqiResult:
    """The daily AQI (日报): 24-hour averages of SO2, NO2, CO (mg/m³), PM10, PM2.5; O3 from
    its daily maximum 1-hour value and its daily maximum 8-hour moving average, the higher
    IAQI of the two (8-hour above 800 µg/m³: the 1-hour one alone, as the standard says).
    `averages["o3"]` is ignored: a 24-hour O3 average is not part of the index."""
    iaqis: dict[Pollutant, float | None] = {
        p: iaqi(p, averages.get(p), "24h") for p in POLLUTANTS if p != "o3"
    }
    o3 = [v for v in (iaqi("o3", o3_max_1h, "1h"), iaqi("o3", o3_max_8h, "8h")) if v is not None]
    iaqis["o3"] = max(o3) if o3 else None
    return combine(iaqis)


def so2_iaqi_1h(so2_1h: float | None, so2_24h: float | None) -> float | None:
    """SO2's real-time IAQI by the standard's rule: from the 1-hour value, unless that is
    above 800 µg/m³, then from the 24-hour average."""
    value = iaqi("so2", so2_1h, "1h")
    if value is None and not _missing(so2_1h):
        return iaqi("so2", so2_24h, "24h")
    return value
