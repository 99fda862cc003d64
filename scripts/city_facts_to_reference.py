"""Builds src/cityos/indicators/data/reference.csv from the cited city facts.

The facts (data/city-facts.csv, 168 rows, each with its source title and address) are
written for people: values such as "1.097 billion passenger trips" or ">500000", years
such as "2022/23 (FY)", bases in words. This script maps the rows cityos uses onto catalogue
indicators: the value in the indicator's unit (a bound kept as ">" or "~"), the area the
value covers (`area`, which the catalogue's `comparable` lists), the quality flag the row's
note carries, and the fact's row number so every reference row can be traced to its fact.
Rows not mapped (compound or descriptive figures) stay in city-facts.csv, cited there.

    python scripts/city_facts_to_reference.py   # rewrites data/reference.csv
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src/cityos/indicators/data"

M, B, T = 1e6, 1e9, 1e12

# fact row (0-based, as in city-facts.csv after the header) → indicator, value (None: the
# row's own number), scale, unit, area
ROWS: list[tuple[int, str, float | None, float, str, str]] = [
    # transportation
    (0, "urban-rail-length", None, 1, "km", "urban-core"),
    (1, "urban-rail-length", None, 1, "km", "urban-core"),
    (23, "urban-rail-length", None, 1, "km", "city"),
    (69, "urban-rail-length", None, 1, "km", "city"),
    (2, "urban-rail-stations", None, 1, "stations", "urban-core"),
    (3, "urban-rail-stations", None, 1, "stations", "urban-core"),
    (24, "urban-rail-stations", None, 1, "stations", "city"),
    (70, "urban-rail-stations", None, 1, "stations", "city"),
    (4, "urban-rail-ridership", None, B, "rides per year", "urban-core"),
    (25, "urban-rail-ridership", None, B, "rides per year", "city"),
    (26, "urban-rail-ridership", None, B, "rides per year", "city"),
    (71, "urban-rail-ridership", None, M, "rides per year", "city"),
    (126, "public-transport-trips", None, 1, "trips per year", "city"),
    (139, "public-transport-trips", None, M, "trips per year", "city"),
    (165, "public-transport-trips", None, M, "trips per year", "city"),
    (161, "bus-trips", None, M, "trips per year", "city"),
    (127, "bus-trips", None, 1, "trips per year", "city"),
    (28, "bus-fleet", None, 1, "buses", "city"),
    (153, "bus-fleet", None, 1, "buses", "urban-core"),
    (128, "bus-fleet", 1800, 1, "buses", "city"),
    (19, "airport-passengers", None, M, "passengers per year", "airport"),
    (20, "airport-passengers", None, M, "passengers per year", "airport"),
    (21, "airport-passengers", None, M, "passengers per year", "airport"),
    (146, "airport-passengers", None, M, "passengers per year", "airport"),
    (147, "airport-passengers", None, M, "passengers per year", "airport"),
    (79, "airport-passengers", None, M, "passengers per year", "airport"),
    (80, "airport-passengers", None, M, "passengers per year", "airport"),
    (137, "airport-passengers", None, 1, "passengers per year", "airport"),
    (47, "cars-per-1000", None, 1, "cars per 1,000 inhabitants", "city"),
    (166, "cars-per-1000", None, 1, "cars per 1,000 inhabitants", "city"),
    (167, "cars-per-1000", None, 1, "cars per 1,000 inhabitants", "city"),
    (48, "vehicles-per-1000", None, 1, "vehicles per 1,000 inhabitants", "city"),
    (49, "vehicles-per-1000", None, 1, "vehicles per 1,000 inhabitants", "city"),
    (30, "sustainable-mode-share", None, 1, "% of trips", "city"),
    (141, "public-transport-mode-share", None, 1, "% of trips", "city"),
    (117, "new-energy-vehicle-share", None, 1, "% of new vehicles", "urban-core"),
    (94, "freight-trains-per-year", None, 1, "trains per year", "corridor"),
    (162, "freight-trains-per-year", 3000, 1, "trains per year", "hub"),
    (62, "freight-trains-per-year", None, 1, "trains per year", "terminal"),
    (91, "freight-trains-per-year", None, 1, "trains per year", "two-cities"),
    (92, "freight-teu-per-year", None, 1, "TEU per year", "two-cities"),
    (57, "port-teu-per-year", None, M, "TEU per year", "port"),
    (58, "port-teu-per-year", None, M, "TEU per year", "port"),
    # education
    (86, "higher-education-institutions", None, 1, "institutions", "municipality"),
    (33, "higher-education-institutions", None, 1, "institutions", "city"),
    (34, "higher-education-institutions", None, 1, "institutions", "city"),
    (82, "higher-education-institutions", None, 1, "institutions", "city"),
    (135, "higher-education-institutions", None, 1, "institutions", "city"),
    (87, "higher-education-students", None, M, "students", "municipality"),
    (35, "higher-education-students", None, 1, "students", "city"),
    (36, "higher-education-students", None, 1, "students", "city"),
    (37, "higher-education-students", None, 1, "students", "wider-region"),
    (83, "higher-education-students", None, 1, "students", "city"),
    (85, "higher-education-students", None, 1, "students", "city"),
    (136, "higher-education-students", None, 1, "students", "city"),
    (138, "higher-education-students", None, 1, "students", "university"),
    (88, "higher-education-enrolment", None, 1, "%", "municipality"),
    (32, "tertiary-attainment", None, 1, "% of adults", "city"),
    (130, "tertiary-attainment", None, 1, "% of adults", "metro-region"),
    (18, "years-of-schooling", None, 1, "years", "municipality"),
    (89, "schools", None, 1, "schools", "municipality"),
    (45, "primary-schools", None, 1, "schools", "city"),
    (150, "primary-schools", 77, 1, "schools", "city"),
    (131, "primary-schools", 224, 1, "schools", "city"),
    (46, "secondary-schools", None, 1, "schools", "city"),
    (133, "pupils", None, 1, "pupils", "city"),
    (121, "pupils-per-teacher", 15.7, 1, "pupils per teacher", "city-part"),
    (121, "pupils-per-teacher", 17.7, 1, "pupils per teacher", "city-part"),
    (78, "education-budget", None, 1, "PLN", "city"),
    (132, "education-budget", None, B, "PLN", "city"),
    # economy
    (163, "gdp", None, 1e8, "CNY", "municipality"),
    (10, "gdp", None, T, "CNY", "municipality"),
    (43, "gdp", None, M, "GBP", "city"),
    (67, "gdp", None, B, "EUR", "city"),
    (68, "gdp", None, B, "EUR", "metro-region"),
    (76, "gdp", None, B, "EUR", "metro-region"),
    (142, "gdp", None, B, "EUR", "city"),
    (11, "gdp-per-capita", None, 1, "CNY", "municipality"),
    (42, "gdp-per-capita", None, 1, "GBP", "city"),
    (51, "gdp-per-capita", None, 1, "EUR PPS", "metro-region"),
    (95, "foreign-trade", None, B, "CNY", "municipality"),
    (152, "fortune-500-present", None, 1, "companies", "municipality"),
    (151, "foreign-invested-enterprises", None, 1, "enterprises", "municipality"),
    # environment
    (101, "pm25", None, 1, "µg/m³", "stations"),
    (103, "pm25", None, 1, "µg/m³", "stations"),
    (105, "pm25", None, 1, "µg/m³", "stations"),
    (107, "pm25", None, 1, "µg/m³", "stations"),
    (109, "pm25", None, 1, "µg/m³", "stations"),
    (102, "no2", None, 1, "µg/m³", "stations"),
    (104, "no2", None, 1, "µg/m³", "stations"),
    (106, "no2", None, 1, "µg/m³", "stations"),
    (108, "no2", None, 1, "µg/m³", "stations"),
    (110, "no2", None, 1, "µg/m³", "stations"),
    (111, "good-air-days", None, 1, "days", "municipality"),
    (113, "forest-cover", None, 1, "% of land area", "municipality"),
    (155, "park-space-per-capita", None, 1, "m² per urban resident", "urban-core"),
    (124, "green-share", None, 1, "% of area", "city"),
    # smart city
    (97, "5g-base-stations", None, 1, "base stations", "municipality"),
    (98, "5g-per-10000", None, 1, "per 10,000 people", "municipality"),
    (99, "digital-economy-share", None, 1, "% of GDP", "municipality"),
    (154, "open-datasets", None, 1, "datasets", "city"),
    # population and area
    (13, "population", None, 1, "persons", "municipality"),
    (16, "population", None, M, "persons", "municipality"),
    (15, "population", None, 1, "persons", "urban-core"),
    (120, "population", None, M, "persons", "metro-region"),
    (39, "population", None, 1, "persons", "city"),
    (65, "population", None, 1, "persons", "city"),
    (74, "population", None, 1, "persons", "city"),
    (53, "population", None, 1, "persons", "city"),
    (54, "population", None, 1, "persons", "city"),
    (12, "area", None, 1, "km²", "municipality"),
    (38, "area", None, 1, "km²", "city"),
    (64, "area", None, 1, "km²", "city"),
    (73, "area", None, 1, "km²", "city"),
    (55, "area", None, 1, "km²", "city"),
]

QUALITY = (
    (re.compile(r"weak secondary source|low-quality", re.I), "weak"),
    (re.compile(r"\bverify\b|\bcheck\b", re.I), "verify"),
    (re.compile(r"secondary repost|^secondary|statista|secondary commentary", re.I), "secondary"),
)
"""The quality flags of the facts' notes (city-facts-sources.md), most serious first."""

