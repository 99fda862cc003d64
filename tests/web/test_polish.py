"""Polski across the operations centre (issue 19): every string a module registers has Polish
text, no English word shows on a page in Polish (names and quoted titles aside), and counts
take their CLDR plural forms (1 zgłoszenie, 2 zgłoszenia, 5 zgłoszeń, 22 zgłoszenia)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

from tests.web.browser import PAGES, bearer
from tests.web.helpers import screenshot, show

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.web.conftest import OpenPage

I18N = "new URL('js/i18n.js', document.baseURI).href"
"""The dashboard's own i18n module (the same instance its pages use)."""

ENGLISH = re.compile(
    r"\b(the|and|of|for|with|from|per|is|are|not|yes|none|cases?|trains?|machines?|loading"
    r"|no data|last|simulated|village|community|station|gauge|river|plant|factory|building"
    r"|farm|plot|school|vehicles?|unknown|open|closed|overdue|department|district|category"
    r"|state|priority|reported|level|days?|hours?|minutes?|average|showing|newest|search"
    r"|sign in|key figures|alerts?|overview|report|queue|filters?|any|previous|next)\b",
    re.IGNORECASE,
)
"""English words the dashboard's own text could leak (none of them is also Polish)."""

QUOTED = re.compile(r"“[^”]*”|„[^”]*”|https?://\S+|urn:\S+")
"""Quoted titles, addresses and entity ids, which stay as their sources wrote them."""

VISIBLE_TEXT = """() => {
  // What a reader sees, less the compared sources' bibliography (publishers and titles as
  // published).
  let text = document.body.innerText;
  for (const node of document.querySelectorAll(".compare-sources li")) {
    text = text.replace(node.innerText, "");
  }
  return text;
}"""


CHART_MONTHS = """() => {
  const node = document.querySelector("#page [_echarts_instance_]");
  return node && echarts.getInstanceByDom(node).getModel().getLocaleModel().get("time.monthAbbr");
}"""
"""The month abbreviations of the page's first chart (its ECharts locale)."""


def polish_plural(n: int) -> str:
    """CLDR's Polish category of an integer: one, few or many."""
    if n == 1:
        return "one"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return "few"
    return "many"


CASES = {"one": "zgłoszenie", "few": "zgłoszenia", "many": "zgłoszeń"}


def file_cases(city: str, key: str) -> str:
    """Three citizen reports in Polish (the queue and the overview have something to show);
    the id of the first."""
    reports = [
        ("pothole", [106.577, 29.557], "Głęboka dziura na pasie autobusowym przy przystanku."),
        ("streetlight-out", [106.53, 29.6], "Latarnia nie świeci od trzech dni."),
        ("noise", [106.46, 29.56], "Hałas z budowy po godzinie 22."),
    ]
    ids = []
    with httpx.Client(base_url=city, headers=bearer(key), timeout=10) as client:
        for category, point, description in reports:
            answer = client.post(
                "/governance/cases",
                json={
                    "category": category,
                    "source": "citizen",
                    "description": description,
                    "location": {"type": "Point", "coordinates": point},
                },
            )
            assert answer.status_code == 201, answer.text[:500]
            ids.append(str(answer.json()["id"]))
    return ids[0]


def in_polish(open_page: OpenPage) -> Page:
    """A signed-in dashboard switched to Polski with the language buttons."""
    page = open_page()
    show(page, "overview")
    page.locator('.lang-switch button[data-lang="pl"]').click()
    page.wait_for_function("() => document.documentElement.lang === 'pl-PL'")
    return page


def english_in(text: str) -> list[str]:
    """The lines of `text` with an English word, quoted titles and addresses left out."""
    return [line for line in text.splitlines() if ENGLISH.search(QUOTED.sub("", line))]


def test_every_registered_string_has_polish_text(open_page: OpenPage) -> None:
    page = in_polish(open_page)
    page.wait_for_selector('#nav a:not(.unavailable)[href="#/report"]')  # every page module in
    missing = page.evaluate(f"async () => (await import({I18N})).missing('pl')")
    assert missing == [], f"{len(missing)} key(s) have no Polish text: {missing[:40]}"


