"""Indicator values computed from the city's own data in the broker.

A catalogue indicator with `live: pack/kpi` takes its value from that KPI: a domain pack's
(computed from the entities and history the broker holds) or one of the city-wide ones
here, under the pseudo-pack `city` (governance timeliness, sensors reporting). Which
indicators a deployment measures of itself is its own choice (`LiveCity.indicators`): the
demo city's simulated transit says nothing true about Chongqing's metro, so its scenario
does not offer that figure, while the Warsaw scenario, replaying the real WKD timetable,
does.

A live value is a `ReferenceValue` like any other, of the current year, citing where it
was computed and from what (`provenance`: "simulated by the chongqing demo scenario", or a
city's own "sensor network"), so a comparison or a report never passes a simulated figure
off as a published one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cityos.context.broker import iso_time
from cityos.domains.base import CityView, Kpi, Pack
from cityos.governance.model import Stage
from cityos.store.cases import StatsQuery

from .catalogue import Catalogue, catalogue
from .reference import LIVE, ReferenceValue, Source

CITY_KPIS = "city"
"""The pseudo-pack of the city-wide KPIs computed here."""
REPORTING_WINDOW = timedelta(hours=1)
TIMELINESS_WINDOW = timedelta(days=30)


class LiveCityError(ValueError):
    """A live-indicators section that cannot be used; the message names the member."""


@dataclass(frozen=True, slots=True)
class LiveCity:
    """Which city the broker models, and which indicators it measures of itself."""

    name: str
    basis: str
    """The population basis of the modelled area ("municipality", "city proper"...)."""
    indicators: tuple[str, ...]
    provenance: str
    """Where the data come from, in words, carried into every citation."""
    tenant: str = ""
    """The tenant holding the city (a scenario's own)."""


def parse_live_city(section: Any, where: str, known: Catalogue | None = None) -> LiveCity:
    """The `indicators:` section of a scenario or of `cityos serve --indicators FILE`:
    {city, basis, provenance, live: [indicator ids]}."""
    known = known or catalogue()
    if not isinstance(section, dict):
        raise LiveCityError(f"{where}: a mapping with city, basis, provenance and live")
    texts = {}
    for member in ("city", "basis", "provenance"):
        value = section.get(member)
        if not isinstance(value, str) or not value.strip():
            raise LiveCityError(f"{where}.{member}: must be non-empty text")
        texts[member] = value.strip()
    unknown = set(section) - {"city", "basis", "provenance", "live"}
    if unknown:
        raise LiveCityError(f"{where}: unknown member(s) {', '.join(sorted(unknown))}")
    ids = section.get("live")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise LiveCityError(f"{where}.live: a list of indicator ids")
    for number, indicator in enumerate(ids):
        if indicator not in known:
            raise LiveCityError(f"{where}.live[{number}]: unknown indicator {indicator!r}")
        if known[indicator].live is None:
            offered = ", ".join(i.id for i in known.indicators.values() if i.live)
            raise LiveCityError(
                f"{where}.live[{number}]: {indicator} is not computed live; these are: {offered}"
            )
    return LiveCity(
        texts["city"].lower(), texts["basis"], tuple(dict.fromkeys(ids)), texts["provenance"]
    )


def load_live_city(path: Path) -> LiveCity:
    """A live-city YAML file: the same members as a scenario's `indicators:` section."""
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except OSError as error:
        raise LiveCityError(f"{path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise LiveCityError(f"{path}: not YAML ({error})") from None
    return parse_live_city(document, str(path))


def governance_timeliness(city: CityView, now: datetime) -> Kpi:
    """Cases of the last 30 days whose accept stage finished by its deadline, over those
    finished or already past it: the governance statistics' own on-time rate."""
    query = StatsQuery(now, (), None, now - TIMELINESS_WINDOW, now)
    rows = city.broker.store.cases.statistics(city.tenant, query)
    rate = rows[0].on_time.get(Stage.ACCEPT) if rows else None
    return Kpi(
        "governance-on-time-accept",
        "Cases accepted on time",
        None if rate is None else round(100 * rate, 1),
        "%",
        "Cases reported in the last 30 days accepted within their deadline, over those "
        "accepted or past the deadline, from the case records.",
    )


def sensors_reporting(city: CityView, now: datetime) -> Kpi:
    """Provisioned devices whose entity changed in the last hour, over all devices."""
    devices = city.broker.store.devices
    listed, total = devices.list_devices(city.tenant, limit=1_000_000, offset=0)
    entities = city.broker.store.get_many(city.tenant, {d.entity_id for d in listed})
    since, upto = iso_time((now - REPORTING_WINDOW).timestamp()), iso_time(now.timestamp())
    fresh = sum(
        1
        for d in listed
        if (e := entities.get(d.entity_id)) is not None and since <= e.modified_at <= upto
    )
    return Kpi(
        "sensors-reporting",
        "Sensors reporting",
        round(100 * fresh / total, 1) if total else None,
        "%",
        "Provisioned devices whose entity was updated in the last hour, over all devices.",
    )


def city_kpis(city: CityView, now: datetime) -> list[Kpi]:
    return [governance_timeliness(city, now), sensors_reporting(city, now)]


def live_values(
    city: CityView,
    live: LiveCity,
    packs: Mapping[str, Pack],
    now: datetime,
    known: Catalogue | None = None,
) -> list[ReferenceValue]:
    """The live city's chosen indicators as values of `now`'s year; an indicator whose KPI
    has no value now (no data yet, or its pack not running) is left out, never filled in."""
    known = known or catalogue()
    wanted = [known[i] for i in live.indicators]
    sources = {i.live.split("/", 1)[0] for i in wanted if i.live}
    computed: dict[str, Kpi] = {}
    for source in sorted(sources):
        if source == CITY_KPIS:
            kpis: Sequence[Kpi] = city_kpis(city, now)
        elif source in packs:
            kpis = packs[source].kpis(city, now)
        else:
            continue
        computed.update({f"{source}/{k.id}": k for k in kpis})
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    values = []
    for indicator in wanted:
        kpi = computed.get(indicator.live or "")
        if kpi is None or kpi.value is None:
            continue
        values.append(
            ReferenceValue(
                city=live.name,
                indicator=indicator.id,
                value=kpi.value * indicator.live_scale,
                unit=indicator.unit,
                year=now.astimezone(UTC).year,
                basis=live.basis,
                source=Source(
                    f"computed live from the city model ({live.provenance}), {stamp}", "cityos"
                ),
                note=f"{kpi.name}: {kpi.description}",
                provenance=LIVE,
            )
        )
    return values
