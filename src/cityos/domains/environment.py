"""Environment pack: air quality (AQI by HJ 633-2012) and river levels (floods).

`PACK` is `EnvironmentPack`, which the simulator instantiates per run (``environment:`` in
a scenario file); every param is optional (defaults in `DEFAULTS`):

- ``stations``: air-quality stations, each ``{district, source: Dongsi|Tiantan, year}``.
  Each **replays real hourly data** from the UCI "Beijing Multi-Site Air-Quality Data"
  (Zhang, S., Guo, B., Dong, A., He, J., Xu, Z. and Chen, S.X., 2017, *Cautionary tales on
  air-quality improvement in Beijing*, Proc. R. Soc. A 473: 20170457; CC BY 4.0): at each
  simulated hour, the row of the same day and hour (China Standard Time, as the data are)
  of ``year`` (the nearest year that has the row when that one lacks it), in the month
  ``replay_months`` maps the simulated month to: one whose Beijing temperatures fit
  Chongqing's (``{}``: the same month). Each reading says which hour it replays
  (``replayedFrom``: "Beijing Dongsi 2015-03-08T10:00"). The station
  is **simulated**: it stands in a Chongqing district but measures Beijing's air, and its
  name, ``description`` and ``dataProvider`` say so. The files are read from ``ctx.data``
  (``beijing-aq-<source>-2013-2017.csv.gz``), never copied into the package.
- ``gauges``: river gauges, each ``{id, name, name_zh, river, lon, lat, base, seasonal,
  alert, danger}``. The defaults stand at real places on the Yangtze (长江) — Jiangjin,
  Cuntan, Chaotianmen — and the Jialing (嘉陵江) — Beibei, Ciqikou — with **approximate**
  coordinates. Levels are **simulated** (metres above an arbitrary gauge datum): a seasonal
  swell peaking in mid-July plus random rain events, more frequent in summer; ``alert`` and
  ``danger`` are **simulated thresholds**, not the real warning levels of those stations.
- ``storms``: rain events forced at a time, ``{after_hours, river, peak_ratio, rise_hours}``
  (each gauge of the river peaks at ``peak_ratio`` x its danger level ``rise_hours``, default
  6, after the storm, then recedes over about a day) so that a demo floods on cue.
- ``rain_events_per_day`` (per river, scaled x0.3 in winter to x2 in July),
  ``gauge_interval_s`` (60), ``timezone`` (Asia/Shanghai), ``good_days_window_days`` (365).

Entity types, both FIWARE Smart Data Models (dataModel.Environment):

- ``AirQualityObserved``: pm25, pm10, so2, no2, o3 in µg/m³ (unitCode GQ); **co in mg/m³**
  (GP), converted from the data's µg/m³ because HJ 633-2012 gives CO breakpoints in mg/m³;
  temperature (CEL), atmosphericPressure (hPa, A97), windSpeed (MTS), windDirection (degrees,
  DD, from the data's 16-point compass), precipitation (MMT), airQualityIndex,
  airQualityLevel (the HJ 633 category, camelCase English), reliability (share of the six
  pollutants present in the hour), dateObserved. Not in the model, named plainly:
  ``dewPoint`` (as in WeatherObserved), ``primaryPollutant``, ``district``.
- ``FloodMonitoring``: currentLevel (MTR), alertLevel, dangerLevel, referenceLevel,
  floodLevelStatus (Normal/Alert/Danger), stationID; plus ``river``, ``district``.

Rules: per gauge, currentLevel above its danger level for 10 minutes → a ``flood`` case
(high) and an Alert; a station's AQI above 200 (heavily polluted, HJ 633) → an Alert at once,
cleared (``validTo``) when it is back to 200 or under, and for 2 hours → an ``air-pollution``
case (high). KPIs: see `EnvironmentPack.kpis`.

Rates at the defaults: 6 stations x 1 reading per simulated hour, 5 gauges x 1 per
simulated minute: about 5 readings per simulated minute.
"""

from __future__ import annotations

