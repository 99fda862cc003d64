"""Cities side by side: per-capita normalisation, standing in a peer group, the table.

Pure functions over reference values. The rules, and why:

- A derived indicator (per 100 000 population, per capita) divides a value by the population
  of the *same basis* (city proper, municipality...), nearest in year: a ratio is comparable
  between cities when its numerator and denominator cover the same area, whichever it is.
- An absolute figure (population, GDP) is compared only within one basis, so the table has
  one row per indicator and basis: Chongqing municipality's 32 million are not set against
  London's city proper.
- Rank 1 is the best in the peer group, respecting the indicator's `better`; ties share a
  rank (1, 1, 3); a city without a value has no rank and is listed as missing, and a city
  alone with a value has no rank either: it is ahead of no one.
- Every cell with a value carries the citations it was computed from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .catalogue import Better, Catalogue, Indicator, catalogue
from .reference import ReferenceValue

POPULATION = "population"


@dataclass(frozen=True, slots=True)
class Normalised:
    value: float
    population: ReferenceValue
    """The population it was divided by."""
    note: str
    """Which population, in words: basis, figure, year."""


def _year(year: int | None) -> str:
    return str(year) if year is not None else "year not stated"


def per_population(
    value: ReferenceValue, populations: Iterable[ReferenceValue], per: int
) -> Normalised | str:
    """`value` per `per` inhabitants of its own basis, with the population nearest in year
    (a later one on a tie; one with a stated year before one without); or why it cannot be."""
    candidates = [
        p
        for p in populations
        if p.indicator == POPULATION and p.city == value.city and p.basis == value.basis
    ]
    if not candidates:
        return f"no {value.basis} population of {value.city}"

    def distance(p: ReferenceValue) -> tuple[int, int, int]:
        if value.year is not None and p.year is not None:
            return (0, abs(p.year - value.year), -p.year)
        return (1 if p.year is None else 0, 0, -(p.year or 0))

    population = min(candidates, key=distance)
    if population.value <= 0:
        return f"the {value.basis} population of {value.city} is not positive"
    note = f"÷ {value.basis} population {population.value:,.0f} ({_year(population.year)})"
    if per != 1:
        note += f", per {per:,}"
    return Normalised(value.value / population.value * per, population, note)


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
class Cell:
    city: str
    value: float | None
    unit: str
    year: int | None
    basis: str | None
    citations: tuple[str, ...]
    """The sources the value comes from (the value's, then its population's)."""
    note: str
    rank: int | None = None


@dataclass(frozen=True, slots=True)
class Row:
    indicator: Indicator
    basis: str | None
    """The population basis shared by the row (absolute figures); None for ratios."""
    cells: dict[str, Cell]
    missing: list[str]


@dataclass(frozen=True, slots=True)
class Comparison:
    cities: list[str]
    rows: list[Row]
    sources: list[str] = field(default_factory=list)
    """Every citation in the table, once, in order of first use (the footnotes)."""


def _latest(values: Iterable[ReferenceValue]) -> ReferenceValue | None:
    """The most recent value; one without a stated year counts as the oldest."""
    return max(values, key=lambda v: (v.year is not None, v.year or 0), default=None)


def _cell(city: str, value: ReferenceValue) -> Cell:
    citations = (value.source,)
    return Cell(city, value.value, value.unit, value.year, value.basis, citations, value.note)


def _derived_cell(city: str, indicator: Indicator, values: Sequence[ReferenceValue]) -> Cell:
    assert indicator.numerator is not None and indicator.per is not None
    numerators = [v for v in values if v.city == city and v.indicator == indicator.numerator]
    latest = _latest(numerators)
    if latest is None:
        return Cell(city, None, indicator.unit, None, None, (), f"no {indicator.numerator}")
    normalised = per_population(latest, values, indicator.per)
    if isinstance(normalised, str):
        return Cell(city, None, indicator.unit, latest.year, latest.basis, (), normalised)
    citations = tuple(dict.fromkeys((latest.source, normalised.population.source)))
    note = f"{latest.value:,.10g} {latest.unit} {normalised.note}"
    return Cell(city, normalised.value, indicator.unit, latest.year, latest.basis, citations, note)


def _ranked(indicator: Indicator, basis: str | None, cells: dict[str, Cell]) -> Row:
    result = standing({city: cell.value for city, cell in cells.items()}, indicator.better)
    ranked = {
        city: Cell(
            c.city, c.value, c.unit, c.year, c.basis, c.citations, c.note, result.ranks.get(city)
        )
        for city, c in cells.items()
    }
    return Row(indicator, basis, ranked, result.missing)


def compare(
    cities: Sequence[str],
    values: Sequence[ReferenceValue],
    known: Catalogue | None = None,
) -> Comparison:
    """The table of `cities` by the catalogue's indicators that any of them has a value for;
    a city without one is a missing cell (never filled in)."""
    known = known or catalogue()
    cities = [c.lower() for c in cities]
    peers = [v for v in values if v.city in cities]
    rows: list[Row] = []
    for indicator in known.indicators.values():
        if indicator.derived:
            cells = {city: _derived_cell(city, indicator, peers) for city in cities}
            if any(cell.value is not None for cell in cells.values()):
                rows.append(_ranked(indicator, None, cells))
            continue
        own = [v for v in peers if v.indicator == indicator.id]
        for basis in dict.fromkeys(v.basis for v in own):
            cells = {}
            for city in cities:
                latest = _latest(v for v in own if v.city == city and v.basis == basis)
                cells[city] = (
                    _cell(city, latest)
                    if latest
                    else Cell(city, None, indicator.unit, None, basis, (), "no value")
                )
            rows.append(_ranked(indicator, basis, cells))
    sources = list(
        dict.fromkeys(c for row in rows for cell in row.cells.values() for c in cell.citations)
    )
    return Comparison(cities, rows, sources)


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