CITY_IDS = {"Łódź": "lodz"}

EXTRA: list[dict[str, str]] = [
    {
        "city": "chongqing",
        "indicator": "freight-trains-per-year",
        "value": "1442",
        "unit": "trains per year",
        "year": "2018",
        "basis": "Yuxinou (Chongqing) China-Europe Railway Express, year to January 2019",
        "area": "corridor",
        "source": "",
        "publisher": "iChongqing (ichongqing.info)",
        "published": "2019",
        "url": "https://www.ichongqing.info/",
        "quality": "",
        "note": "railway-express-facts.md: 1,442 trains in the year to January 2019",
        "fact": "",
    },
    {
        "city": "chongqing",
        "indicator": "freight-trains-per-year",
        "value": "2603",
        "unit": "trains per year",
        "year": "2020",
        "basis": "Yuxinou (Chongqing) China-Europe Railway Express",
        "area": "corridor",
        "source": "",
        "publisher": "China News Service (ecns.cn)",
        "published": "2021",
        "url": "https://www.ecns.cn/",
        "quality": "",
        "note": "railway-express-facts.md: 2,603 Yuxinou trains, more than 220,000 TEU",
        "fact": "",
    },
    {
        "city": "chongqing",
        "indicator": "freight-teu-per-year",
        "value": ">220000",
        "unit": "TEU per year",
        "year": "2020",
        "basis": "Yuxinou (Chongqing) China-Europe Railway Express",
        "area": "corridor",
        "source": "",
        "publisher": "China News Service (ecns.cn)",
        "published": "2021",
        "url": "https://www.ecns.cn/",
        "quality": "",
        "note": "railway-express-facts.md: more than 220,000 TEU",
        "fact": "",
    },
    {
        "city": "chongqing",
        "indicator": "freight-teu-per-year",
        "value": "~250000",
        "unit": "TEU per year",
        "year": "2023",
        "basis": "Tuanjiecun station (Chongqing international logistics hub)",
        "area": "corridor",
        "source": "",
        "publisher": "State Council Information Office (english.scio.gov.cn)",
        "published": "2024",
        "url": "http://english.scio.gov.cn/",
        "quality": "",
        "note": "railway-express-facts.md: about 250,000 TEU through Tuanjiecun",
        "fact": "",
    },
]
"""The corridor's volumes from railway-express-facts.md (publisher and date; the facts
file gives no article address, so the publisher's site is cited)."""