import csv
import gzip
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cityos.context.broker import iso_time
from cityos.domains.aqi import POLLUTANTS, Pollutant, daily_aqi, hourly_aqi
from cityos.domains.base import CityView, Kpi, Reading, Setup, SimContext
from cityos.domains.common import (
    SIMULATOR,
    crossed,
    local_midnight,
    point,
    prop,
    random_point,
    slug,
)
from cityos.governance.districts import District

AQ_TYPE = "AirQualityObserved"
FLOOD_TYPE = "FloodMonitoring"

DATA_CITATION = (
    'UCI Machine Learning Repository, "Beijing Multi-Site Air-Quality Data" (Zhang, S., '
    "Guo, B., Dong, A., He, J., Xu, Z. and Chen, S.X., 2017, Proc. R. Soc. A 473: "
    "20170457), licence CC BY 4.0"
)

DEFAULTS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "stations": [
        {"district": "Yuzhong", "source": "Dongsi", "year": 2015},
        {"district": "Jiangbei", "source": "Tiantan", "year": 2015},
        {"district": "Shapingba", "source": "Dongsi", "year": 2014},
        {"district": "Jiulongpo", "source": "Tiantan", "year": 2014},
        {"district": "Nan'an", "source": "Dongsi", "year": 2016},
        {"district": "Yubei", "source": "Tiantan", "year": 2016},
    ],
    # Places are real; coordinates approximate; every level and threshold simulated.
    "gauges": [
        {"id": "jiangjin", "name": "Jiangjin", "name_zh": "江津", "river": "Yangtze",
         "lon": 106.26, "lat": 29.29, "base": 4.0, "seasonal": 4.0, "alert": 11.0,
         "danger": 13.0},
        {"id": "cuntan", "name": "Cuntan", "name_zh": "寸滩", "river": "Yangtze",
         "lon": 106.60, "lat": 29.615, "base": 5.0, "seasonal": 5.0, "alert": 13.0,
         "danger": 15.0},
        {"id": "chaotianmen", "name": "Chaotianmen", "name_zh": "朝天门", "river": "Yangtze",
         "lon": 106.585, "lat": 29.566, "base": 5.0, "seasonal": 5.0, "alert": 13.0,
         "danger": 15.0},
        {"id": "beibei", "name": "Beibei", "name_zh": "北碚", "river": "Jialing",
         "lon": 106.44, "lat": 29.83, "base": 3.0, "seasonal": 3.5, "alert": 9.0,
         "danger": 11.0},
        {"id": "ciqikou", "name": "Ciqikou", "name_zh": "磁器口", "river": "Jialing",
         "lon": 106.45, "lat": 29.58, "base": 3.0, "seasonal": 3.5, "alert": 9.0,
         "danger": 11.0},
    ],
    "storms": [{"after_hours": 0.5, "river": "Jialing", "peak_ratio": 1.08, "rise_hours": 6.0}],
    "rain_events_per_day": 0.4,
    "gauge_interval_s": 60,
    "good_days_window_days": 365,
    # Chongqing's month → the month of Beijing whose mean temperature is nearest (Beijing
    # data, Dongsi, 2013-2017, against Chongqing's climate normals): a December day in
    # Chongqing (about 9 °C) replays a March day in Beijing (8 °C), never its 0 °C winter.
    "replay_months": {1: 3, 2: 3, 3: 4, 4: 5, 5: 6, 6: 6, 7: 7, 8: 8, 9: 6, 10: 9, 11: 10,
                      12: 3},
}  # fmt: skip

RIVERS_ZH = {"Yangtze": "长江", "Jialing": "嘉陵江"}

COMPASS = {
    name: index * 22.5
    for index, name in enumerate(
        (
            "N",
            "NNE",
            "NE",
            "ENE",
            "E",
            "ESE",
            "SE",
            "SSE",
            "S",
            "SSW",
            "SW",
            "WSW",
            "W",
            "WNW",
            "NW",
            "NNW",
        )
    )
}
"""The data's 16-point wind direction → degrees clockwise from north."""

