"""Reference values: figures about cities from published sources, imported from CSV.

Every value carries its source (publisher, title, year of publication, address) and its year
as the source gives it ("2022/23 (FY)", "c. 2024"; blank only where the source states none,
and then shown as such). A figure the sources do not give has no row: it stays missing,
never filled in. `basis` is the source's own words for what the value covers; `area` is the
kind of area it covers (city, urban-core, municipality, metro-region...), which the
catalogue's `comparable` lists per indicator: Chongqing municipality's 82,400 km² are not
set against Greater London, while its central urban area is.

A value is `published` (from a source) or `live` (computed by this city's own data,
`live.py`): the two are never ranked together.

CSV columns: city, indicator, value, unit, year, basis, source; optional: area (the basis
when absent), publisher, published, url, quality (weak, verify, secondary: the fact's flag),
note (internal: kept in the data, never printed in a report's text), fact (the row of
city-facts.csv it comes from). A value may start with ">", "<" or "~" (a bound, an
approximation), as the source states it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .catalogue import Catalogue, catalogue

COLUMNS = ("city", "indicator", "value", "unit", "year", "basis", "source")
QUALITY = ("weak", "verify", "secondary")
"""The facts' quality flags: a weak secondary source, to verify against the primary
publication, a secondary repost (city-facts-sources.md)."""
PUBLISHED, LIVE = "published", "live"
AREA_ALIASES = {"city proper": "city"}
"""An older CSV's basis read as an area: "city proper" is a city."""
_YEAR = re.compile(r"(1[89]|20)\d\d")
_BOUND = re.compile(r"^\s*([<>~])?\s*([-+0-9.eE]+)\s*$")


class ReferenceError(ValueError):
    """Problems in a reference CSV, one line each naming the file and row."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Source:
    """A source as a bibliography entry. `title` alone for an older CSV's `source`."""

    title: str
    publisher: str = ""
    published: str = ""
    """The year of publication, where known."""
    url: str = ""

    def __str__(self) -> str:
        """Publisher. Title. Year. Address. (the parts there are)."""
        parts = [self.publisher, f"„{self.title}”" if self.publisher and self.title else self.title]
        parts += [self.published, self.url]
        return ". ".join(p.rstrip(".") for p in parts if p)


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    city: str
    indicator: str
    value: float
    unit: str
    year: int | None
    """None when the source states no year."""
    basis: str
    source: Source
    note: str = ""
    area: str = ""
    """The kind of area covered (see the catalogue's `comparable`); the basis when empty."""
    bound: str = ""
    """">" a lower bound, "<" an upper one, "~" approximate, as the source states it."""
    year_text: str = ""
    """The year as the source gives it ("2022/23 (FY)"), when it says more than the year."""
    quality: str = ""
    provenance: str = PUBLISHED
    fact: int | None = None

    @property
    def where(self) -> str:
        area = self.area or self.basis
        return AREA_ALIASES.get(area.lower(), area)

    @property
    def period(self) -> str:
        """The year as shown: "2022/23", "c. 2024", "2021"; "" when not stated."""
        text = self.year_text or (str(self.year) if self.year is not None else "")
        found = re.search(r"(c\.\s*)?\d{4}(/\d{2,4})?", text)
        return found.group(0) if found else ("" if self.year is None else str(self.year))


def parse_year(text: str) -> int | None:
    """The first year in `text` ("2022/23 (FY)" is 2022); None for "current" or blank."""
    found = _YEAR.search(text)
    return int(found.group(0)) if found else None