def _number(text: str) -> tuple[str, float]:
    text = text.strip().replace(",", "")
    match = re.match(r"^(>|<|~|up to )?\s*([0-9.]+)", text)
    if not match:
        raise ValueError(f"no number in {text!r}")
    bound = {">": ">", "<": "<", "~": "~", "up to ": "<"}.get(match.group(1) or "", "")
    return bound, float(match.group(2))


def _published(url: str, year: str) -> str:
    found = re.search(r"/(20[0-2]\d)[/-]", url)
    return found.group(1) if found else ""


WHO = {
    "source": "WHO Ambient Air Quality Database, April 2022",
    "publisher": "World Health Organization",
    "published": "2022",
    "url": "https://www.who.int/data/gho/data/themes/air-pollution/who-air-quality-database",
}
"""How city-facts-sources.md says to cite the WHO rows (read from a GitHub copy): WHO as
the source, with its own page; the copy's address stays in the note."""


def main() -> None:
    with (DATA / "city-facts.csv").open(encoding="utf-8", newline="") as file:
        facts = list(csv.DictReader(file))
    out = []
    for row, indicator, given, scale, unit, area in ROWS:
        fact = facts[row]
        bound, parsed = _number(fact["value"])
        value = given if given is not None else parsed * scale
        note = fact["note"]
        quality = next((flag for pattern, flag in QUALITY if pattern.search(note)), "")
        publisher, _, title = fact["source_title"].partition(": ")
        cited = {
            "source": title or publisher,
            "publisher": publisher if title else "",
            "published": _published(fact["source_url"], fact["year"]),
            "url": fact["source_url"],
        }
        if fact["source_title"].startswith("WHO Ambient Air Quality Database"):
            cited = WHO
            note = f"{note} Read from {fact['source_url']}".strip()
        out.append(
            {
                "city": CITY_IDS.get(fact["city"], fact["city"].lower()),
                "indicator": indicator,
                "value": f"{bound}{value:.10g}",
                "unit": unit,
                "year": fact["year"],
                "basis": fact["basis"],
                "area": area,
                **cited,
                "quality": quality,
                "note": note,
                "fact": str(row + 2),
            }
        )
    out += EXTRA
    columns = list(out[0])
    with (DATA / "reference.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    print(f"{len(out)} reference rows from {len({r[0] for r in ROWS})} facts")


if __name__ == "__main__":
    main()