_COLUMNS = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "WSPM")

MIN_HOURS_24H = 20
"""GB 3095-2012's data validity rule: a 24-hour average needs at least 20 hourly values."""
MIN_HOURS_8H = 6
"""… and an 8-hour average at least 6."""


# -- the replayed data ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One hour of one Beijing station; None where the data say NA."""

    values: tuple[float | None, ...]
    """In the order of `_COLUMNS`."""
    wind_from: str | None

    def get(self, column: str) -> float | None:
        return self.values[_COLUMNS.index(column)]


def data_file(data: Path, source: str) -> Path:
    return data / f"beijing-aq-{source}-2013-2017.csv.gz"


@cache
def load_rows(path: Path) -> dict[tuple[int, int, int, int], Row]:
    """The hourly rows of one station file by (year, month, day, hour), read once."""
    if not path.is_file():
        raise FileNotFoundError(
            f"The environment pack replays {path.name}, expected at {path} (the data "
            "directory: shared/data in a checkout, or --data-dir). It is the UCI Beijing "
            "Multi-Site Air-Quality Data, CC BY 4.0."
        )
    rows: dict[tuple[int, int, int, int], Row] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
        for record in csv.DictReader(file):
            key = (int(record["year"]), int(record["month"]), int(record["day"]))
            values = tuple(_number(record[c]) for c in _COLUMNS)
            wind = record["wd"] if record["wd"] in COMPASS else None
            rows[(*key, int(record["hour"]))] = Row(values, wind)
    return rows


def _number(text: str) -> float | None:
    if text in ("", "NA"):
        return None
    value = float(text)
    return None if math.isnan(value) else value


def replay_row(
    rows: Mapping[tuple[int, int, int, int], Row], year: int, local: datetime
) -> Row | None:
    """The row of `year` at the month, day and hour of `local`; the nearest year that has
    that hour when `year` lacks it (the data run from March 2013 to February 2017, and
    29 February exists only in 2016)."""
    found = replay_at(rows, year, local)
    return None if found is None else found[0]


def replay_at(
    rows: Mapping[tuple[int, int, int, int], Row], year: int, local: datetime
) -> tuple[Row, str] | None:
    """`replay_row`, with the local hour of Beijing it comes from ("2015-03-08T10:00")."""
    for candidate in sorted(range(2013, 2018), key=lambda y: (abs(y - year), y)):
        row = rows.get((candidate, local.month, local.day, local.hour))
        if row is not None:
            return row, f"{candidate:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:00"
    return None


