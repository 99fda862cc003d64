"""The "Compare cities" page (#/compare): the indicator table of the chosen cities, with
ranks and citations, the theme-score chart, and the choice of cities kept in the URL."""

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

DEFAULT = ["chongqing", "london", "warsaw", "duisburg"]
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

    chongqing = cell(root, ROW_18_1, "chongqing")
    assert chongqing.locator(".figure").inner_text() == "1.75"
    assert "km per 100 000 population" in chongqing.inner_text()
    assert chongqing.get_attribute("data-rank") == "2"
    london = cell(root, ROW_18_1, "london")
    assert london.get_attribute("data-rank") == "1"
    assert london.locator(".rank.rank-1").inner_text() == "1"
    assert root.locator(".rank.rank-1").count() >= 1

    # Missing values read "missing": none is blank, none is 0.
    missing = root.locator("td.missing")
    assert missing.count() > 0
    assert set(missing.all_inner_texts()) == {"missing"}
    assert cell(root, ROW_18_1, "warsaw").inner_text() == "missing"
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
    page.get_by_role("checkbox", name="Warsaw").uncheck()
    page.wait_for_url(re.compile(r"#/compare\?cities=chongqing,london,duisburg$"))
    page.wait_for_function(
        "document.querySelectorAll('.compare-table thead th[data-city]').length === 3"
    )
    assert columns(root) == ["chongqing", "london", "duisburg"]

    page.get_by_role("checkbox", name="Warsaw").check()
    page.wait_for_url(re.compile(r"cities=chongqing,london,duisburg,warsaw$"))
    page.wait_for_function(
        "document.querySelectorAll('.compare-table thead th[data-city]').length === 4"
    )
    assert columns(root) == ["chongqing", "london", "duisburg", "warsaw"]

    # A link reproduces a choice: the columns and the boxes follow the URL.
    page.goto("#/compare?cities=london,warsaw")
    page.wait_for_function(
        "document.querySelectorAll('.compare-table thead th[data-city]').length === 2"
    )
    root = page.locator('[data-page="compare"][data-ready="true"]')
    assert columns(root) == ["london", "warsaw"]
    assert page.get_by_role("checkbox", name="London").is_checked()
    assert not page.get_by_role("checkbox", name="Chongqing").is_checked()
    page.reload()
    root = show(page, "compare?cities=london,warsaw")
    assert columns(root) == ["london", "warsaw"]


def test_charts_theme_bars_and_ranked_indicators(page: Page) -> None:
    root = show(page, "compare")
    # The demo data score one theme: too few for a radar, so grouped bars.
    assert root.locator(".compare-chart.themes").get_attribute("data-chart") == "bars"
    holder = root.locator('.compare-figure [data-indicator="iso37120-18.1"]')
    assert holder.locator("canvas").count() == 1
    series = page.evaluate(
        "el => echarts.getInstanceByDom(el).getOption().series[0].data", holder.element_handle()
    )
    by_city = dict(zip(DEFAULT, series, strict=True))
    assert by_city["london"] == pytest.approx(4.4856, abs=1e-3)
    for city in ("warsaw", "duisburg"):  # no bar of 0: an empty one labelled "missing"
        assert by_city[city]["label"]["formatter"] == "missing", by_city[city]


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
