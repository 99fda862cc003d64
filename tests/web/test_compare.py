"""The "Compare cities" page (#/compare): by default Chongqing and London on transport and
education, one row per indicator, ranked only where comparable, each value with its area,
year and citations; the theme-score chart; the choice kept in the URL; Polish."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from tests.web.browser import PHONE
from tests.web.helpers import screenshot, show
from tests.web.test_pages import OVERFLOWING

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Route

    from tests.web.conftest import OpenPage

DEFAULT = ["chongqing", "london"]
ROW_18_1 = 'tr[data-indicator="iso37120-18.1"]'
COMPARE_API = re.compile(r"/indicators/compare\?")


def columns(root: Locator) -> list[str]:
    """The cities of the table's columns, in order."""
    return [th.get_attribute("data-city") or "" for th in root.locator("thead th[data-city]").all()]


def cell(root: Locator, row: str, city: str) -> Locator:
    return root.locator(f'{row} td[data-city="{city}"]')


def test_table_shows_values_ranks_and_missing(page: Page) -> None:
    root = show(page, "compare")
    assert columns(root) == DEFAULT
    themes = {t.get_attribute("data-theme") for t in root.locator("tbody[data-theme]").all()}
    assert themes == {"transportation", "education"}
    # One row per indicator; at least eight compare both cities on a comparable basis.
    assert root.locator('tr[data-compared="2"]').count() >= 8
    screenshot(page, "compare")

    chongqing = cell(root, ROW_18_1, "chongqing")
    assert chongqing.locator(".figure").inner_text() == "5.86"
    assert "km per 100 000 population" in chongqing.inner_text()
    assert "2023 · central urban area" in chongqing.inner_text()
    assert chongqing.get_attribute("data-rank") == "1"
    london = cell(root, ROW_18_1, "london")
    assert london.get_attribute("data-rank") == "2"
    assert chongqing.locator(".rank.rank-1").inner_text() == "1"

    # Not comparable: shown with the reason, no rank.
    buses = cell(root, 'tr[data-indicator="bus-fleet"]', "chongqing")
    assert buses.get_attribute("data-comparable") == "false"
    assert "more than 5 years older" in buses.locator(".reason").inner_text()
    assert buses.locator(".rank").count() == 0

    # Missing values read "missing": none is blank, none is 0.
    missing = root.locator("td.missing")
    assert missing.count() > 0
    assert set(missing.all_inner_texts()) == {"missing"}
    for text in root.locator("table.compare-table tbody td").all_inner_texts():
        assert text.strip(), "a blank cell"
        assert not re.fullmatch(r"0(\s.*)?", text.strip()), f"a missing value shown as 0: {text!r}"


def test_every_value_cites_a_listed_source(page: Page) -> None:
    root = show(page, "compare")
    sources = root.locator("ol.compare-sources > li")
    listed = {f"#{li.get_attribute('id')}": li.inner_text() for li in sources.all()}
    assert listed, "no sources listed under the table"
    values = root.locator("td.value")
    assert values.count() > 0
    for value in values.all():
        links = value.locator("a.cite")
        assert links.count() >= 1, f"a value without a citation: {value.inner_text()!r}"
        for link in links.all():
            href = link.get_attribute("href") or ""
            assert href in listed, f"{link.inner_text()} points to {href}, not a listed source"
            number = link.inner_text().strip("[]")
            assert href == f"#compare-source-{number}"
            assert listed[href] in (link.get_attribute("title") or "")

    # Following a marker scrolls to its source and leaves the route alone.
    before = page.url
    root.locator(f"{ROW_18_1} a.cite").first.click()
    assert page.url == before
    assert page.evaluate("document.activeElement.closest('ol.compare-sources') !== null")


def test_choosing_cities_changes_columns_and_url(page: Page) -> None:
    root = show(page, "compare")
    page.get_by_role("checkbox", name="Warsaw").check()
    page.wait_for_url(re.compile(r"#/compare\?cities=chongqing,london,warsaw$"))
    page.wait_for_function(
        "() => document.querySelectorAll('.compare-table thead th[data-city]').length === 3"
    )
    assert columns(root) == ["chongqing", "london", "warsaw"]

    page.get_by_role("checkbox", name="Chongqing").uncheck()
    page.wait_for_url(re.compile(r"cities=london,warsaw$"))
    page.wait_for_function(
        "() => document.querySelectorAll('.compare-table thead th[data-city]').length === 2"
    )
    assert columns(root) == ["london", "warsaw"]

    # A link reproduces a choice: the columns and the boxes follow the URL.
    page.goto("#/compare?cities=london,lodz&themes=all")
    page.wait_for_function(
        "() => document.querySelector('.compare-table thead th[data-city=\"lodz\"]') !== null"
    )
    root = page.locator('[data-page="compare"][data-ready="true"]')
    assert columns(root) == ["london", "lodz"]
    assert root.locator('tbody[data-theme="environment"]').count() == 1
    assert page.get_by_role("checkbox", name="London").is_checked()
    assert not page.get_by_role("checkbox", name="Chongqing").is_checked()