def replay_moment(local: datetime, months: Mapping[int, int]) -> datetime:
    """The hour of Beijing's year replayed at `local`: the same day and hour of the month
    `months` maps `local`'s month to (a month of Beijing whose temperatures fit the
    simulated city's), the day kept inside that month; unmapped months replay themselves."""
    month = int(months.get(local.month, local.month))
    days = (datetime(2001 + month // 12, month % 12 + 1, 1) - datetime(2001, month, 1)).days
    return local.replace(month=month, day=min(local.day, days))


def station_payload(row: Row, moment: datetime) -> dict[str, Any]:
    """A station's measure message for one replayed hour (missing values left out)."""
    co = row.get("CO")
    concentrations: dict[Pollutant, float | None] = {
        "pm25": row.get("PM2.5"),
        "pm10": row.get("PM10"),
        "so2": row.get("SO2"),
        "no2": row.get("NO2"),
        "co": None if co is None else round(co / 1000.0, 3),
        "o3": row.get("O3"),
    }
    payload: dict[str, Any] = {p: v for p, v in concentrations.items() if v is not None}
    weather = {
        "temperature": row.get("TEMP"),
        "atmosphericPressure": row.get("PRES"),
        "dewPoint": row.get("DEWP"),
        "precipitation": row.get("RAIN"),
        "windSpeed": row.get("WSPM"),
        "windDirection": COMPASS.get(row.wind_from) if row.wind_from else None,
    }
    payload.update({k: v for k, v in weather.items() if v is not None})
    result = hourly_aqi(concentrations)
    if result.aqi is not None and result.category is not None:
        payload["airQualityIndex"] = result.aqi
        payload["airQualityLevel"] = result.category.code
        payload["primaryPollutant"] = list(result.primary)
    payload["reliability"] = round(len(result.iaqi) / len(POLLUTANTS), 3)
    payload["dateObserved"] = iso_time(moment.timestamp())
    payload["TimeInstant"] = iso_time(moment.timestamp())
    return payload


# -- the rivers ----------------------------------------------------------------------------


@dataclass(slots=True)
class Pulse:
    """The rise a rain event causes at one gauge: linear up to `rise` metres over
    `rise_h` hours, then an exponential recession with time constant `recession_h`."""

    start: datetime
    rise: float
    rise_h: float
    recession_h: float

    def at(self, now: datetime) -> float:
        hours = (now - self.start).total_seconds() / 3600
        if hours <= 0:
            return 0.0
        if hours < self.rise_h:
            return self.rise * hours / self.rise_h
        return self.rise * math.exp(-(hours - self.rise_h) / self.recession_h)

    def over(self, now: datetime) -> bool:
        """Receded below a centimetre: the pulse can be forgotten."""
        hours = (now - self.start).total_seconds() / 3600
        return hours > self.rise_h and self.at(now) < 0.01


@dataclass(slots=True)
class Gauge:
    id: str
    river: str
    base: float
    seasonal: float
    alert: float
    danger: float
    scale: float
    """How strongly this gauge feels its river's rain events (0.8-1.2, drawn at setup)."""
    pulses: list[Pulse] = field(default_factory=list)
    last: datetime | None = None

    def level(self, now: datetime, noise: float = 0.0) -> float:
        """Simulated level (m above the gauge datum): seasonal swell, events, noise."""
        value = self.base + self.seasonal * season(now) + noise
        return max(0.0, value + sum(p.at(now) for p in self.pulses))

    def status(self, level: float) -> str:
        return "Danger" if level > self.danger else "Alert" if level > self.alert else "Normal"


def season(now: datetime) -> float:
    """0 in mid-January to 1 in mid-July: the summer flood season of the upper Yangtze."""
    day = now.timetuple().tm_yday
    return 0.5 + 0.5 * math.cos(2 * math.pi * (day - 196) / 365.25)


# -- the pack ------------------------------------------------------------------------------


@dataclass(slots=True)
class Station:
    id: str
    device: str
    name: str
    source: str
    year: int
    rows: Mapping[tuple[int, int, int, int], Row]
    last: datetime | None = None


@dataclass(slots=True)
class Storm:
    at: datetime
    river: str
    peak_ratio: float
    rise_hours: float = 6.0
    done: bool = False


class EnvironmentPack:
    """Air-quality stations replaying real data, and simulated river gauges."""

    name = "environment"
    entity_types = (AQ_TYPE, FLOOD_TYPE)
    case_categories = ("flood", "air-pollution")

    def __init__(self) -> None:
        self.params: dict[str, Any] = dict(DEFAULTS)
        self.tz = ZoneInfo(DEFAULTS["timezone"])
        self.rng = random.Random(0)
        self.stations: list[Station] = []
        self.gauges: list[Gauge] = []
        self.storms: list[Storm] = []
        self.gauge_every = timedelta(seconds=60)
        self.previous: datetime | None = None

    # setup ------------------------------------------------------------------------------

    def setup(self, ctx: SimContext) -> Setup:
        self.params = {**DEFAULTS, **ctx.params}
        self.tz = ZoneInfo(self.params["timezone"])
        self.rng = ctx.rng
        self.gauge_every = timedelta(seconds=float(self.params["gauge_interval_s"]))
        out = Setup()
        for spec in self.params["stations"]:
            self._add_station(ctx, spec, out)
        for spec in self.params["gauges"]:
            self._add_gauge(ctx, spec, out)
        self.storms = [
            Storm(
                ctx.start + timedelta(hours=float(s["after_hours"])),
                str(s["river"]),
                float(s["peak_ratio"]),
                float(s.get("rise_hours", 6.0)),
            )
            for s in self.params["storms"]
        ]
        out.rules = self.rules()
        return out

    def _add_station(self, ctx: SimContext, spec: Mapping[str, Any], out: Setup) -> None:
        district = _district(ctx, str(spec["district"]))
        source, year = str(spec["source"]), int(spec["year"])
        key = f"cq-{slug(district.name)}-{slug(source)}"
        entity_id = f"urn:ngsi-ld:{AQ_TYPE}:{key}"
        name = f"{district.name} (simulated, replaying Beijing {source})"
        lon, lat = random_point(ctx.rng, district)
        out.entities.append(
            {
                "id": entity_id,
                "type": AQ_TYPE,
                "name": prop(name),
                "description": prop(
                    f"Simulated air-quality station placed in {district.name} district "
                    f"({district.name_zh or district.name}). It measures nothing in "
                    f"Chongqing: it replays the hourly data of the {source} station in "
                    f"Beijing for {year}, time-shifted to the simulated date. Data: "
                    f"{DATA_CITATION}."
                ),
                "dataProvider": prop(SIMULATOR),
                "source": prop(DATA_CITATION),
                "typeOfLocation": prop("outdoor"),
                "district": prop(district.name),
                "location": point(lon, lat),
            }
        )
        device = f"env-aq-{key}"
        out.devices.append(
            {
                "device_id": device,
                "apikey": ctx.apikey,
                "entity_name": entity_id,
                "entity_type": AQ_TYPE,
                "timestamp": True,
                "attributes": [
                    {"object_id": n, "name": n, "type": t, **({"unitCode": u} if u else {})}
                    for n, t, u in _AQ_ATTRIBUTES
                ],
                "static_attributes": [],
            }
        )
        rows = load_rows(data_file(ctx.data, source))
        self.stations.append(Station(entity_id, device, name, source, year, rows))

    def _add_gauge(self, ctx: SimContext, spec: Mapping[str, Any], out: Setup) -> None:
        lon, lat = float(spec["lon"]), float(spec["lat"])
        district = ctx.districts.locate(lon, lat)
        station = slug(str(spec["id"]))
        entity_id = f"urn:ngsi-ld:{FLOOD_TYPE}:cq-{station}"
        river = str(spec["river"])
        place = f"{spec['name']} ({spec.get('name_zh', '')})".replace(" ()", "")
        entity: dict[str, Any] = {
            "id": entity_id,
            "type": FLOOD_TYPE,
            "name": prop(f"{spec['name']} river gauge (simulated)"),
            "description": prop(
                f"Simulated river gauge at {place} on the {river} "
                f"({RIVERS_ZH.get(river, river)}). Coordinates approximate; the level "
                "(metres above an arbitrary gauge datum) and the alert and danger levels "
                "are simulated, not the real station's data or warning levels."
            ),
            "stationID": prop(station),
            "river": prop(river),
            "dataProvider": prop(SIMULATOR),
            "referenceLevel": prop(0.0, "MTR"),
            "alertLevel": prop(float(spec["alert"]), "MTR"),
            "dangerLevel": prop(float(spec["danger"]), "MTR"),
            "thresholdSource": prop("simulated thresholds"),
            "location": point(lon, lat),
        }
        if district is not None:
            entity["district"] = prop(district.name)
        out.entities.append(entity)
        out.devices.append(
            {
                "device_id": f"env-gauge-{station}",
                "apikey": ctx.apikey,
                "entity_name": entity_id,
                "entity_type": FLOOD_TYPE,
                "timestamp": True,
                "attributes": [
                    {"object_id": "l", "name": "currentLevel", "type": "Number", "unitCode": "MTR"},
                    {"object_id": "s", "name": "floodLevelStatus", "type": "Text"},
                ],
                "static_attributes": [],
            }
        )
        self.gauges.append(
            Gauge(
                station,
                river,
                float(spec["base"]),
                float(spec["seasonal"]),
                float(spec["alert"]),
                float(spec["danger"]),
                ctx.rng.uniform(0.8, 1.2),
            )
        )

    def rules(self) -> str:
        """The pack's rules (docs/rules.md): one flood rule per gauge, since each gauge has
        its own danger level and a rule's q compares with constants; one AQI rule."""
        lines = ["rules:"]
        for gauge in self.gauges:
            lines += [
                f"  - id: env-river-flood-{gauge.id}",
                f"    description: River at {gauge.id} over its danger level (simulated "
                "threshold) for ten minutes",
                f"    type: {FLOOD_TYPE}",
                "    when:",
                f"      q: 'currentLevel>{gauge.danger};stationID==\"{gauge.id}\"'",
                "      for: 10m",
                "    cooldown: 6h",
                "    then:",
                "      - case: {category: flood, priority: high, description: "
                f"'{{id}}: the {gauge.river} at {{value}} m, over the danger level "
                f"{gauge.danger} m for 10 minutes'}}",
                "      - notify: {severity: high, category: naturalDisaster, subCategory: flood}",
            ]
        lines += [
            "  - id: env-aqi-heavy",
            "    description: AQI above 200 (heavily polluted, HJ 633-2012) for two hours",
            f"    type: {AQ_TYPE}",
            "    when:",
            "      q: airQualityIndex>200",
            "      for: 2h",
            "    cooldown: 12h",
            "    then:",
            "      - case: {category: air-pollution, priority: high, description: "
            "'{id}: AQI {value} for 2 hours (heavily polluted or worse)'}",
            # The alert comes at once and clears (validTo) when the AQI is back to 200 or
            # under: the operations centre sees heavy pollution while it lasts.
            "  - id: env-aqi-heavy-now",
            "    description: AQI above 200 (heavily polluted, HJ 633-2012) now",
            f"    type: {AQ_TYPE}",
            "    when:",
            "      q: airQualityIndex>200",
            "      for: 0",
            "    cooldown: 0",
            "    then:",
            "      - notify: {severity: high, category: environment, subCategory: airPollution, "
            "description: '{id}: AQI {value}, heavily polluted (HJ 633: above 200)'}",
        ]
        return "\n".join(lines) + "\n"

    # step -------------------------------------------------------------------------------

    def step(self, now: datetime, dt: timedelta) -> list[Reading]:
        readings: list[Reading] = []
        hour = timedelta(hours=1)
        for station in self.stations:
            if crossed(station.last, now, hour):
                moment = datetime.fromtimestamp(now.timestamp() // 3600 * 3600, UTC)
                local = replay_moment(moment.astimezone(self.tz), self.params["replay_months"])
                found = replay_at(station.rows, station.year, local)
                if found is not None:
                    payload = station_payload(found[0], moment)
                    payload["replayedFrom"] = f"Beijing {station.source} {found[1]}"
                    readings.append(Reading(station.device, payload))
            station.last = now
        self._weather(now, dt)
        for gauge in self.gauges:
            if crossed(gauge.last, now, self.gauge_every):
                level = round(gauge.level(now, self.rng.gauss(0.0, 0.02)), 3)
                stamp = iso_time(now.timestamp())
                payload = {"l": level, "s": gauge.status(level), "TimeInstant": stamp}
                readings.append(Reading(f"env-gauge-{gauge.id}", payload))
            gauge.last = now
        self.previous = now
        return readings

    def _weather(self, now: datetime, dt: timedelta) -> None:
        """Start the rain events due in this tick: forced storms, then random ones."""
        for storm in self.storms:
            if not storm.done and now >= storm.at:
                storm.done = True
                for gauge in self._on(storm.river):
                    rise = storm.peak_ratio * gauge.danger - gauge.level(now)
                    if rise > 0:
                        gauge.pulses.append(Pulse(now, rise, storm.rise_hours, 24.0))
        rate = float(self.params["rain_events_per_day"]) * (0.3 + 1.7 * season(now))
        chance = rate * dt.total_seconds() / 86400
        for river in sorted({g.river for g in self.gauges}):
            if self.rng.random() < chance:
                rise = min(10.0, self.rng.expovariate(1 / 2.5))
                rise_h, recession_h = self.rng.uniform(6, 18), self.rng.uniform(12, 48)
                for gauge in self._on(river):
                    gauge.pulses.append(Pulse(now, rise * gauge.scale, rise_h, recession_h))
        for gauge in self.gauges:
            gauge.pulses = [p for p in gauge.pulses if not p.over(now)]

    def _on(self, river: str) -> list[Gauge]:
        return [g for g in self.gauges if g.river.casefold() == river.casefold()]

    # kpis -------------------------------------------------------------------------------

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        """- ``aqi-current``: the worst current AQI of the stations (each station's latest
          airQualityIndex, per station in the breakdown).
        - ``aqi-good-days``: the share of station-days with a daily AQI ≤ 100 (优 or 良)
          over the last ``good_days_window_days`` local days. Each day's AQI is HJ 633's
          daily report computed from the history's daily aggregates (24-hour averages of
          SO2, NO2, CO, PM10, PM2.5; O3's daily maximum 1-hour value, and its daily maximum
          8-hour moving average from hourly aggregates); a pollutant counts on a day only
          with the GB 3095-2012 minimum of 20 hourly values (8-hour windows: 6).
        - ``river-level-ratio``: the highest currentLevel / dangerLevel of the gauges (> 1:
          over the danger level)."""
        return [self._current_aqi(city), self._good_days(city, now), self._river(city)]

    def _current_aqi(self, city: CityView) -> Kpi:
        stations = city.entities(AQ_TYPE)
        breakdown = {_label(e): _float(e.get("airQualityIndex")) for e in stations}
        values = [v for v in breakdown.values() if v is not None]
        return Kpi(
            "aqi-current",
            "Worst current AQI",
            max(values) if values else None,
            "AQI",
            "The highest current air quality index (HJ 633-2012) of the city's stations.",
            breakdown,
        )

    def _good_days(self, city: CityView, now: datetime) -> Kpi:
        days = daily_results(city, now, self.tz, int(self.params["good_days_window_days"]))
        names = {e["id"]: _label(e) for e in city.entities(AQ_TYPE)}
        breakdown: dict[str, float | None] = {}
        good = total = 0
        for entity_id, per_day in sorted(days.items()):
            known = [aqi for aqi in per_day.values() if aqi is not None]
            if not known:
                continue
            station_good = sum(1 for aqi in known if aqi <= 100)
            good, total = good + station_good, total + len(known)
            breakdown[names.get(entity_id, entity_id)] = round(100 * station_good / len(known), 1)
        return Kpi(
            "aqi-good-days",
            "Good air days",
            round(100 * good / total, 1) if total else None,
            "%",
            "Share of station-days with a daily AQI of 100 or less (excellent or good, "
            "HJ 633-2012), from the history's daily aggregates.",
            breakdown,
        )

    def _river(self, city: CityView) -> Kpi:
        breakdown: dict[str, float | None] = {}
        for gauge in city.entities(FLOOD_TYPE):
            level, danger = _float(gauge.get("currentLevel")), _float(gauge.get("dangerLevel"))
            ratio = level / danger if level is not None and danger else None
            breakdown[_label(gauge)] = None if ratio is None else round(ratio, 3)
        values = [v for v in breakdown.values() if v is not None]
        return Kpi(
            "river-level-ratio",
            "River level vs danger level",
            max(values) if values else None,
            "ratio",
            "The highest ratio of a gauge's current level to its danger level (simulated "
            "thresholds); above 1 the river is over it.",
            breakdown,
        )


PACK = EnvironmentPack


_AQ_ATTRIBUTES: tuple[tuple[str, str, str | None], ...] = (
    ("pm25", "Number", "GQ"),
    ("pm10", "Number", "GQ"),
    ("so2", "Number", "GQ"),
    ("no2", "Number", "GQ"),
    ("co", "Number", "GP"),
    ("o3", "Number", "GQ"),
    ("temperature", "Number", "CEL"),
    ("atmosphericPressure", "Number", "A97"),
    ("dewPoint", "Number", "CEL"),
    ("precipitation", "Number", "MMT"),
    ("windSpeed", "Number", "MTS"),
    ("windDirection", "Number", "DD"),
    ("airQualityIndex", "Number", None),
    ("airQualityLevel", "Text", None),
    ("primaryPollutant", "Property", None),
    ("replayedFrom", "Text", None),
    ("reliability", "Number", None),
    ("dateObserved", "Text", None),
)
"""(name, IoT Agent type, UN/CEFACT unit): µg/m³ GQ, mg/m³ GP, hPa A97, m/s MTS, mm MMT."""


def daily_results(
    city: CityView, now: datetime, tz: ZoneInfo, window_days: int
) -> dict[str, dict[datetime, int | None]]:
    """Per station and local day (start, UTC): the daily AQI by HJ 633-2012, from the
    history store's daily (and, for O3's 8-hour averages, hourly) aggregates."""
    since = local_midnight(now, tz) - timedelta(days=window_days - 1)
    day = timedelta(days=1)

    def daily(attr: str, method: str) -> dict[str, dict[datetime, float | None]]:
        found = city.aggregate(AQ_TYPE, attr, method, since, now, day)
        return {eid: dict(points) for eid, points in found.items()}

    averages = {p: daily(p, "avg") for p in POLLUTANTS if p != "o3"}
    counts = {p: daily(p, "totalCount") for p in POLLUTANTS}
    o3_max = daily("o3", "max")
    o3_hourly = city.aggregate(AQ_TYPE, "o3", "avg", since, now, timedelta(hours=1))
    o3_8h = {eid: max_8h_by_day(points, tz) for eid, points in o3_hourly.items()}
    stations = set().union(*(c.keys() for c in counts.values()))
    out: dict[str, dict[datetime, int | None]] = {}
    for eid in stations:
        days = sorted({d for c in counts.values() for d in c.get(eid, {})})
        out[eid] = {}
        for start in days:

            def valid(p: Pollutant, start: datetime = start, eid: str = eid) -> bool:
                return (counts[p].get(eid, {}).get(start) or 0) >= MIN_HOURS_24H

            day_averages: dict[Pollutant, float | None] = {
                p: averages[p].get(eid, {}).get(start) if valid(p) else None
                for p in POLLUTANTS
                if p != "o3"
            }
            o3_1h = o3_max.get(eid, {}).get(start) if valid("o3") else None
            result = daily_aqi(day_averages, o3_1h, o3_8h.get(eid, {}).get(start))
            out[eid][start] = result.aqi
    return out


def max_8h_by_day(
    hourly: list[tuple[datetime, float | None]], tz: ZoneInfo
) -> dict[datetime, float | None]:
    """The daily maximum of O3's 8-hour moving averages, keyed by the local day's start
    (UTC): windows wholly inside the local day (00-07 … 16-23), each with ≥ 6 hours."""
    by_hour = {moment: value for moment, value in hourly if value is not None}
    out: dict[datetime, float | None] = {}
    for day in sorted({local_midnight(m, tz) for m in by_hour}):
        best: float | None = None
        for end in range(7, 24):
            values = [
                by_hour[h]
                for k in range(end - 7, end + 1)
                if (h := (day + timedelta(hours=k)).astimezone(UTC)) in by_hour
            ]
            if len(values) >= MIN_HOURS_8H:
                mean = sum(values) / len(values)
                best = mean if best is None or mean > best else best
        out[day.astimezone(UTC)] = best
    return out


def _district(ctx: SimContext, name: str) -> District:
    found = ctx.districts.find(name)
    if found is None:
        raise ValueError(f"environment: no district {name!r} in this city")
    return found


def _label(entity: Mapping[str, Any]) -> str:
    name = entity.get("name")
    return name if isinstance(name, str) else str(entity["id"])


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
