"""`cityos compare` and `cityos indicators load` through the real command."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cityos.cli import app
from cityos.context.broker import Broker
from cityos.domains.base import CityView
from cityos.indicators.entities import load_values, stored_values
from cityos.indicators.reference import LIVE, ReferenceValue, Source, packaged_reference
from cityos.store.sqlite import SQLiteStore

HEADER = "city,indicator,value,unit,year,basis,source,note\n"


def test_compare_prints_values_ranks_and_footnotes(tmp_path: Path) -> None:
    extra = tmp_path / "testville.csv"
    extra.write_text(
        HEADER + "testville,population,200000,persons,2024,city proper,Testville census,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["compare", "chongqing", "london", "warsaw", "testville", "--reference", str(extra)]
    )
    assert result.exit_code == 0, result.output
    for text in ("Chongqing", "Testville", "#1", "missing", "Testville census", "central urban"):
        assert text in result.output
    assert "#None" not in result.output  # a population is context: no rank shown


def test_compare_side_by_side_on_transport_and_education() -> None:
    wide = CliRunner(env={"COLUMNS": "200"})
    args = ["compare", "chongqing", "london", "--theme", "transportation,education"]
    result = wide.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "compared on a comparable basis: 9 indicators" in result.output
    assert "Universities and colleges" in result.output and "Population" not in result.output
    assert "more than 5 years older" in result.output  # Chongqing's 2013 bus fleet: context
    polish = wide.invoke(app, [*args, "--language", "pl"])
    assert "porównane na porównywalnej podstawie: 9 wskaźników" in polish.output
    bad = wide.invoke(app, [*args[:3], "--theme", "weather"])
    assert bad.exit_code == 2 and "unknown theme" in bad.output


def test_compare_refuses_a_bad_csv_naming_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "x,population,many,persons,,city proper,s,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["compare", "x", "--reference", str(bad)])
    assert result.exit_code == 1
    assert "row 2" in result.output and "'many' is not a number" in result.output


def test_load_puts_every_value_in_the_broker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(app, ["indicators", "load", "--data", str(data)])
    assert result.exit_code == 0, result.output
    store = SQLiteStore(data)
    try:
        loaded = stored_values(CityView(Broker(store)))
    finally:
        store.close()
    assert sorted(loaded, key=repr) == sorted(packaged_reference(), key=repr)


def test_compare_takes_the_values_a_data_directory_holds(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "city")
    try:
        measured = ReferenceValue(
            "testville", "oee", 71.5, "%", 2026, "city proper", Source("live run"), provenance=LIVE
        )
        assert load_values(Broker(store), [measured]) == []
    finally:
        store.close()
    result = CliRunner().invoke(app, ["compare", "testville", "--data", str(tmp_path / "city")])
    assert result.exit_code == 0, result.output
    assert "71.5" in result.output and "live run" in result.output
    assert "Measured by the city itself (not ranked)" in result.output
    wide = CliRunner(env={"COLUMNS": "200"})
    empty = wide.invoke(app, ["compare", "testville", "--data", str(tmp_path / "none")])
    assert empty.exit_code == 2 and "holds no cityos data" in empty.output