def test_no_english_on_any_page_in_polish(open_page: OpenPage, city: str, city_key: str) -> None:
    case_id = file_cases(city, city_key)
    page = in_polish(open_page)
    found: dict[str, list[str]] = {}
    for page_id in [*PAGES, f"cases/{case_id}"]:
        if page_id.startswith("cases/"):  # the queue with a case's detail open
            page.goto(f"#/{page_id}")
            page.locator("aside:visible .panel-head").wait_for()
        else:
            show(page, page_id)
            page.wait_for_timeout(500)  # late parts (charts, second fetches)
        if page_id == "map":  # simulated places are found, and named, in Polish
            page.fill("#map-search-input", "Shiban")
            page.locator("#map-search-results li").first.wait_for()
            names = page.locator("#map-search-results li").all_inner_texts()
            assert all("wieś Shiban" in name and "(symulacja)" in name for name in names), names
            assert english_in("\n".join(names)) == []
        assert page.evaluate("document.documentElement.lang") == "pl-PL"
        if lines := english_in(page.evaluate(VISIBLE_TEXT)):
            found[page_id] = lines
        if page_id == "environment":  # charts' time axes name months in Polish
            months = page.evaluate(CHART_MONTHS)
            assert months and months[11] == "gru", months
        if page_id == "overview":
            screenshot(page, "overview-pl")
        if page_id.startswith("cases/"):
            screenshot(page, "cases-pl")
    assert not found, "English on pages in Polish:\n" + "\n".join(
        f"  #/{page_id}: {lines[:8]}" for page_id, lines in found.items()
    )


def test_counts_take_polish_plural_forms(open_page: OpenPage) -> None:
    page = in_polish(open_page)
    t = f"async ([n]) => (await import({I18N})).t('unit.cases', {{ n }})"
    for n in [1, 2, 5, 12, 22, 25, 101, 1234, 12345]:
        word = CASES[polish_plural(n)]
        assert (n, page.evaluate(t, [n])) == (n, word)
        # A count as fmtNumber wrote it ("12 345", a no-break space) agrees the same way.
        formatted = page.evaluate("(n) => new Intl.NumberFormat('pl-PL').format(n)", n)
        assert (formatted, page.evaluate(t, [formatted])) == (formatted, word)


def test_fractions_and_other_languages_keep_their_forms(open_page: OpenPage) -> None:
    page = in_polish(open_page)
    t = f"async ([key, vars]) => (await import({I18N})).t(key, vars)"
    assert page.evaluate(t, ["unit.days", {"n": "16,5"}]) == "dnia"  # CLDR other: 16,5 dnia
    assert page.evaluate(t, ["cases.d.times", {"count": "1"}]) == "1 raz"
    assert page.evaluate(t, ["cases.d.times", {"count": "3"}]) == "3 razy"
    assert page.evaluate(t, ["unit.cases", None]) == "zgłoszeń"  # no count: the genitive
    # A packaged rule's alert, worded in English by the rule, is said in Polish.
    alert = {
        "subCategory": "schoolAttendance",
        "alertSource": "urn:ngsi-ld:School:yuzhong-1",
        "description": "urn:ngsi-ld:School:yuzhong-1: attendance 0.72, below 85%",
    }
    ui = "new URL('js/ui.js', document.baseURI).href"
    said = page.evaluate(f"async (alert) => (await import({ui})).alertText(alert)", alert)
    assert said == "urn:ngsi-ld:School:yuzhong-1: frekwencja 0,72, poniżej 85%"
    page.locator('.lang-switch button[data-lang="en"]').click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.evaluate(t, ["unit.cases", {"n": 1}]) == "cases"
    assert page.evaluate(t, ["cases.d.times", {"count": "1"}]) == "1 times"
    english = page.evaluate(f"async (alert) => (await import({ui})).alertText(alert)", alert)
    assert english == alert["description"]


def test_overview_counts_open_cases_in_polish(
    open_page: OpenPage, city: str, city_key: str
) -> None:
    file_cases(city, city_key)
    page = in_polish(open_page)
    total = page.locator(".cases-total")
    total.wait_for()
    figure = total.locator("strong").inner_text()
    count = int(re.sub(r"\D", "", figure))
    expected = {"one": "otwarte zgłoszenie", "few": "otwarte zgłoszenia"}.get(
        polish_plural(count), "otwartych zgłoszeń"
    )
    assert total.inner_text().replace("\n", " ").strip() == f"{figure} {expected}"