def _row(
    name: str, number: int, row: dict[str, str | None], known: Catalogue
) -> ReferenceValue | list[str]:
    where = f"{name}, row {number}"
    cells = {key: (value or "").strip() for key, value in row.items() if key is not None}
    problems = [f"{where}: {c} is empty" for c in COLUMNS if c != "year" and not cells.get(c)]
    indicator = cells.get("indicator", "")
    if indicator and indicator not in known:
        problems.append(f"{where}: unknown indicator {indicator!r}")
    elif indicator and known[indicator].derived:
        problems.append(f"{where}: {indicator} is derived; give its numerator and population")
    value: float | None = None
    bound = ""
    if cells.get("value"):
        matched = _BOUND.match(cells["value"])
        try:
            value = float(matched.group(2)) if matched else float(cells["value"])
            bound = (matched.group(1) or "") if matched else ""
        except ValueError:
            problems.append(f"{where}: value {cells['value']!r} is not a number")
    year_text = cells.get("year", "")
    year = parse_year(year_text)
    if year_text and year is None and year_text.lower() != "current":
        problems.append(f"{where}: year {year_text!r} names no year")
    quality = cells.get("quality", "")
    if quality and quality not in QUALITY:
        problems.append(f"{where}: quality {quality!r} is not one of {', '.join(QUALITY)}")
    if not cells.get("source") and cells.get("publisher"):
        problems = [p for p in problems if not p.endswith("source is empty")]
    if problems or value is None:
        return problems
    fact = cells.get("fact", "")
    return ReferenceValue(
        city=cells["city"].lower(),
        indicator=indicator,
        value=value,
        unit=cells["unit"],
        year=year,
        basis=cells["basis"],
        source=Source(
            cells.get("source", ""),
            cells.get("publisher", ""),
            cells.get("published", ""),
            cells.get("url", ""),
        ),
        note=cells.get("note", ""),
        area=cells.get("area", ""),
        bound=bound,
        year_text=year_text if year_text != str(year) else "",
        quality=quality,
        fact=int(fact) if fact.isdigit() else None,
    )


def parse_reference(name: str, lines: Iterable[str], known: Catalogue) -> list[ReferenceValue]:
    """The values of one CSV text; every problem is collected before raising."""
    reader = csv.DictReader(lines)
    absent = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if absent:
        raise ReferenceError([f"{name}, row 1: missing column(s) {', '.join(absent)}"])
    values: list[ReferenceValue] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, str, int | None, float, Source], int] = {}
    for number, row in enumerate(reader, 2):  # row 1 is the header
        parsed = _row(name, number, row, known)
        if isinstance(parsed, list):
            problems.extend(parsed)
            continue
        key = _key(parsed)
        if key in seen:
            problems.append(f"{name}, row {number}: the same value as row {seen[key]}")
            continue
        seen[key] = number
        values.append(parsed)
    if problems:
        raise ReferenceError(problems)
    return values


def load_reference(path: Path, known: Catalogue | None = None) -> list[ReferenceValue]:
    with path.open(encoding="utf-8", newline="") as file:
        return parse_reference(str(path), file, known or catalogue())


def _key(v: ReferenceValue) -> tuple[str, str, str, int | None, float, Source]:
    """Two sources may disagree on one city, indicator, basis and year: both are kept."""
    return (v.city, v.indicator, v.basis, v.year, v.value, v.source)


def packaged_reference() -> list[ReferenceValue]:
    """The set shipped with cityos: the cited facts on Chongqing, London, Warsaw, Łódź and
    Duisburg (data/city-facts.csv, mapped by scripts/city_facts_to_reference.py)."""
    text = resources.files("cityos.indicators").joinpath("data/reference.csv").read_text("utf-8")
    return parse_reference("reference.csv", io.StringIO(text), catalogue())


def merge(*sets: Iterable[ReferenceValue]) -> list[ReferenceValue]:
    """The values of all sets; a later set's values replace an earlier one's of the same
    city, indicator, basis, year and source (a city's own loaded figures over the packaged
    set). Within one set every value is kept: one source may give two (Inner and Outer
    London)."""
    merged: list[ReferenceValue] = []
    for values in sets:
        given = list(values)
        keys = {(v.city, v.indicator, v.basis, v.year, str(v.source)) for v in given}
        merged = [
            v for v in merged if (v.city, v.indicator, v.basis, v.year, str(v.source)) not in keys
        ]
        merged += given
    return merged
