"""Normalisation, ranking and the comparison table, on hand-computed cases: ranked only on a
comparable area, unit and year window; published and live apart; one row per indicator."""

from __future__ import annotations

import pytest

from cityos.indicators.compare import (
    Normalised,
    compare,
    per_population,
    share_of_best,
    standing,
    theme_scores,
)
from cityos.indicators.reference import LIVE, ReferenceValue, Source, packaged_reference


def ref(
    city: str,
    indicator: str,
    value: float,
    year: int | None = None,
    basis: str = "city proper",
    source: str = "test source",
    unit: str = "u",
    provenance: str = "published",
) -> ReferenceValue:
    return ReferenceValue(
        city, indicator, value, unit, year, basis, Source(source), provenance=provenance
    )


def test_per_100000_uses_the_same_basis_and_the_nearest_year() -> None:
    length = ref("a", "urban-rail-length", 50, 2020)
    populations = [
        ref("a", "population", 1_000_000, 2017),
        ref("a", "population", 2_000_000, 2021, source="census 2021"),
        ref("a", "population", 10_000_000, 2020, basis="municipality"),  # other basis: never
        ref("b", "population", 4_000_000, 2020),  # other city: never
    ]
    result = per_population(length, populations, 100_000)
    assert isinstance(result, Normalised)
    assert result.value == pytest.approx(2.5)  # 50 / 2 000 000 x 100 000
    assert result.population.source == Source("census 2021")


def test_equally_near_years_take_the_later_and_stated_years_come_first() -> None:
    length = ref("a", "urban-rail-length", 30, 2020)
    around = [ref("a", "population", 1_000_000, 2019), ref("a", "population", 3_000_000, 2021)]
    result = per_population(length, around, 1)
    assert isinstance(result, Normalised) and result.value == pytest.approx(1e-5)
    undated = ref("a", "urban-rail-length", 30)
    dated = [ref("a", "population", 600_000), ref("a", "population", 300_000, 2015)]
    result = per_population(undated, dated, 100_000)
    assert isinstance(result, Normalised) and result.value == pytest.approx(10.0)
    assert result.population.year == 2015


def test_no_population_of_the_basis_is_said_not_guessed() -> None:
    length = ref("a", "urban-rail-length", 30, basis="municipality")
    result = per_population(length, [ref("a", "population", 1_000_000)], 100_000)
    assert result == "municipality"  # the area whose population is missing


def test_a_city_alone_with_a_value_has_no_rank() -> None:
    assert standing({"a": 3.0, "b": None}, "higher").ranks == {}
    assert standing({"a": 3.0, "b": None}, "higher").missing == ["b"]


def test_higher_is_better_ties_share_a_rank_and_missing_is_reported() -> None:
    result = standing({"a": 3.0, "b": 5.0, "c": 5.0, "d": None, "e": 1.0}, "higher")
    assert result.ranks == {"b": 1, "c": 1, "a": 3, "e": 4}
    assert result.missing == ["d"]


def test_lower_is_better() -> None:
    result = standing({"a": 3.0, "b": 5.0, "c": 3.0}, "lower")
    assert result.ranks == {"a": 1, "c": 1, "b": 3}
    assert standing({"a": None}, "lower").ranks == {}


def test_a_neutral_indicator_is_context_and_never_ranked() -> None:
    result = standing({"big": 9_000_000.0, "small": 500_000.0, "unknown": None}, "neutral")
    assert (result.ranks, result.missing) == ({}, ["unknown"])


def test_the_starting_set_compared() -> None:
    table = compare(["Chongqing", "london", "warsaw"], packaged_reference())
    ids = [row.indicator.id for row in table.rows]
    assert len(ids) == len(set(ids)), "one row per indicator"
    rows = {row.indicator.id: row for row in table.rows}
    transit = rows["iso37120-18.1"]
    # 561.18 km / 9 580 770 (central urban area, 2018) x 100 000, never the 32 million of the
    # municipality; 402 km / 8 866 180 (Greater London, 2022) x 100 000
    chongqing, london = transit.cells["chongqing"], transit.cells["london"]
    assert chongqing.value == pytest.approx(5.85736, rel=1e-5)
    assert chongqing.population is not None and chongqing.population.value == 9_580_770
    assert london.value == pytest.approx(4.53408, rel=1e-5)
    assert (chongqing.area, london.area) == ("urban-core", "city")
    assert (chongqing.rank, london.rank, transit.cells["warsaw"].rank) == (1, 2, 3)
    # A population is context: shown, never ranked.
    population = rows["population"]
    assert all(cell.rank is None for cell in population.cells.values())
    assert population.cells["chongqing"].reason == ("context",)
    # Chongqing and London on a comparable basis: at least eight transport and education rows.
    side = compare(["chongqing", "london"], packaged_reference(), themes=SIDE)
    assert {r.indicator.theme for r in side.rows} <= set(SIDE)
    assert len(side.both("chongqing", "london")) >= 8


SIDE = ("transportation", "education")


