"""Reference values from CSV: the packaged set, validation, a new city."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityos.indicators.compare import compare
from cityos.indicators.reference import (
    ReferenceError,
    load_reference,
    merge,
    packaged_reference,
)

HEADER = "city,indicator,value,unit,year,basis,source,note\n"


def test_the_packaged_set_is_the_cited_figures_only() -> None:
    values = {(v.city, v.indicator, v.basis): v for v in packaged_reference()}
    assert {v.city for v in values.values()} == {"chongqing", "london", "warsaw", "duisburg"}
    assert values[("duisburg", "population", "city proper")].value == 504_358
    rides = values[("chongqing", "urban-rail-ridership", "municipality")]
    assert (rides.value, rides.year, rides.source) == (1.097e9, 2021, "Wikipedia")
    gdp = values[("chongqing", "gdp", "municipality")]
    assert (gdp.year, gdp.source) == (2023, "People's Daily, 2024-01-22")
    assert values[("london", "urban-rail-length", "city proper")].source == "TfL figures"
    # Nothing cited for Warsaw or Duisburg but their population: nothing else is there.
    assert {k[1] for k in values if k[0] in ("warsaw", "duisburg")} == {"population"}
    assert all(v.source for v in values.values())


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
        + "a,population,1000,persons,2020,city proper,census again,\n",
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
    assert cell.rank == 1 and transit.cells["london"].rank == 2
    assert cell.citations == ("Testville transit authority", "Testville statistics office")
