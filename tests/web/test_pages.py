"""Every page loads against the living demo city, draws its data, and logs no errors;
a screenshot of each (docs/screenshots) shows what a visitor sees."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.web.browser import PAGES, PHONE
from tests.web.helpers import screenshot, show

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.web.conftest import OpenPage


OVERFLOWING = """width => {
  const past = (e) => e.getBoundingClientRect().right > width + 1;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + [...e.classList].map((c) => "." + c).join("");
  return [...document.querySelectorAll("body *")]
    .filter((e) => past(e) && !past(e.parentElement) && !e.closest(".leaflet-container"))
    .map((e) => `${name(e)} (right edge ${Math.round(e.getBoundingClientRect().right)} px)`);
}"""
"""The outermost elements that stick out past the right edge (maps draw past it by design)."""


@pytest.mark.parametrize("page_id", PAGES)
def test_page_loads_and_draws_its_data(page: Page, page_id: str) -> None:
    root = show(page, page_id)
    assert root.is_visible()
    nav = page.locator(f'#nav a[href="#/{page_id}"]')
    assert nav.get_attribute("aria-current") == "page"
    screenshot(page, page_id)


def test_report_page_fits_a_phone(open_page: OpenPage) -> None:
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    show(page, "report")
    screenshot(page, "report-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (
        f"the report page is {width} px wide on a {PHONE['width']} px phone; "
        f"too wide: {page.evaluate(OVERFLOWING, PHONE['width'])}"
    )


def test_overview_in_chinese_for_a_chinese_browser(open_page: OpenPage) -> None:
    # No language chosen yet: the dashboard follows the browser's (navigator.language).
    page = open_page(locale="zh-CN")
    show(page, "overview")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator('#nav a[href="#/overview"]').inner_text() == "总览"
    screenshot(page, "overview-zh")
