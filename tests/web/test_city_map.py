"""The city map as a resident reads it: cases above everything and never in a bus cluster,
district names above the markers, the legend in the markers' own colours, and a side
panel in words (translated labels, department names), never raw keys."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.web.helpers import show

if TYPE_CHECKING:
    from playwright.sync_api import Page

MARKER_COLOURS = """() => {
  const legend = new Map();
  for (const label of document.querySelectorAll(".layer-toggle[data-types]")) {
    const colours = [...label.querySelectorAll(".swatch")]
      .map((s) => getComputedStyle(s).backgroundColor);
    for (const type of label.dataset.types.split(" ")) legend.set(type, colours);
  }
  return [...document.querySelectorAll(".entity-marker[data-entity-id] .dot")].map((dot) => {
    const id = dot.closest(".entity-marker").dataset.entityId;
    const type = id.split(":")[2];
    const colour = getComputedStyle(dot).backgroundColor;
    return { id, type, colour, legend: legend.get(type) || [] };
  });
}"""

PANES = """() => {
  const pane = (name) => document.querySelector(`.leaflet-${name}-pane`);
  const z = (name) => Number(getComputedStyle(pane(name)).zIndex);
  return { markers: z("marker"), cases: z("cases"), labels: z("baseLabels") };
}"""


def test_cases_sit_above_clusters_and_labels_above_markers(page: Page) -> None:
    show(page, "map")
    panes = page.evaluate(PANES)
    assert panes["cases"] > panes["labels"] > panes["markers"], panes
    page.wait_for_selector(".leaflet-cases-pane .entity-marker", timeout=30_000)
    open_cases = page.evaluate(
        """() => [...document.querySelectorAll('.leaflet-cases-pane .entity-marker')]
            .map((m) => m.dataset.entityId)"""
    )
    assert open_cases and all(":Case:" in c for c in open_cases)
    # no case in the clustered panes: a case is never hidden in a cluster of buses
    elsewhere = page.locator('.leaflet-marker-pane .entity-marker[data-entity-id*=":Case:"]')
    assert elsewhere.count() == 0


def test_the_legend_shows_the_colours_the_markers_have(page: Page) -> None:
    show(page, "map")
    page.fill(".map-search-input", "Yuzhong")  # flies to central Chongqing, past clustering
    page.wait_for_selector(".search-results button")
    page.keyboard.press("Enter")
    page.wait_for_timeout(2000)
    markers = page.evaluate(MARKER_COLOURS)
    assert len({m["type"] for m in markers}) >= 3, {m["type"] for m in markers}
    wrong = [m for m in markers if m["colour"] not in m["legend"]]
    assert wrong == [], f"markers in colours their legend does not show: {wrong[:5]}"


def test_the_side_panel_speaks_words_not_keys(page: Page) -> None:
    show(page, "map")
    case = page.locator('.leaflet-cases-pane .entity-marker[data-entity-id*=":Case:"]').first
    case.wait_for(timeout=30_000)
    case.click()
    panel = page.locator(".entity-panel")
    panel.locator("dd").first.wait_for()
    page.wait_for_timeout(500)  # the governance catalogue names the department
    labels = panel.locator("dt").all()
    raw = [d.inner_text() for d in labels if d.inner_text() == d.get_attribute("data-attr")]
    assert raw == [], f"raw attribute keys in the side panel: {raw}"
    department = panel.locator('dt[data-attr="department"] + dd').inner_text()
    assert not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", department), department
    assert "Dispatch by" in panel.inner_text() or "Accept by" in panel.inner_text()


def test_crowded_markers_have_an_equivalent_control_instead_of_a_tab_stop(page: Page) -> None:
    """2.5.8 Equivalent: rural plots and markets are pointer-only; the picker does their job."""
    show(page, "rural")
    page.wait_for_selector('.entity-marker[data-entity-id*=":AgriParcel:"]', timeout=30_000)
    focusable = page.locator(
        '.entity-marker[data-entity-id*=":AgriParcel:"][tabindex], '
        '.entity-marker[data-entity-id*=":Market:"][tabindex]'
    )
    assert focusable.count() == 0
    picker = page.get_by_label("Show on the map")
    plot = picker.locator("optgroup").nth(1).locator("option").first
    name = plot.inner_text()
    picker.select_option(plot.get_attribute("value"))
    assert name in page.locator(".leaflet-popup").inner_text()
