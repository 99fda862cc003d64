"""A new visitor's first minute: on the demo as `cityos demo` starts it (its recent history
back-filled), every chart of every page has data, the overview fits a phone and shows the
metro measured from its geometry beside the published length."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from tests.web.browser import PHONE
from tests.web.helpers import screenshot, show

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.web.conftest import OpenPage

CHARTED = (
    "overview",
    "map",
    "cases",
    "freight",
    "manufacturing",
    "environment",
    "rural",
    "compare",
)

EMPTY_CHARTS = """() => [...document.querySelectorAll("[_echarts_instance_]")]
  .filter((el) => el.isConnected)
  .map((el) => {
    const chart = echarts.getInstanceByDom(el);
    const option = chart ? chart.getOption() : {};
    const series = option.series || [];
    const known = (d) => d !== null && d !== undefined && d !== "-"
      && !(Array.isArray(d) && (d.at(-1) === null || d.at(-1) === undefined))
      && !(typeof d === "object" && !Array.isArray(d) && "value" in d && d.value === null);
    const data = series.flatMap((s) => (s.data || []).filter(known));
    const label = el.getAttribute("aria-label") || el.className || "chart";
    const axis = (option.xAxis || [])[0] || {};
    let problem = data.length ? "" : "no data";
    if (!problem && axis.type === "time") {
      // a time chart shows its window: several points, the first near the window's start
      const times = data.map((d) => +new Date(Array.isArray(d) ? d[0] : d.value?.[0]));
      const first = Math.min(...times), last = Math.max(...times);
      const start = typeof axis.min === "number" ? axis.min : null;
      const end = typeof axis.max === "number" ? axis.max : Date.now();
      if (data.length < 3) problem = `${data.length} point(s) on a time axis`;
      else if (start !== null && first - start > (end - start) / 10) problem = "starts late";
      else if (start === null && last - first < 3600e3) problem = "less than an hour of history";
    }
    return { label: String(label).trim().slice(0, 80), problem };
  })
  .filter((c) => c.problem)"""
"""The charts drawn on the page with no known data point, or (on a time axis) without the
history their window promises."""


SQUEEZED = """() => [...document.querySelectorAll(".kpi-tile, .kpi-group, .panel")]
  .filter((e) => e.scrollWidth > e.clientWidth + 1)
  .map((e) => e.className + " " + (e.dataset.kpi || e.dataset.pack || ""))"""


@pytest.mark.parametrize("page_id", CHARTED)
def test_every_chart_has_data_on_first_load(page: Page, page_id: str) -> None:
    show(page, page_id)
    page.wait_for_timeout(1500)  # charts drawn after the first data (second requests)
    empty = page.evaluate(EMPTY_CHARTS)
    assert empty == [], f"#/{page_id}: charts without data on first load: {empty}"


def test_overview_shows_the_metro_measured_beside_the_published_length(page: Page) -> None:
    root = show(page, "overview")
    tile = root.locator('[data-kpi="mobility.high-capacity-km"]')
    value = tile.locator(".kpi-value").inner_text()
    assert value.startswith("at least 455"), value  # 455.35 km of mapped line: a lower bound
    published = tile.locator(".kpi-published")
    published.wait_for()
    assert "524\u2013561 km" in published.inner_text()  # 523.68 and 561.18 km, cited
    assert "0 km" not in root.inner_text()


def test_overview_fits_a_360_px_phone(open_page: OpenPage) -> None:
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    show(page, "overview")
    page.wait_for_timeout(500)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    screenshot(page, "overview-360")
    assert width <= PHONE["width"], f"the overview is {width} px wide on a 360 px phone"
    # nothing squeezed: every tile and panel holds its content, the figures use the width
    squeezed = page.evaluate(SQUEEZED)
    assert squeezed == [], f"boxes narrower than their content at 360 px: {squeezed}"
    kpis = page.locator(".overview-kpis").bounding_box()
    assert kpis is not None and kpis["width"] >= 300


PROJECT_MILESTONES = """() => [...document.querySelectorAll("tr[data-entity-id]")]
  .filter((row) => row.dataset.entityId.includes("RenewalProject"))
  .map((row) => ({ id: row.dataset.entityId, flagged: !!row.querySelector("[data-overdue]") }))"""


def test_renewal_milestones_past_due_are_flagged(page: Page, city: str, city_key: str) -> None:
    import httpx

    from tests.web.browser import bearer

    found = httpx.get(
        f"{city}/ngsi-ld/v1/entities",
        params={"type": "RenewalProject", "options": "keyValues", "attrs": "milestones"},
        headers=bearer(city_key),
        timeout=10,
    ).json()
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    late = {
        p["id"]
        for p in found
        if any(not m["done"] and str(m["due"])[:10] < today for m in p.get("milestones") or [])
    }
    assert late, "the demo has no project past a milestone: nothing to flag"
    show(page, "rural")
    rows = {r["id"]: r["flagged"] for r in page.evaluate(PROJECT_MILESTONES)}
    flagged = {project for project, shown in rows.items() if shown}
    assert flagged == late & set(rows)


@pytest.mark.parametrize("page_id", ["overview", "map", "environment", "manufacturing", "rural"])
def test_pages_touched_by_issue_17_have_no_serious_axe_violation(page: Page, page_id: str) -> None:
    from tests.web.test_xss import axe_violations

    show(page, page_id)
    page.wait_for_timeout(1000)
    serious = axe_violations(page)
    assert serious == [], f"#/{page_id}: {serious}"
