"""The vector base map: drawn from the server's own archive on every map, every request on
the server (nothing fetched from elsewhere), and the outlines alone without an archive.
Screenshots (docs/screenshots/basemap-*.png) show the central city and the municipality."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.web.helpers import csp_violations, screenshot, show, watch_csp
from tests.web.test_xss import AXE, AXE_TAGS

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

    from tests.web.browser import ConsoleErrors
    from tests.web.conftest import OpenPage

INKED = """() => {
  // pixels the vector layer drew: its canvas tiles, read back (same origin: not tainted)
  let inked = 0, tiles = 0;
  for (const canvas of document.querySelectorAll(".leaflet-vectorBase-pane canvas")) {
    if (!canvas.width || !canvas.height) continue;
    tiles += 1;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4 * 7) if (data[i] > 0) inked += 1;
  }
  return { tiles, inked };
}"""

VIEW = (
    "(at) => document.querySelector('.basemap').cityosMap.setView(at[0], at[1], {animate: false})"
)


def base_map_violations(page: Page) -> list[str]:
    """Serious and critical WCAG 2.2 AA violations in the map but its markers (the entity
    markers' known ones are the page's, see AXE_KNOWN in test_xss.py): its base layers,
    district and station names, attribution, controls."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text("utf-8"))
    found = page.evaluate(
        """async (tags) => (await axe.run(
            { include: [[".basemap"]], exclude: [[".leaflet-marker-pane"]] },
            { runOnly: { type: "tag", values: tags } }))
          .violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id}: `
            + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "))""",
        AXE_TAGS,
    )
    return list(found)


def drawn(page: Page) -> dict[str, int]:
    """Wait until the page's base map says its tiles are drawn; what they hold."""
    page.wait_for_selector('.basemap[data-basemap="drawn"]', timeout=20_000)
    page.wait_for_timeout(300)  # the tiles' labels: placed after the tiles, across them
    found: dict[str, int] = page.evaluate(INKED)
    return found


def set_view(page: Page, lat: float, lng: float, zoom: int) -> None:
    page.evaluate(VIEW, [[lat, lng], zoom])
    page.wait_for_timeout(100)
    drawn(page)


def test_maps_draw_the_base_map_and_every_request_stays_on_the_server(
    open_page: OpenPage, city_key: str
) -> None:
    page = open_page(sign_in=False)
    watch_csp(page)
    requests: list[Request] = []
    page.on(
        "request", lambda request: requests.append(request)
    )  # from the first one: the shell, its libraries
    page.goto(f"#key={city_key}")
    page.wait_for_selector('body[data-auth="on"]')
    for page_id in ("map", "freight", "report"):
        show(page, page_id)
        found = drawn(page)
        assert found["tiles"] > 0, f"#/{page_id}: no vector tiles"
        assert found["inked"] > 500, f"#/{page_id}: the vector tiles are blank ({found})"
    hosts = {urlsplit(r.url).hostname for r in requests if not r.url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"requests left the server: {hosts}"
    ranged = [r for r in requests if "/basemap/" in r.url]
    assert {urlsplit(r.url).path for r in ranged} == {
        "/basemap/city.pmtiles",
        "/basemap/world.pmtiles",
    }
    assert all((r.headers.get("range") or "").startswith("bytes=") for r in ranged)
    statuses = {r.response().status for r in ranged if r.response() is not None}
    assert statuses == {206}
    assert csp_violations(page) == []


def test_central_city_and_municipality_screenshots(page: Page) -> None:
    show(page, "map")
    drawn(page)
    assert base_map_violations(page) == []
    screenshot(page, "basemap-municipality")
    page.get_by_label("Buses").uncheck()  # the metro under the bus clusters
    set_view(page, 29.565, 106.555, 12)
    found = page.evaluate(INKED)
    assert found["inked"] > 2000
    screenshot(page, "basemap-central-z12")
    set_view(page, 29.6, 106.55, 10)  # the last zoom of the Natural Earth rivers
    screenshot(page, "basemap-central-z10")


def test_report_location_picker_has_the_base_map(page: Page) -> None:
    show(page, "report")
    found = drawn(page)
    assert found["inked"] > 500
    screenshot(page, "basemap-report-picker")
    # another language: the base map is drawn again with its labels' names in it
    page.click('button[data-lang="zh"]')
    page.wait_for_timeout(100)
    assert drawn(page)["inked"] > 500
    assert "OpenStreetMap 贡献者" in page.locator(".leaflet-control-attribution").inner_text()


def test_without_an_archive_the_map_keeps_its_outlines(
    page: Page, console_errors: ConsoleErrors
) -> None:
    console_errors.expect("404")
    page.route("**/basemap/*.pmtiles", lambda route: route.fulfill(status=404, body=""))
    show(page, "map")
    page.wait_for_selector('.basemap[data-basemap="outlines"]')
    assert page.locator(".basemap .leaflet-interactive, .basemap path").count() > 0
