"""The language switch turns the whole dashboard between English and Chinese."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from tests.web.helpers import show

if TYPE_CHECKING:
    from playwright.sync_api import Page

HAN = re.compile(r"[\u4e00-\u9fff]")


class Texts(NamedTuple):
    lang: str
    nav: list[str]
    heading: str
    title: str


def texts(page: Page) -> Texts:
    return Texts(
        lang=page.evaluate("document.documentElement.lang"),
        nav=page.locator("#nav a").all_inner_texts(),
        heading=page.locator("[data-page] :is(h1, h2)").first.inner_text(),
        title=page.title(),
    )


def test_language_switch_changes_the_text(page: Page) -> None:
    show(page, "overview")
    english = texts(page)
    assert english.lang == "en"
    assert not any(HAN.search(label) for label in english.nav), english.nav

    page.get_by_role("button", name="中文").click()
    page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
    page.wait_for_selector('[data-page="overview"][data-ready="true"]')
    chinese = texts(page)
    assert page.get_by_role("button", name="中文").get_attribute("aria-pressed") == "true"
    for label_en, label_zh in zip(english.nav, chinese.nav, strict=True):
        assert label_en != label_zh and HAN.search(label_zh), (label_en, label_zh)
    assert chinese.heading != english.heading and HAN.search(chinese.heading), chinese.heading
    assert chinese.title != english.title

    # The choice is remembered across a reload; switching back restores the English text.
    page.reload()
    show(page, "overview")
    assert texts(page).lang == "zh-CN"
    page.get_by_role("button", name="EN").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert texts(page).nav == english.nav
