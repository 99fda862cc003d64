"""Rural revitalization pack (乡村振兴): villages, farm plots and their soil, produce traced
from farm to market.

`PACK` is `RuralPack` (``rural:`` in a scenario file); every param is optional (defaults in
`DEFAULTS`):

- ``districts``: where the villages are; None (the default) means every county of the city
  (``kind == "county"``) plus ``outer_districts``. ``villages_per_district`` (1),
  ``farms_per_village`` (2), ``parcels_per_farm`` (2).
- ``sensor_interval_s`` (900): how often each plot's soil probe and each village's weather
  station report (every 15 simulated minutes).
- ``moisture_threshold`` (0.18): the volumetric water content under which the irrigation
  rule counts a plot as dry; ``initial_moisture`` ([0.16, 0.32]): the range plots start in.
- ``batches_per_day`` (6), ``batch_days`` (30): produce batches harvested per day, and for
  how many days from the start their trace tags are provisioned (a batch is an entity
  created by its tag's first scan, and devices are provisioned at setup only, so the
  harvest calendar is drawn up front). ``backfill_days`` (7): batches harvested and village
  days reported before the start, published at the first tick with their past times, so
  that KPIs have a history from the first minute. ``direct_sale_share`` (0.1): batches sold
  at the farm gate straight to a market, bypassing any cooperative (not traceable end to
  end).
- ``markets``: the districts of the wholesale markets (Jiulongpo, Yubei, Nan'an).
- ``products``: the product of the villages of a district ({Fengjie: navel-orange,
  Jiangjin: prickly-ash}, the specialities these two are known for: 奉节脐橙, 江津花椒);
  villages elsewhere alternate between tea and kiwifruit, as labels only.
- ``timezone`` (Asia/Shanghai).

**Everything is simulated** and labelled so (``dataProvider`` "cityos simulator", "simulated"
in names and descriptions): village, farm and cooperative names are invented, volumes,
orders, visitors and broadband figures are made up, harvest timing is not a crop calendar,
and the weather is a smooth seasonal and daily cycle with random rain, not station data.

Entity types:

- ``AgriFarm``, ``AgriParcel`` (a small rectangle; area, category orchard,
  cropStatus, irrigationSystemType, belongsTo → farm, hasAgriCrop), ``AgriCrop`` (one per
  product), ``AgriParcelRecord`` (the plot's probe: hasAgriParcel, soilMoistureVwc as a
  0-1 fraction, soilTemperature): FIWARE Smart Data Models dataModel.Agrifood.
- ``WeatherObserved`` (temperature, relativeHumidity 0-1, precipitation in mm since the
  last report, dateObserved): dataModel.Weather.
- ``Village``, ``Cooperative``, ``Market``, ``ProduceBatch``: no Smart Data Model fits
  (dataModel.Agrifood has no traceability or batch model; AgriProductType describes kinds
  of products, not lots), so they are named plainly. A village carries daily indicators:
  broadbandCoverage (%), ecommerceOrders and visitors (per day, dateObserved the day). A
  batch: product, quantity (kg), harvestDate, stage (harvested → atCooperative →
  atMarket → sold), location (moving with the stage), refFarm, refParcel, refVillage,
  refCooperative, refMarket.

Every entity placed in a district carries ``district`` (its name), which the KPIs break
down by; like ``refVillage``, it is outside the Smart Data Models and named plainly.

Rule ``rural-irrigation``: soilMoistureVwc below the threshold for an hour → an
``irrigation-alert`` case (normal) and an Alert; when the plot is wet again (rain, or the
farmer irrigating some hours after the alert), the episode clears: the Alert gets its
validTo and the rule re-arms. KPIs: see `RuralPack.kpis`.

Rates at the defaults: 18 villages, 72 plots: 90 readings per 15 simulated minutes
(6 a minute), a few batch scans an hour, 18 village reports a day.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cityos.context.broker import iso_time
from cityos.domains.base import CityView, Kpi, Reading, Setup, SimContext
from cityos.domains.common import (
    SIMULATOR,
    crossed,
    district_named,
    invented_names,
    iot_device,
    local_midnight,
    mean_by,
    point,
    prop,
    random_point,
    random_point_near,
    rel,
    slug,
)
from cityos.governance.districts import District

VILLAGE = "Village"
FARM = "AgriFarm"
PARCEL = "AgriParcel"
CROP = "AgriCrop"
RECORD = "AgriParcelRecord"
WEATHER = "WeatherObserved"
COOPERATIVE = "Cooperative"
MARKET = "Market"
BATCH = "ProduceBatch"
ALERT = "Alert"
IRRIGATION_RULE = "rural-irrigation"

STAGES = ("harvested", "atCooperative", "atMarket", "sold")
ARRIVED = frozenset({"atMarket", "sold"})
"""Stages of a batch that has reached the end of the chain."""

DEFAULTS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "districts": None,
    "outer_districts": ["Jiangjin", "Yongchuan", "Wulong", "Nanchuan", "Kaizhou", "Wanzhou"],
    "villages_per_district": 1,
    "farms_per_village": 2,
    "parcels_per_farm": 2,
    "sensor_interval_s": 900,
    "moisture_threshold": 0.18,
    "initial_moisture": [0.16, 0.32],
    "batches_per_day": 6,
    "batch_days": 30,
    "backfill_days": 7,
    "direct_sale_share": 0.1,
    "markets": ["Jiulongpo", "Yubei", "Nan'an"],
    "products": {"Fengjie": "navel-orange", "Jiangjin": "prickly-ash"},
}

PRODUCTS: dict[str, tuple[str, str, tuple[float, float]]] = {
    "navel-orange": ("Navel orange", "脐橙", (800.0, 3000.0)),
    "prickly-ash": ("Chinese prickly ash", "花椒", (100.0, 600.0)),
    "tea": ("Tea", "茶叶", (50.0, 300.0)),
    "kiwifruit": ("Kiwifruit", "猕猴桃", (500.0, 2000.0)),
}
"""Product code → (name, Chinese name, simulated batch size range in kg)."""
OTHER_PRODUCTS = ("tea", "kiwifruit")

VILLAGE_NAMES = (
    ("Qingshan", "青山"),
    ("Baiyun", "白云"),
    ("Taoyuan", "桃源"),
    ("Longtan", "龙潭"),
    ("Shuangxi", "双溪"),
    ("Huangjue", "黄桷"),
    ("Shiban", "石板"),
    ("Zhuyuan", "竹园"),
    ("Yuquan", "玉泉"),
    ("Songlin", "松林"),
    ("Dawan", "大湾"),
    ("Xinglong", "兴隆"),
    ("Fenghuang", "凤凰"),
    ("Jinping", "金坪"),
    ("Liujia", "刘家"),
    ("Heping", "和平"),
)
"""Common village names: the villages are invented, and labelled simulated."""

IRRIGATION_TYPES = ("Drip irrigation", "Sprinkler irrigation", "Surface irrigation")

# Soil water (volumetric fractions) of a loamy root zone; simulated, textbook-order values.
ROOT_ZONE_MM = 300.0
"""1 mm of water in the root zone raises its VWC by 1/300."""
FIELD_CAPACITY = 0.36
SATURATION = 0.45
WILTING_POINT = 0.10
DRAINAGE_H = 12.0
"""Time constant of drainage above field capacity."""
REWET_MARGIN = 0.02
"""A dry plot counts as watered again this far above the threshold (hysteresis)."""


def season(now: datetime) -> float:
    """0 in mid-January to 1 in mid-July: warmth and rain of the simulated climate."""
    day = now.timetuple().tm_yday
    return 0.5 + 0.5 * math.cos(2 * math.pi * (day - 196) / 365.25)


def local_hour(local: datetime) -> float:
    return local.hour + local.minute / 60 + local.second / 3600


def air_temperature(local: datetime, offset: float, raining: bool) -> float:
    """Simulated air temperature (°C): a seasonal mean from about 7 °C in January to about
    28 °C in July (shifted by the village's altitude offset), a daily swing peaking at
    15:00, damped under rain."""
    mean = 7.5 + 20.5 * season(local) + offset
    swing = 1.5 if raining else 4.5
    return mean + swing * math.cos(2 * math.pi * (local_hour(local) - 15) / 24)


def potential_et(local: datetime, temperature: float) -> float:
    """Simulated evapotranspiration demand (mm/h): daylight x warmth, about 6 mm a day in
    summer and 1 in winter, a trickle at night."""
    hour = local_hour(local)
    daylight = math.sin(math.pi * (hour - 6) / 12) if 6 < hour < 18 else 0.0
    return 0.02 + 0.6 * daylight * max(0.0, temperature - 5) / 20


# -- simulation state -----------------------------------------------------------------------


@dataclass(slots=True)
class VillageSim:
    id: str
    name: str
    device: str
    weather_device: str
    district: str
    offset: float
    """°C below the lowland climate (altitude), drawn at setup."""
    orders_base: float
    visitors_base: float
    broadband: float
    lon: float
    lat: float
    rain_until: datetime | None = None
    rain_rate: float = 0.0
    """mm/h while it rains."""
    rain_since_report: float = 0.0
    reported_day: datetime | None = None
    """Local midnight of the last day whose indicators were published."""
    last: datetime | None = None

    def raining(self, now: datetime) -> bool:
        return self.rain_until is not None and now < self.rain_until


@dataclass(slots=True)
class PlotSim:
    parcel: str
    record: str
    device: str
    village: int
    moisture: float
    soil_factor: float
    """How fast the plot dries (slope, soil): 0.8-1.6."""
    dry_since: datetime | None = None
    irrigate_at: datetime | None = None
    irrigating_until: datetime | None = None
    irrigation_rate: float = 0.0
    last: datetime | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    """One stage of a batch: when its trace tag is scanned, and what it reports."""

    at: datetime
    device: str
    payload: dict[str, Any]


@dataclass(slots=True)
class Calendar:
    """Every planned batch scan, in time order; `next` is the first not yet published."""

    scans: list[Scan] = field(default_factory=list)
    next: int = 0

    def due(self, now: datetime) -> list[Scan]:
        start = self.next
        while self.next < len(self.scans) and self.scans[self.next].at <= now:
            self.next += 1
        return self.scans[start : self.next]


# -- the pack -------------------------------------------------------------------------------


class RuralPack:
    """Villages in the counties, farm plots with soil probes, produce traced to market."""

    name = "rural"
    entity_types = (VILLAGE, FARM, PARCEL, CROP, RECORD, WEATHER, COOPERATIVE, MARKET, BATCH)
    case_categories = ("irrigation-alert",)

    def __init__(self) -> None:
        self.params: dict[str, Any] = dict(DEFAULTS)
        self.tz = ZoneInfo(DEFAULTS["timezone"])
        self.rng = random.Random(0)
        self.villages: list[VillageSim] = []
        self.plots: list[PlotSim] = []
        self.calendar = Calendar()
        self.interval = timedelta(seconds=900)
        self.threshold = 0.18
        self.start = datetime(2000, 1, 1, tzinfo=UTC)
        self.previous: datetime | None = None

    # setup ------------------------------------------------------------------------------

    def setup(self, ctx: SimContext) -> Setup:
        self.params = {**DEFAULTS, **ctx.params}
        self.tz = ZoneInfo(self.params["timezone"])
        self.rng = ctx.rng
        self.start = ctx.start
        self.interval = timedelta(seconds=float(self.params["sensor_interval_s"]))
        self.threshold = float(self.params["moisture_threshold"])
        self.villages, self.plots, self.previous = [], [], None  # a new run
        out = Setup()
        crops = self._crops(out)
        markets = self._markets(ctx, out)
        farms: list[tuple[int, str, list[tuple[str, float, float]]]] = []
        """(village index, farm id, [(parcel id, lon, lat)])"""
        coops: list[tuple[str, float, float]] = []
        products: list[str] = []
        names = iter(invented_names(ctx.rng, VILLAGE_NAMES))
        others = 0
        for district in self._districts(ctx):
            product = self.params["products"].get(district.name)
            for _ in range(int(self.params["villages_per_district"])):
                if product is None:
                    chosen = OTHER_PRODUCTS[others % len(OTHER_PRODUCTS)]
                    others += 1
                else:
                    chosen = str(product)
                index = len(self.villages)
                coops.append(self._village(ctx, district, next(names), chosen, out))
                products.append(chosen)
                for number_ in range(1, int(self.params["farms_per_village"]) + 1):
                    farms.append(self._farm(ctx, district, index, number_, crops[chosen], out))
        self._plan_batches(ctx, out, farms, coops, markets, products)
        out.rules = self.rules()
        return out

    def _districts(self, ctx: SimContext) -> list[District]:
        chosen = self.params["districts"]
        if chosen is None:
            counties = [d for d in ctx.districts if d.kind == "county"]
            outer = [
                district_named(ctx.districts, n, self.name) for n in self.params["outer_districts"]
            ]
            return counties + [d for d in outer if d not in counties]
        return [district_named(ctx.districts, str(n), self.name) for n in chosen]

    def _crops(self, out: Setup) -> dict[str, str]:
        ids = {}
        for code, (name, name_zh, _) in PRODUCTS.items():
            ids[code] = f"urn:ngsi-ld:{CROP}:{code}"
            out.entities.append(
                {
                    "id": ids[code],
                    "type": CROP,
                    "name": prop(name),
                    "alternateName": prop(name_zh),
                    "description": prop(f"{name} ({name_zh}), a crop of the simulated farms."),
                    "dataProvider": prop(SIMULATOR),
                }
            )
        return ids

    def _markets(self, ctx: SimContext, out: Setup) -> list[tuple[str, float, float]]:
        markets = []
        for name in self.params["markets"]:
            district = district_named(ctx.districts, str(name), self.name)
            lon, lat = random_point(ctx.rng, district)
            entity_id = f"urn:ngsi-ld:{MARKET}:cq-{slug(district.name)}"
            out.entities.append(
                {
                    "id": entity_id,
                    "type": MARKET,
                    "name": prop(f"{district.name} produce wholesale market (simulated)"),
                    "description": prop(
                        f"Simulated wholesale market for farm produce in {district.name}; "
                        "not a real market, its place is drawn at random in the district."
                    ),
                    "district": prop(district.name),
                    "dataProvider": prop(SIMULATOR),
                    "location": point(lon, lat),
                }
            )
            markets.append((entity_id, lon, lat))
        return markets

    def _village(
        self,
        ctx: SimContext,
        district: District,
        names: tuple[str, str],
        product: str,
        out: Setup,
    ) -> tuple[str, float, float]:
        """The village, its weather station and its cooperative; the cooperative's place."""
        rng = ctx.rng
        key = f"cq-{slug(district.name)}-{slug(names[0])}"
        entity_id = f"urn:ngsi-ld:{VILLAGE}:{key}"
        lon, lat = random_point(rng, district)
        name = f"{names[0]} Village (simulated)"
        product_name = PRODUCTS[product][0]
        out.entities.append(
            {
                "id": entity_id,
                "type": VILLAGE,
                "name": prop(name),
                "alternateName": prop(f"{names[1]}村"),
                "description": prop(
                    f"Simulated village in {district.name} growing {product_name.lower()}: "
                    "its name is invented and its indicators (broadband coverage, "
                    "e-commerce orders, rural-tourism visitors) are simulated."
                ),
                "district": prop(district.name),
                "product": prop(product),
                "address": prop(
                    {
                        "addressRegion": district.name,
                        "addressLocality": name,
                        "addressCountry": "CN",
                    }
                ),
                "dataProvider": prop(SIMULATOR),
                "location": point(lon, lat),
            }
        )
        device = f"rural-village-{key}"
        out.devices.append(
            iot_device(
                device,
                ctx.apikey,
                entity_id,
                VILLAGE,
                [
                    ("bb", "broadbandCoverage", "Number", "P1"),
                    ("eo", "ecommerceOrders", "Number", None),
                    ("v", "visitors", "Number", None),
                    ("d", "dateObserved", "Text", None),
                ],
            )
        )
        weather_id = f"urn:ngsi-ld:{WEATHER}:{key}"
        out.entities.append(
            {
                "id": weather_id,
                "type": WEATHER,
                "name": prop(f"{names[0]} Village weather station (simulated)"),
                "description": prop(
                    "Simulated weather station: a smooth seasonal and daily temperature "
                    "cycle with random rain, not observations."
                ),
                "stationCode": prop(key),
                "district": prop(district.name),
                "refVillage": rel(entity_id),
                "dataProvider": prop(SIMULATOR),
                "location": point(lon, lat),
            }
        )
        weather_device = f"rural-weather-{key}"
        out.devices.append(
            iot_device(
                weather_device,
                ctx.apikey,
                weather_id,
                WEATHER,
                [
                    ("t", "temperature", "Number", "CEL"),
                    ("rh", "relativeHumidity", "Number", "C62"),
                    ("p", "precipitation", "Number", "MMT"),
                    ("d", "dateObserved", "Text", None),
                ],
            )
        )
        coop_id = f"urn:ngsi-ld:{COOPERATIVE}:{key}"
        clon, clat = random_point_near(rng, district, lon, lat, 1500)
        out.entities.append(
            {
                "id": coop_id,
                "type": COOPERATIVE,
                "name": prop(f"{names[0]} {product_name} cooperative (simulated)"),
                "description": prop(
                    "Simulated farmers' cooperative that collects, grades and ships the "
                    "village's produce; invented."
                ),
                "district": prop(district.name),
                "refVillage": rel(entity_id),
                "dataProvider": prop(SIMULATOR),
                "location": point(clon, clat),
            }
        )
        self.villages.append(
            VillageSim(
                id=entity_id,
                name=name,
                device=device,
                weather_device=weather_device,
                district=district.name,
                offset=-rng.uniform(0.0, 3.0),
                orders_base=rng.uniform(40, 400),
                visitors_base=rng.uniform(50, 800),
                broadband=rng.uniform(82.0, 98.0),
                lon=lon,
                lat=lat,
            )
        )
        return coop_id, clon, clat

    def _farm(
        self,
        ctx: SimContext,
        district: District,
        village: int,
        number_: int,
        crop: str,
        out: Setup,
    ) -> tuple[int, str, list[tuple[str, float, float]]]:
        rng, sim = ctx.rng, self.villages[village]
        key = f"{sim.id.rsplit(':', 1)[1]}-f{number_}"
        farm_id = f"urn:ngsi-ld:{FARM}:{key}"
        flon, flat = random_point_near(rng, district, sim.lon, sim.lat, 2000)
        parcels: list[tuple[str, float, float]] = []
        for p in range(1, int(self.params["parcels_per_farm"]) + 1):
            parcel_id = f"urn:ngsi-ld:{PARCEL}:{key}-p{p}"
            record_id = f"urn:ngsi-ld:{RECORD}:{key}-p{p}"
            plon, plat = random_point_near(rng, district, flon, flat, 400)
            area = round(rng.uniform(2000, 12000))
            out.entities.append(
                {
                    "id": parcel_id,
                    "type": PARCEL,
                    "name": prop(f"Plot {p} of farm {number_}, {sim.name} (simulated)"),
                    "description": prop("Simulated farm plot; its shape is a rectangle."),
                    "area": prop(area, "MTK"),
                    "category": prop("orchard"),
                    "cropStatus": prop("growing"),
                    "irrigationSystemType": prop(rng.choice(IRRIGATION_TYPES)),
                    "belongsTo": rel(farm_id),
                    "hasAgriCrop": rel(crop),
                    "district": prop(district.name),
                    "dataProvider": prop(SIMULATOR),
                    "location": {"type": "GeoProperty", "value": rectangle(plon, plat, area)},
                }
            )
            out.entities.append(
                {
                    "id": record_id,
                    "type": RECORD,
                    "name": prop(f"Soil probe, plot {p} of farm {number_}, {sim.name}"),
                    "description": prop("Simulated soil-moisture and temperature probe."),
                    "hasAgriParcel": rel(parcel_id),
                    "depth": prop(0.3, "MTR"),
                    "district": prop(district.name),
                    "dataProvider": prop(SIMULATOR),
                    "location": point(plon, plat),
                }
            )
            device = f"rural-soil-{key}-p{p}"
            out.devices.append(
                iot_device(
                    device,
                    ctx.apikey,
                    record_id,
                    RECORD,
                    [
                        ("m", "soilMoistureVwc", "Number", "C62"),
                        ("st", "soilTemperature", "Number", "CEL"),
                    ],
                )
            )
            low, high = (float(v) for v in self.params["initial_moisture"])
            self.plots.append(
                PlotSim(
                    parcel=parcel_id,
                    record=record_id,
                    device=device,
                    village=village,
                    moisture=rng.uniform(low, high),
                    soil_factor=rng.uniform(0.8, 1.6),
                )
            )
            parcels.append((parcel_id, plon, plat))
        out.entities.append(
            {
                "id": farm_id,
                "type": FARM,
                "name": prop(f"Farm {number_}, {sim.name} (simulated)"),
                "description": prop("Simulated family farm; invented."),
                "hasAgriParcel": {"type": "Relationship", "object": [p for p, _, _ in parcels]},
                "refVillage": rel(sim.id),
                "district": prop(district.name),
                "dataProvider": prop(SIMULATOR),
                "location": point(flon, flat),
            }
        )
        return village, farm_id, parcels

    def _plan_batches(
        self,
        ctx: SimContext,
        out: Setup,
        farms: Sequence[tuple[int, str, list[tuple[str, float, float]]]],
        coops: Sequence[tuple[str, float, float]],
        markets: Sequence[tuple[str, float, float]],
        products: Sequence[str],
    ) -> None:
        """Draw every batch of the horizon: its farm, plot, size and stage times; provision
        its trace tag (a device whose first scan creates the batch entity)."""
        rng = ctx.rng
        scans: list[Scan] = []
        backfill = int(self.params["backfill_days"])
        days = backfill + int(self.params["batch_days"])
        per_day = float(self.params["batches_per_day"])
        if not farms or not markets or per_day <= 0:
            self.calendar = Calendar()
            return
        first_day = local_midnight(ctx.start, self.tz) - timedelta(days=backfill)
        count = 0
        for day in range(days):
            for _ in range(_poisson(rng, per_day)):
                count += 1
                village, farm_id, parcels = rng.choice(farms)
                parcel_id, plon, plat = rng.choice(parcels)
                product = products[village]
                name, _, (low, high) = PRODUCTS[product]
                harvested = first_day + timedelta(days=day, hours=rng.uniform(8, 17))
                key = f"cq-{count:05d}"
                entity_id = f"urn:ngsi-ld:{BATCH}:{key}"
                device = f"rural-batch-{key}"
                tag = iot_device(
                    device,
                    ctx.apikey,
                    entity_id,
                    BATCH,
                    [
                        ("s", "stage", "Text", None),
                        ("loc", "location", "geo:point", None),
                        ("q", "quantity", "Number", "KGM"),
                        ("hd", "harvestDate", "Text", None),
                        ("coop", "refCooperative", "Relationship", None),
                        ("mkt", "refMarket", "Relationship", None),
                    ],
                    [
                        {
                            "name": "name",
                            "type": "Text",
                            "value": f"{name} batch {key} (simulated)",
                        },
                        {"name": "product", "type": "Text", "value": product},
                        {"name": "refFarm", "type": "Relationship", "value": farm_id},
                        {"name": "refParcel", "type": "Relationship", "value": parcel_id},
                        {
                            "name": "refVillage",
                            "type": "Relationship",
                            "value": self.villages[village].id,
                        },
                        {
                            "name": "district",
                            "type": "Text",
                            "value": self.villages[village].district,
                        },
                        {"name": "dataProvider", "type": "Text", "value": SIMULATOR},
                    ],
                )
                out.devices.append(tag)
                stamp = iso_time(harvested.timestamp())
                scans.append(
                    Scan(
                        harvested,
                        device,
                        {
                            "s": "harvested",
                            "loc": [plon, plat],
                            "q": round(rng.uniform(low, high)),
                            "hd": stamp,
                        },
                    )
                )
                at = harvested
                if rng.random() >= float(self.params["direct_sale_share"]):
                    coop_id, clon, clat = coops[village]
                    at += timedelta(hours=rng.uniform(4, 30))
                    scans.append(
                        Scan(
                            at, device, {"s": "atCooperative", "loc": [clon, clat], "coop": coop_id}
                        )
                    )
                market_id, mlon, mlat = rng.choice(markets)
                at += timedelta(hours=rng.uniform(12, 48))
                scans.append(
                    Scan(at, device, {"s": "atMarket", "loc": [mlon, mlat], "mkt": market_id})
                )
                at += timedelta(hours=rng.uniform(12, 72))
                scans.append(Scan(at, device, {"s": "sold"}))
        scans.sort(key=lambda s: (s.at, s.device))
        self.calendar = Calendar(scans)

    def rules(self) -> str:
        """The irrigation rule (docs/rules.md), with the pack's moisture threshold."""
        limit = self.threshold
        return (
            "rules:\n"
            f"  - id: {IRRIGATION_RULE}\n"
            f"    description: Soil moisture below {limit} (volumetric) for an hour\n"
            f"    type: {RECORD}\n"
            "    when:\n"
            f"      q: soilMoistureVwc<{limit}\n"
            "      for: 1h\n"
            "    cooldown: 6h\n"
            "    then:\n"
            "      - case: {category: irrigation-alert, priority: normal, description: "
            f"'{{id}}: soil moisture {{value}} (volumetric), below {limit} for an hour: "
            "the plot needs water'}\n"
            "      - notify: {severity: medium, category: agriculture, "
            f"subCategory: {IRRIGATION_RULE}}}\n"
        )

    # step -------------------------------------------------------------------------------

    def step(self, now: datetime, dt: timedelta) -> list[Reading]:
        readings: list[Reading] = []
        seconds = dt.total_seconds()
        parts = max(1, math.ceil(seconds / 900))
        for part in range(parts):
            moment = now - dt + dt * ((part + 1) / parts)
            self._advance(moment, seconds / parts / 3600)
        stamp = iso_time(now.timestamp())
        local = now.astimezone(self.tz)
        for village in self.villages:
            if crossed(village.last, now, self.interval):
                raining = village.raining(now)
                humidity = 0.75 - 0.17 * math.cos(2 * math.pi * (local_hour(local) - 15) / 24)
                humidity += (0.15 if raining else 0.0) + self.rng.gauss(0.0, 0.02)
                payload = {
                    "t": round(air_temperature(local, village.offset, raining), 1),
                    "rh": round(min(1.0, max(0.3, humidity)), 2),
                    "p": round(village.rain_since_report, 1),
                    "d": stamp,
                    "TimeInstant": stamp,
                }
                readings.append(Reading(village.weather_device, payload))
                village.rain_since_report = 0.0
            village.last = now
        for plot in self.plots:
            if crossed(plot.last, now, self.interval):
                village = self.villages[plot.village]
                soil = soil_temperature(local, village.offset, village.raining(now))
                payload = {
                    "m": round(plot.moisture, 3),
                    "st": round(soil, 1),
                    "TimeInstant": stamp,
                }
                readings.append(Reading(plot.device, payload))
            plot.last = now
        readings.extend(self._village_days(now))
        for scan in self.calendar.due(now):
            payload = {**scan.payload, "TimeInstant": iso_time(scan.at.timestamp())}
            readings.append(Reading(scan.device, payload))
        self.previous = now
        return readings

    def _advance(self, now: datetime, hours: float) -> None:
        """Move the weather and the soil water of every plot on by `hours` ending at `now`."""
        local = now.astimezone(self.tz)
        rain: list[float] = []
        for village in self.villages:
            if not village.raining(now):
                rate = 0.2 + 0.4 * season(local)  # rain events a day, simulated
                if self.rng.random() < rate * hours / 24:
                    village.rain_until = now + timedelta(hours=self.rng.uniform(1, 8))
                    village.rain_rate = min(30.0, self.rng.expovariate(1 / 2.5))
            mm = village.rain_rate * hours if village.raining(now) else 0.0
            village.rain_since_report += mm
            rain.append(mm)
        for plot in self.plots:
            village = self.villages[plot.village]
            temperature = air_temperature(local, village.offset, village.raining(now))
            self._irrigation(plot, now)
            water = rain[plot.village]
            if plot.irrigating_until is not None:
                water += plot.irrigation_rate * hours
            plot.moisture = soil_water(
                plot.moisture, water, potential_et(local, temperature) * plot.soil_factor, hours
            )

    def _irrigation(self, plot: PlotSim, now: datetime) -> None:
        """The farmer's reaction: some hours after the plot went dry (after the rule's hour
        has opened a case), two hours of irrigation, 20-30 mm."""
        if plot.moisture < self.threshold:
            if plot.dry_since is None:
                plot.dry_since = now
                plot.irrigate_at = now + timedelta(hours=1 + self.rng.uniform(1, 9))
        elif plot.moisture >= self.threshold + REWET_MARGIN:
            plot.dry_since = plot.irrigate_at = None
        if plot.irrigate_at is not None and now >= plot.irrigate_at:
            plot.irrigate_at = None
            plot.irrigating_until = now + timedelta(hours=2)
            plot.irrigation_rate = self.rng.uniform(10, 15)
        if plot.irrigating_until is not None and now >= plot.irrigating_until:
            plot.irrigating_until = None

    def _village_days(self, now: datetime) -> list[Reading]:
        """Each village's indicators for every local day completed since the last report
        (at the first tick: the `backfill_days` before the start), observed at the last
        second of the day they describe."""
        today = local_midnight(now, self.tz)
        readings: list[Reading] = []
        for village in self.villages:
            day = village.reported_day
            day = (
                today - timedelta(days=int(self.params["backfill_days"]) + 1)
                if day is None
                else day
            )
            while day + timedelta(days=1) < today:
                day += timedelta(days=1)
                readings.append(Reading(village.device, self._indicators(village, day)))
            village.reported_day = day
        return readings

    def _indicators(self, village: VillageSim, day: datetime) -> dict[str, Any]:
        """Simulated figures of one local day: broadband creeping up, e-commerce orders
        peaking in early December and on weekends, visitors peaking in spring and autumn
        and more than doubling at weekends."""
        rng = self.rng
        village.broadband = min(100.0, village.broadband + rng.uniform(0.0, 0.05))
        yday = day.timetuple().tm_yday
        weekend = day.weekday() >= 5
        orders = village.orders_base * (1 + 0.4 * math.cos(2 * math.pi * (yday - 335) / 365.25))
        orders *= (1.15 if weekend else 1.0) * rng.lognormvariate(0.0, 0.15)
        visitors = village.visitors_base * (1 + 0.5 * math.cos(4 * math.pi * (yday - 105) / 365.25))
        visitors *= (2.2 if weekend else 1.0) * rng.lognormvariate(0.0, 0.25)
        end = day + timedelta(days=1) - timedelta(seconds=1)
        return {
            "bb": round(village.broadband, 1),
            "eo": round(orders),
            "v": round(visitors),
            "d": day.date().isoformat(),
            "TimeInstant": iso_time(end.timestamp()),
        }

    # kpis -------------------------------------------------------------------------------

    def kpis(self, city: CityView, now: datetime) -> list[Kpi]:
        """- ``rural-irrigation-alerts``: plots under irrigation alert now: the open Alerts
          (no validTo) of rule ``rural-irrigation`` whose alertSource is an
          AgriParcelRecord, per district of the record.
        - ``rural-batches-traced``: of the ProduceBatch entities that reached a market
          (stage atMarket or sold), the share whose refFarm, refCooperative and refMarket
          all name an existing AgriFarm, Cooperative and Market; per product.
        - ``rural-ecommerce-orders-7d``: the villages' ecommerceOrders summed by the history
          store over the last 7 complete local days, per district (county).
        - ``rural-broadband-coverage``: the mean current broadbandCoverage of the villages,
          per district."""
        return [
            self._alerts(city),
            self._traced(city),
            self._orders(city, now),
            self._broadband(city),
        ]

    def _alerts(self, city: CityView) -> Kpi:
        records = {e["id"]: str(e.get("district", "")) for e in city.entities(RECORD)}
        alerts = city.entities(ALERT, q=f'subCategory=="{IRRIGATION_RULE}";!validTo')
        breakdown: dict[str, float | None] = defaultdict(float)
        for alert in alerts:
            source = alert.get("alertSource")
            if isinstance(source, str) and source in records:
                breakdown[records[source]] = (breakdown[records[source]] or 0.0) + 1
        return Kpi(
            "rural-irrigation-alerts",
            "Plots under irrigation alert",
            float(sum(v or 0.0 for v in breakdown.values())),
            "plots",
            "Farm plots whose soil moisture has been below the irrigation threshold for an "
            "hour and has not recovered (open Alerts of the irrigation rule).",
            dict(sorted(breakdown.items())),
        )

    def _traced(self, city: CityView) -> Kpi:
        farms = _ids(city, FARM)
        coops = _ids(city, COOPERATIVE)
        markets = _ids(city, MARKET)
        arrived: dict[str, int] = defaultdict(int)
        traced: dict[str, int] = defaultdict(int)
        for batch in city.entities(BATCH):
            if batch.get("stage") not in ARRIVED:
                continue
            product = str(batch.get("product", "unknown"))
            arrived[product] += 1
            links = (
                (batch.get("refFarm"), farms),
                (batch.get("refCooperative"), coops),
                (batch.get("refMarket"), markets),
            )
            if all(isinstance(target, str) and target in known for target, known in links):
                traced[product] += 1
        total = sum(arrived.values())
        return Kpi(
            "rural-batches-traced",
            "Produce batches traced end to end",
            round(100 * sum(traced.values()) / total, 1) if total else None,
            "%",
            "Share of the produce batches that reached a market whose farm, cooperative and "
            "market relationships all lead to existing entities.",
            {p: round(100 * traced[p] / n, 1) for p, n in sorted(arrived.items())},
        )

    def _orders(self, city: CityView, now: datetime) -> Kpi:
        until = local_midnight(now, self.tz)
        since = until - timedelta(days=7)
        districts = {e["id"]: str(e.get("district", "")) for e in city.entities(VILLAGE)}
        sums = city.aggregate(VILLAGE, "ecommerceOrders", "sum", since, until)
        breakdown: dict[str, float | None] = {}
        for entity_id, points in sums.items():
            values = [v for _, v in points if v is not None]
            if not values or entity_id not in districts:
                continue
            district = districts[entity_id]
            breakdown[district] = (breakdown.get(district) or 0.0) + sum(values)
        return Kpi(
            "rural-ecommerce-orders-7d",
            "Village e-commerce orders, last 7 days",
            float(sum(v or 0.0 for v in breakdown.values())) if breakdown else None,
            "orders",
            "E-commerce orders of the villages over the last 7 complete days, summed from "
            "their daily reports by the history store, per district or county.",
            dict(sorted(breakdown.items())),
        )

    def _broadband(self, city: CityView) -> Kpi:
        mean, per_district = mean_by(city.entities(VILLAGE), "broadbandCoverage", "district")
        return Kpi(
            "rural-broadband-coverage",
            "Village broadband coverage",
            mean,
            "%",
            "Mean current broadband coverage of the villages, per district or county.",
            per_district,
        )


PACK = RuralPack


# -- helpers --------------------------------------------------------------------------------


def soil_temperature(local: datetime, offset: float, raining: bool) -> float:
    """Simulated soil temperature at 30 cm: the air's seasonal mean with a small daily swing
    lagging three hours behind the air's."""
    mean = 7.5 + 20.5 * season(local) + offset
    return (
        mean + 1.2 * math.cos(2 * math.pi * (local_hour(local) - 18) / 24) - (0.5 if raining else 0)
    )


def soil_water(moisture: float, water_mm: float, demand_mm_h: float, hours: float) -> float:
    """The root zone's volumetric water content after `hours`: water in (rain, irrigation),
    evapotranspiration out (falling as the soil dries towards the wilting point), drainage
    above field capacity, runoff above saturation."""
    stress = min(
        1.0, max(0.0, (moisture - WILTING_POINT) / (0.6 * (FIELD_CAPACITY - WILTING_POINT)))
    )
    moisture += (water_mm - demand_mm_h * stress * hours) / ROOT_ZONE_MM
    if moisture > FIELD_CAPACITY:
        moisture -= (moisture - FIELD_CAPACITY) * (1 - math.exp(-hours / DRAINAGE_H))
    return min(SATURATION, max(WILTING_POINT * 0.8, moisture))


def rectangle(lon: float, lat: float, area_m2: float) -> dict[str, Any]:
    """A GeoJSON rectangle of `area_m2` (3:2) centred on (lon, lat)."""
    width = math.sqrt(area_m2 * 1.5)
    height = area_m2 / width
    dx = width / 2 / (111_320.0 * math.cos(math.radians(lat)))
    dy = height / 2 / 111_320.0
    ring = [
        [round(lon - dx, 6), round(lat - dy, 6)],
        [round(lon + dx, 6), round(lat - dy, 6)],
        [round(lon + dx, 6), round(lat + dy, 6)],
        [round(lon - dx, 6), round(lat + dy, 6)],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _ids(city: CityView, entity_type: str) -> set[str]:
    return {str(e["id"]) for e in city.entities(entity_type)}