def test_charts_theme_bars_and_ranked_indicators(page: Page) -> None:
    root = show(page, "compare")
    # Two themes scored (transport, education): too few for a radar, so grouped bars.
    assert root.locator(".compare-chart.themes").get_attribute("data-chart") == "bars"
    holder = root.locator('.compare-figure [data-indicator="iso37120-18.1"]')
    assert holder.locator("canvas").count() == 1
    series = page.evaluate(
        "el => echarts.getInstanceByDom(el).getOption().series[0].data", holder.element_handle()
    )
    by_city = dict(zip(DEFAULT, series, strict=True))
    assert by_city["london"] == pytest.approx(4.534, abs=1e-3)
    assert by_city["chongqing"] == pytest.approx(5.857, abs=1e-3)


def test_live_values_are_listed_apart(page: Page) -> None:
    def fake(route: Route) -> None:
        cell = {"city": "chongqing", "value": 71.5, "unit": "%", "year": 2026, "period": "2026",
                "area": "municipality", "basis": "municipality", "rank": None,
                "citations": [{"title": "computed live (simulated)", "publisher": "cityos",
                               "published": "", "url": ""}],
                "reason": ["live"], "note": "", "bound": "", "quality": []}  # fmt: skip
        other = {"city": "london", "value": None, "unit": "%", "citations": []}
        oee = {"id": "oee", "theme": "economy", "name": "Overall equipment effectiveness"}
        body = {
            "cities": ["chongqing", "london"],
            "rows": [],
            "live": [{"indicator": oee, "missing": ["london"], "cells": [cell, other]}],
            "sources": cell["citations"],
            "themes": {},
        }
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(COMPARE_API, fake)
    root = show(page, "compare")
    live = root.locator(".compare-live")
    assert live.is_visible()
    assert "Measured by the city itself (not ranked)" in live.inner_text()
    assert live.locator('td[data-city="chongqing"] .rank').count() == 0
    assert "computed live" in live.locator('td[data-city="chongqing"] .reason').inner_text()
    assert root.locator(".compare-table-panel .rank").count() == 0


def test_radar_from_three_scored_themes(page: Page) -> None:
    def fake(route: Route) -> None:
        scores = {"chongqing": 40.0, "london": 100.0}
        body = {
            "cities": ["chongqing", "london"],
            "rows": [],
            "sources": [],
            "themes": {theme: scores for theme in ("transportation", "economy", "smart")},
        }
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(COMPARE_API, fake)
    root = show(page, "compare?cities=chongqing,london")
    themes = root.locator(".compare-chart.themes")
    assert themes.get_attribute("data-chart") == "radar"
    kind = page.evaluate(
        "el => echarts.getInstanceByDom(el).getOption().series[0].type", themes.element_handle()
    )
    assert kind == "radar"
    assert root.get_by_text("No indicator has a value for these cities.").is_visible()


def test_api_error_is_shown_as_a_message(page: Page, request: pytest.FixtureRequest) -> None:
    problem = {"title": "Service unavailable", "detail": "the indicator store is down"}
    page.route(
        COMPARE_API,
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body=json.dumps(problem)
        ),
    )
    root = show(page, "compare")
    alert = root.get_by_role("alert")
    assert "the indicator store is down" in alert.inner_text()
    assert root.locator(".compare-chooser input[type=checkbox]").count() >= 4
    # Chromium logs the failed request itself: expected here, anything else is not.
    errors: list[str] = request.node.console_errors
    errors[:] = [e for e in errors if "status of 503" not in e]


def test_compare_in_polish(open_page: OpenPage) -> None:
    page = open_page(locale="pl-PL")
    root = show(page, "compare")
    assert page.evaluate("document.documentElement.lang") == "pl-PL"
    assert root.locator("h1").inner_text() == "Porównanie miast"
    assert root.locator('thead th[data-city="london"]').inner_text() == "Londyn"
    assert set(root.locator("td.missing").all_inner_texts()) == {"brak"}
    stations = 'tr[data-indicator="urban-rail-stations"]'
    assert "312 stacji" in cell(root, stations, "chongqing").inner_text()  # CLDR: many
    assert "272 stacje" in cell(root, stations, "london").inner_text()  # CLDR: few
    assert "ok. 2024 · centralny obszar miejski" in cell(root, stations, "chongqing").inner_text()
    per_capita = 'tr[data-indicator="urban-rail-ridership-per-capita"]'
    assert "115 przejazdów" in cell(root, per_capita, "chongqing").inner_text()  # 114.5 shown
    assert (
        "mld przejazdów"
        in cell(root, 'tr[data-indicator="urban-rail-ridership"]', "london").inner_text()
    )
    assert page.locator('.lang-switch button[data-lang="pl"]').get_attribute("aria-pressed") == (
        "true"
    )
    screenshot(page, "compare-pl")


def test_compare_in_chinese(open_page: OpenPage) -> None:
    page = open_page(locale="zh-CN")
    root = show(page, "compare")
    assert root.locator("h1").inner_text() == "城市对比"
    assert root.locator('thead th[data-city="chongqing"]').inner_text() == "重庆"
    assert set(root.locator("td.missing").all_inner_texts()) == {"缺失"}


def test_compare_fits_a_phone(open_page: OpenPage) -> None:
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    root = show(page, "compare")
    screenshot(page, "compare-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (
        f"the compare page is {width} px wide on a {PHONE['width']} px phone; "
        f"too wide: {page.evaluate(OVERFLOWING, PHONE['width'])}"
    )
    # The table scrolls inside its own box instead.
    box = root.locator(".table-scroll")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
