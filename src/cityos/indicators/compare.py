"""Cities side by side: one row per indicator, ranked only where the values are comparable.

Pure functions over reference values. The rules, and why:

- Comparable, or not compared. Each indicator lists the areas it ranks on (`comparable`:
  a city, Chongqing's central urban area...) and a year window. A city's cell holds its
  value on a comparable area if it has one (the newest), else its newest on any area; only
  cells on a comparable area, in one unit, within the window of the newest are ranked. Any
  other value is shown as context with the reason (`Cell.reason`), never ranked.
- A derived indicator (per 100 000 population, per capita) divides a value by the
  population of the *same area*, nearest in year: Chongqing's urban rail by its central
  urban area's 9.58 million, never by the municipality's 32 million.
- Sources that disagree are both kept: the cell shows one and lists the others
  (`alternatives`), each with its citation.
- Published and live apart: values computed from this city's own data (`provenance` live)
  are never ranked against published figures; they are listed in `Comparison.live`.
- Rank 1 is the best among the ranked cells, respecting the indicator's `better`; ties share
  a rank (1, 1, 3); a city alone on a comparable basis has no rank: it is ahead of no one.
- Every cell with a value carries the citations it was computed from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .catalogue import Better, Catalogue, Indicator, catalogue
from .reference import LIVE, ReferenceValue, Source

POPULATION = "population"


@dataclass(frozen=True, slots=True)
class Normalised:
    value: float
    population: ReferenceValue
    """The population it was divided by."""


def per_population(
    value: ReferenceValue, populations: Iterable[ReferenceValue], per: int
) -> Normalised | str:
    """`value` per `per` inhabitants of its own area, with the population nearest in year
    (a later one on a tie; one with a stated year before one without); or why it cannot be
    (the area whose population is missing)."""
    candidates = [
        p
        for p in populations
        if p.indicator == POPULATION and p.city == value.city and p.where == value.where
    ]
    if not candidates:
        return value.where

    def distance(p: ReferenceValue) -> tuple[int, int, int]:
        if value.year is not None and p.year is not None:
            return (0, abs(p.year - value.year), -p.year)
        return (1 if p.year is None else 0, 0, -(p.year or 0))

    population = min(candidates, key=distance)
    if population.value <= 0:
        return value.where
    return Normalised(value.value / population.value * per, population)


@dataclass(frozen=True, slots=True)
class Standing:
    ranks: dict[str, int]
    """City → rank, 1 the best."""
    missing: list[str]
    """Cities without a value, in the order given."""


def standing(values: Mapping[str, float | None], better: Better) -> Standing:
    """Competition ranking ("1224"): a city's rank is one more than the number of cities
    strictly better than it, so equal values share a rank; no ranks for a neutral one."""
    present = {city: v for city, v in values.items() if v is not None}
    missing = [city for city, v in values.items() if v is None]
    if better == "neutral":  # context, such as a population: no city is ahead
        return Standing({}, missing)
    if len(present) < 2:  # alone with a figure, a city leads no one
        return Standing({}, missing)

    def beats(a: float, b: float) -> bool:
        if math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0):
            return False
        return a > b if better == "higher" else a < b

    ranks = {
        city: 1 + sum(beats(other, v) for other in present.values()) for city, v in present.items()
    }
    return Standing(ranks, missing)


@dataclass(frozen=True, slots=True)
class Alternative:
    """Another value of the same city: another source, year or area."""

    value: float
    bound: str
    unit: str
    period: str
    area: str
    citations: tuple[Source, ...]
    quality: str = ""


@dataclass(frozen=True, slots=True)
class Cell:
    city: str
    value: float | None
    unit: str
    year: int | None
    area: str | None
    """The kind of area the value covers (city, urban-core, municipality...)."""
    basis: str | None
    """The source's own words for it."""
    citations: tuple[Source, ...]
    """The sources the value comes from (the value's, then its population's)."""
    note: str
    """The value's note from the data: internal, never printed in a report's text."""
    rank: int | None = None
    period: str = ""
    """The year as shown ("2022/23", "c. 2024"); "" when the source states none."""
    bound: str = ""
    quality: tuple[str, ...] = ()
    """The quality flags of the figures used (weak, verify, secondary)."""
    reason: tuple[str, ...] = ()
    """Why a value is not ranked: ("area", area), ("window", window, newest year),
    ("undated",), ("unit", unit), ("indicator",) counted too differently to rank, ("context",)
    a neutral figure (a population), ("alone",) no comparable peer,
    ("population", area) no population of the area; () when ranked or missing."""
    population: ReferenceValue | None = None
    """A derived value's denominator."""
    numerator: float | None = None
    alternatives: tuple[Alternative, ...] = ()

    @property
    def comparable(self) -> bool:
        return self.value is not None and not self.reason


