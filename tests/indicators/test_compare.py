"""Normalisation, ranking and the comparison table, on hand-computed cases."""

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
from cityos.indicators.reference import ReferenceValue, packaged_reference


def ref(
    city: str,
    indicator: str,
    value: float,
    year: int | None = None,
    basis: str = "city proper",
    source: str = "test source",
) -> ReferenceValue:
    return ReferenceValue(city, indicator, value, "u", year, basis, source)


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
    assert result.population.source == "census 2021"
    assert "city proper population 2,000,000 (2021)" in result.note


def test_equally_near_years_take_the_later_and_stated_years_come_first() -> None:
    length = ref("a", "urban-rail-length", 30, 2020)
    around = [ref("a", "population", 1_000_000, 2019), ref("a", "population", 3_000_000, 2021)]
    result = per_population(length, around, 1)
    assert isinstance(result, Normalised) and result.value == pytest.approx(1e-5)
    undated = ref("a", "urban-rail-length", 30)
    dated = [ref("a", "population", 600_000), ref("a", "population", 300_000, 2015)]
    result = per_population(undated, dated, 100_000)
    assert isinstance(result, Normalised) and result.value == pytest.approx(10.0)
    assert "(2015)" in result.note


def test_no_population_of_the_basis_is_said_not_guessed() -> None:
    length = ref("a", "urban-rail-length", 30, basis="municipality")
    result = per_population(length, [ref("a", "population", 1_000_000)], 100_000)
    assert result == "no municipality population of a"


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
    rows = {(row.indicator.id, row.basis): row for row in table.rows}
    transit = rows[("iso37120-18.1", None)]
    # 561.18 km / 32 050 000 (municipality) x 100 000; 402 km / 8 961 989 (city proper) x 100 000
    assert transit.cells["chongqing"].value == pytest.approx(1.75095, rel=1e-5)
    assert transit.cells["london"].value == pytest.approx(4.48561, rel=1e-5)
    assert transit.cells["chongqing"].basis == "municipality"
    assert (transit.cells["london"].rank, transit.cells["chongqing"].rank) == (1, 2)
    assert transit.cells["warsaw"].value is None and transit.missing == ["warsaw"]
    # Absolute figures are compared within one basis only; a population is not ranked.
    population = rows[("population", "city proper")]
    assert population.cells["warsaw"].value == 1_702_139
    assert all(cell.rank is None for cell in population.cells.values())
    assert rows[("urban-rail-length", "municipality")].cells["chongqing"].rank is None  # alone
    assert rows[("population", "municipality")].missing == ["london", "warsaw"]


def test_every_value_carries_its_citations() -> None:
    table = compare(["chongqing", "london", "warsaw", "duisburg"], packaged_reference())
    cells = [cell for row in table.rows for cell in row.cells.values()]
    assert all(cell.citations for cell in cells if cell.value is not None)
    assert all(not cell.citations for cell in cells if cell.value is None)
    assert {c for cell in cells for c in cell.citations} == set(table.sources)
    per_capita = next(r for r in table.rows if r.indicator.id == "urban-rail-ridership-per-capita")
    assert per_capita.cells["chongqing"].citations == ("Wikipedia", "ichongqing.info")
    assert per_capita.cells["chongqing"].value == pytest.approx(1.097e9 / 32.05e6)


def test_theme_scores_are_mean_shares_of_the_best_per_theme() -> None:
    values = [
        ref("a", "population", 1_000_000),
        ref("b", "population", 2_000_000),
        ref("c", "population", 500_000),
        # 18.1 (higher is better): a 4.0, b 1.0 per 100 000; c has no length -> missing
        ref("a", "urban-rail-length", 40),
        ref("b", "urban-rail-length", 20),
        ref("a", "urban-rail-ridership", 10_000_000),
        ref("b", "urban-rail-ridership", 80_000_000),
        ref("c", "urban-rail-ridership", 50_000_000),
    ]
    values += [ref("a", "gdp", 300), ref("b", "gdp", 100)]
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
    zero = compare(["a", "b"], [ref("a", "gdp", 0), ref("b", "gdp", 5)])
    assert share_of_best(zero.rows[0]) == {}
