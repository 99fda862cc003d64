"""The catalogue: ISO 37120 themes, cited names, cityos's own indicators."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityos.indicators.catalogue import THEMES, CatalogueError, catalogue, load_catalogue

ISSUE_THEMES = (
    "economy, education, energy, environment, finance, governance, health, housing, "
    "population, recreation, safety, solid waste, sport and culture, telecommunication, "
    "transportation, urban agriculture, urban planning, wastewater, water"
)


def test_themes_are_the_iso_37120_ones_then_smart() -> None:
    assert (*ISSUE_THEMES.split(", "), "smart") == THEMES


def test_standard_names_are_cited_and_the_rest_are_cityos_own() -> None:
    indicators = catalogue().indicators
    for indicator in indicators.values():
        if indicator.id.startswith("iso37120-"):
            assert "ISO 37120" in indicator.source and "http" in indicator.source
        else:
            assert indicator.source == "cityos" and indicator.theme in THEMES
    assert indicators["iso37120-18.1"].name == (
        "Kilometres of high capacity public transport system per 100 000 population"
    )
    wanted = {
        "population",
        "gdp",
        "urban-rail-length",
        "urban-rail-stations",
        "urban-rail-ridership-per-capita",
        "governance-on-time-accept",
        "sensors-reporting",
        "freight-trains-per-month",
        "air-quality-good-days",
        "oee",
    }
    assert wanted <= indicators.keys()


def test_an_uncited_standard_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(
        "indicators:\n  - {id: iso37120-9.9, theme: health, name: Made up, definition: d,"
        " unit: u, better: higher, formula: f, source: a blog}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match="indicator 1: an ISO 37120 indicator must cite"):
        load_catalogue(path)