@dataclass(frozen=True, slots=True)
class Row:
    indicator: Indicator
    cells: dict[str, Cell]
    missing: list[str]

    @property
    def ranked(self) -> list[Cell]:
        return [c for c in self.cells.values() if c.rank is not None]


@dataclass(frozen=True, slots=True)
class Comparison:
    cities: list[str]
    rows: list[Row]
    sources: list[Source] = field(default_factory=list)
    """Every citation in the table, once, in order of first use (the footnotes)."""
    live: list[Row] = field(default_factory=list)
    """Values computed from the city's own data: never ranked, never among `rows`."""

    def both(self, a: str, b: str) -> list[Row]:
        """The rows where cities `a` and `b` are both ranked: compared on one basis."""
        return [r for r in self.rows if r.cells[a].rank is not None and r.cells[b].rank is not None]


def _newest_first(
    values: Iterable[ReferenceValue], comparable: Sequence[str]
) -> list[ReferenceValue]:
    """A comparable area first, then the newest year, then an unflagged source; the file's
    order among equals (sources that disagree on one year keep theirs)."""
    indexed = list(enumerate(values))
    indexed.sort(
        key=lambda iv: (
            iv[1].where not in comparable,
            -(iv[1].year or 0) if iv[1].year is not None else 1,
            bool(iv[1].quality),
            iv[0],
        )
    )
    return [v for _, v in indexed]


def _alternative(v: ReferenceValue) -> Alternative:
    return Alternative(v.value, v.bound, v.unit, v.period, v.where, (v.source,), v.quality)


def _cell(
    indicator: Indicator, city: str, own: Sequence[ReferenceValue], values: Sequence[ReferenceValue]
) -> Cell:
    if not own:
        return Cell(city, None, indicator.unit, None, None, None, (), "no value")
    first, *rest = _newest_first(own, indicator.comparable)
    alternatives = tuple(_alternative(v) for v in rest)
    quality = (first.quality,) if first.quality else ()
    if indicator.numerator is None or indicator.per is None:
        return Cell(
            city,
            first.value,
            first.unit,
            first.year,
            first.where,
            first.basis,
            (first.source,),
            first.note,
            period=first.period,
            bound=first.bound,
            quality=quality,
            alternatives=alternatives,
        )
    normalised = per_population(first, values, indicator.per)
    if isinstance(normalised, str):
        return Cell(
            city, None, indicator.unit, first.year, first.where, first.basis, (), "",
            period=first.period, reason=("population", normalised),
        )  # fmt: skip
    population = normalised.population
    return Cell(
        city,
        normalised.value,
        indicator.unit,
        first.year,
        first.where,
        first.basis,
        tuple(dict.fromkeys((first.source, population.source))),
        first.note,
        period=first.period,
        bound=first.bound,
        quality=tuple(dict.fromkeys(q for q in (first.quality, population.quality) if q)),
        population=population,
        numerator=first.value,
    )


def _why_not(indicator: Indicator, cells: dict[str, Cell]) -> dict[str, tuple[str, ...]]:
    """City → the reason its value is not ranked (absent: ranked)."""
    reasons: dict[str, tuple[str, ...]] = {}
    present = {city: c for city, c in cells.items() if c.value is not None}
    if indicator.better == "neutral":
        return {city: ("context",) for city in present}
    if not indicator.comparable:
        return {city: ("indicator",) for city in present}
    for city, c in present.items():
        if c.area not in indicator.comparable:
            reasons[city] = ("area", c.area or "")
        elif c.year is None:
            reasons[city] = ("undated",)
    candidates = {city: c for city, c in present.items() if city not in reasons}
    units = {c.unit for c in candidates.values()}
    if len(units) > 1:
        return {**reasons, **{city: ("unit", c.unit) for city, c in candidates.items()}}
    newest = max((c.year or 0 for c in candidates.values()), default=0)
    for city, c in candidates.items():
        if c.year is not None and c.year < newest - indicator.window:
            reasons[city] = ("window", str(indicator.window), str(newest))
    ranked = [city for city in candidates if city not in reasons]
    if len(ranked) == 1 and len(present) > 1:
        reasons[ranked[0]] = ("alone",)
    return reasons