def test_ranking_refuses_incomparable_bases() -> None:
    values = [
        ref("a", "population", 30_000_000, 2020, basis="municipality"),
        ref("a", "urban-rail-length", 500, 2020, basis="municipality"),
        ref("b", "population", 8_000_000, 2020),
        ref("b", "urban-rail-length", 400, 2020),
        ref("c", "population", 2_000_000, 2020),
        ref("c", "urban-rail-length", 40, 2010),  # outside the five-year window
    ]
    row = {r.indicator.id: r for r in compare(["a", "b", "c"], values).rows}["iso37120-18.1"]
    a, b, c = (row.cells[x] for x in "abc")
    # a municipality against a city: shown with the reason, never ranked
    assert a.value == pytest.approx(500 / 30e6 * 1e5) and a.rank is None
    assert a.reason == ("area", "municipality")
    assert c.rank is None and c.reason == ("window", "5", "2020")
    assert b.rank is None and b.reason == ("alone",)  # no comparable peer: leads no one
    # Given a central urban area, the city is compared on it instead.
    values += [
        ref("a", "population", 9_000_000, 2020, basis="urban-core"),
        ref("a", "urban-rail-length", 500, 2020, basis="urban-core"),
    ]
    row = {r.indicator.id: r for r in compare(["a", "b"], values).rows}["iso37120-18.1"]
    assert row.cells["a"].area == "urban-core" and row.cells["a"].rank == 1
    assert row.cells["a"].value == pytest.approx(500 / 9e6 * 1e5)
    assert row.cells["b"].rank == 2
    # Two currencies are never ranked against each other.
    money = [
        ref("a", "gdp-per-capita", 90_000, 2022, unit="CNY"),
        ref("b", "gdp-per-capita", 60_000, 2022, unit="GBP"),
    ]
    [gdp] = compare(["a", "b"], money).rows
    assert {c.rank for c in gdp.cells.values()} == {None}
    assert gdp.cells["a"].reason == ("unit", "CNY")


def test_published_and_live_never_share_a_ranking() -> None:
    values = [
        ref("a", "urban-rail-length", 900, 2026, provenance=LIVE, source="simulated"),
        ref("b", "urban-rail-length", 400, 2024),
        ref("c", "urban-rail-length", 100, 2024),
    ]
    table = compare(["a", "b", "c"], values)
    [row] = [r for r in table.rows if r.indicator.id == "urban-rail-length"]
    # a's simulated 900 km beats no one: the published row ranks b and c alone
    assert row.cells["a"].value is None
    assert (row.cells["b"].rank, row.cells["c"].rank) == (1, 2)
    [live] = table.live
    assert live.cells["a"].value == 900 and live.cells["a"].rank is None
    assert live.cells["a"].reason == ("live",)
    assert all(c.value is None for city, c in live.cells.items() if city != "a")
    assert all(c.rank is None for r in table.live for c in r.cells.values())


def test_sources_that_disagree_are_both_kept() -> None:
    table = compare(["chongqing", "london"], packaged_reference())
    length = next(r for r in table.rows if r.indicator.id == "urban-rail-length")
    cell = length.cells["chongqing"]
    assert cell.value == 561.18
    assert [(a.value, a.period) for a in cell.alternatives] == [(523.68, "2023")]
    assert cell.alternatives[0].citations[0] != cell.citations[0]


def test_every_value_carries_its_citations() -> None:
    cities = ["chongqing", "london", "warsaw", "lodz", "duisburg"]
    table = compare(cities, packaged_reference())
    cells = [cell for row in table.rows for cell in row.cells.values()]
    assert all(cell.citations for cell in cells if cell.value is not None)
    assert all(not cell.citations for cell in cells if cell.value is None)
    assert {c for cell in cells for c in cell.citations} == set(table.sources)
    per_capita = next(r for r in table.rows if r.indicator.id == "urban-rail-ridership-per-capita")
    ridership, population = per_capita.cells["chongqing"].citations
    assert "Chongqing Rail Transit" in ridership.title and population.title.startswith("Chongqing")
    assert per_capita.cells["chongqing"].value == pytest.approx(1.097e9 / 9_580_770)


def test_theme_scores_are_mean_shares_of_the_best_per_theme() -> None:
    values = [  # dated: an undated value is never ranked
        ref("a", "population", 1_000_000, 2020),
        ref("b", "population", 2_000_000, 2020),
        ref("c", "population", 500_000, 2020),
        # 18.1 (higher is better): a 4.0, b 1.0 per 100 000; c has no length -> missing
        ref("a", "urban-rail-length", 40, 2020),
        ref("b", "urban-rail-length", 20, 2020),
        ref("a", "urban-rail-ridership", 10_000_000, 2020),
        ref("b", "urban-rail-ridership", 80_000_000, 2020),
        ref("c", "urban-rail-ridership", 50_000_000, 2020),
    ]
    values += [ref("a", "gdp-per-capita", 300, 2020), ref("b", "gdp-per-capita", 100, 2020)]
    scores = theme_scores(compare(["a", "b", "c"], values))
    # transportation: 18.1 per 100 000 a 4.0, b 1.0 (c has no length) -> 1.0, 0.25;
    # length a 40, b 20 -> 1.0, 0.5; ridership 10M, 80M, 50M -> 0.125, 1.0, 0.625;
    # ridership per capita 10, 40, 100 -> 0.1, 0.4, 1.0
    transportation = scores["transportation"]
    assert transportation["a"] == pytest.approx(100 * (1.0 + 1.0 + 0.125 + 0.1) / 4)
    assert transportation["b"] == pytest.approx(100 * (0.25 + 0.5 + 1.0 + 0.4) / 4)
    assert transportation["c"] == pytest.approx(100 * (0.625 + 1.0) / 2)
    # economy: gdp a 300, b 100; c has none. population is neutral: no theme of its own
    assert scores["economy"] == {"a": 100.0, "b": pytest.approx(100 / 3), "c": None}
    assert set(scores) == {"transportation", "economy"}


def test_a_row_with_one_city_or_a_non_positive_value_has_no_shares() -> None:
    lone = compare(["a", "b"], [ref("a", "urban-rail-length", 40)])
    assert [share_of_best(row) for row in lone.rows] == [{}]
    assert theme_scores(lone) == {}
    zero = compare(["a", "b"], [ref("a", "gdp-per-capita", 0), ref("b", "gdp-per-capita", 5)])
    assert share_of_best(zero.rows[0]) == {}