def _row(indicator: Indicator, cities: Sequence[str], values: Sequence[ReferenceValue]) -> Row:
    own = [v for v in values if v.indicator == (indicator.numerator or indicator.id)]
    cells = {
        city: _cell(indicator, city, [v for v in own if v.city == city], values) for city in cities
    }
    reasons = _why_not(indicator, cells)
    ranked = {
        city: c.value for city, c in cells.items() if c.value is not None and city not in reasons
    }
    result = standing(ranked, indicator.better)
    cells = {
        city: replace(c, rank=result.ranks.get(city), reason=reasons.get(city, c.reason))
        for city, c in cells.items()
    }
    return Row(indicator, cells, [city for city, c in cells.items() if c.value is None])


def compare(
    cities: Sequence[str],
    values: Sequence[ReferenceValue],
    known: Catalogue | None = None,
    themes: Sequence[str] | None = None,
) -> Comparison:
    """The table of `cities` by the catalogue's indicators (of `themes`, when given) that
    any of them has a value for; a city without one is a missing cell (never filled in)."""
    known = known or catalogue()
    cities = [c.lower() for c in cities]
    peers = [v for v in values if v.city in cities]
    published = [v for v in peers if v.provenance != LIVE]
    live = [v for v in peers if v.provenance == LIVE]
    rows: list[Row] = []
    live_rows: list[Row] = []
    for indicator in known.indicators.values():
        if themes and indicator.theme not in themes:
            continue
        row = _row(indicator, cities, published)
        if any(cell.value is not None for cell in row.cells.values()):
            rows.append(row)
        measured = [v for v in live if v.indicator == indicator.id]
        if measured:
            cells = {
                city: replace(c, reason=("live",)) if c.value is not None else c
                for city, c in _row(indicator, cities, measured).cells.items()
            }
            live_rows.append(Row(indicator, cells, [c for c in cities if cells[c].value is None]))
    cited = (
        s for row in (*rows, *live_rows) for cell in row.cells.values() for s in cell.citations
    )
    sources = list(dict.fromkeys(cited))
    return Comparison(cities, rows, sources, live_rows)


def share_of_best(row: Row) -> dict[str, float]:
    """Each ranked city's value as a share of the best in the row (1.0 for the leader):
    value / best when higher is better, best / value when lower is.

    Only rows that rank two or more cities with positive values have shares: a ratio needs a
    peer to be measured against, and is meaningless across zero or a change of sign.
    """
    if row.indicator.better == "neutral":
        return {}
    values = {
        c.city: c.value for c in row.cells.values() if c.rank is not None and c.value is not None
    }
    if len(values) < 2 or any(v <= 0 for v in values.values()):
        return {}
    if row.indicator.better == "higher":
        best = max(values.values())
        return {city: v / best for city, v in values.items()}
    best = min(values.values())
    return {city: best / v for city, v in values.items()}


def theme_scores(comparison: Comparison) -> dict[str, dict[str, float | None]]:
    """Theme → city → mean share of the best (0 to 100) over the theme's comparable rows; None
    for a city without a value in any of them. Themes without a comparable row are left
    out. The radar chart of a comparison: a city at 100 leads every indicator of the theme."""
    shares: dict[str, dict[str, list[float]]] = {}
    for row in comparison.rows:
        row_shares = share_of_best(row)
        if not row_shares:
            continue
        theme = shares.setdefault(row.indicator.theme, {c: [] for c in comparison.cities})
        for city, share in row_shares.items():
            theme[city].append(share)
    return {
        theme: {
            city: (100 * sum(values) / len(values) if values else None)
            for city, values in by_city.items()
        }
        for theme, by_city in shares.items()
    }
