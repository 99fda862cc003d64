"""Dashboard page load: how soon each page shows its map (or its data), and what it costs.

    .venv/bin/python -m bench.web_bench [--loads 5] [--pages map,overview,…]

One `cityos demo` subprocess (the living Chongqing, as `make demo` runs it) on a free
loopback port, and Debian's Chromium (/usr/bin/chromium, headless) driven by Playwright.
Every load is cold: a new browser context (empty HTTP cache and storage) with the cache
disabled, at 1366x768, going straight to /dashboard/#/<page>. Measured from navigation
start (performance.now() in the page):

- map: the first frame after the first SVG path of a Leaflet map is in the document (the
  offline base layer: districts or world borders); pages without a map show "-";
- ready: the first frame after the page set data-ready="true" (its first data drawn);
- bytes: the sum of `encodedDataLength` of every response that finished loading by then
  (Chrome DevTools Protocol, Network.loadingFinished: what went over the wire, headers
  included; the live event stream, which never finishes, is not counted), and their count.

Each figure is the median of --loads loads. The machine's floor: a bare static file served
by the same server and opened the same way (/dashboard/vendor/leaflet/leaflet.css, 14 KB,
shown as a text document; time to its response end), so "x floor" says how many bare
navigations a page's first view costs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.web.browser import CHROMIUM, DESKTOP, PAGES, demo_city, demo_key, launch

if TYPE_CHECKING:
    from playwright.sync_api import Browser, CDPSession

FLOOR = "/dashboard/vendor/leaflet/leaflet.css"
READY_MS = 60_000
SETTLE_MS = 300
"""After the last mark, let the responses already under way finish before summing bytes."""
SIGNED_IN = "sessionStorage.setItem('cityos.key', KEY);"
"""The tab signed in already (as after the demo's `#key=` link): the demo requires keys."""
MARKS = """(() => {
  const marks = (window.__pageLoad = {});
  const stamp = (name) => {
    if (name in marks) return;
    marks[name] = null;
    requestAnimationFrame(() => { marks[name] = performance.now(); });
  };
  const look = () => {
    if (document.querySelector(".leaflet-map-pane svg path")) stamp("map");
    if (document.querySelector('[data-page][data-ready="true"]')) stamp("ready");
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true,
    attributeFilter: ["data-ready"] });
})();"""


@dataclass
class Load:
    map_ms: float | None
    ready_ms: float
    bytes: int
    requests: int

    def __str__(self) -> str:
        drawn = f"map {self.map_ms:.0f} ms, " if self.map_ms is not None else ""
        return (
            f"{drawn}ready {self.ready_ms:.0f} ms, {self.bytes / 1024:,.0f} KB "
            f"in {self.requests} responses"
        )


class Transfer:
    """Bytes over the wire per finished response, from the DevTools protocol."""

    def __init__(self, session: CDPSession) -> None:
        self.bytes = 0
        self.requests = 0
        session.on("Network.loadingFinished", self._finished)
        session.send("Network.enable")
        session.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))
        self.requests += 1


def load_page(browser: Browser, base: str, page_id: str, key: str) -> Load:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.add_init_script(MARKS)
        page.add_init_script(SIGNED_IN.replace("KEY", json.dumps(key)))
        transfer = Transfer(context.new_cdp_session(page))
        page.goto(f"{base}/dashboard/#/{page_id}", wait_until="commit")
        page.wait_for_function(
            "window.__pageLoad && typeof window.__pageLoad.ready === 'number'", timeout=READY_MS
        )
        page.wait_for_timeout(SETTLE_MS)
        marks: dict[str, float | None] = page.evaluate("window.__pageLoad")
        ready = marks["ready"]
        assert ready is not None
        return Load(marks.get("map"), ready, transfer.bytes, transfer.requests)
    finally:
        context.close()


def load_floor(browser: Browser, base: str) -> Load:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        transfer = Transfer(context.new_cdp_session(page))
        page.goto(f"{base}{FLOOR}")
        end: float = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")
        return Load(None, end, transfer.bytes, transfer.requests)
    finally:
        context.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def summarise(loads: list[Load]) -> Load:
    maps = [load.map_ms for load in loads if load.map_ms is not None]
    return Load(
        map_ms=median(maps) if len(maps) == len(loads) else None,
        ready_ms=median([load.ready_ms for load in loads]),
        bytes=int(median([load.bytes for load in loads])),
        requests=int(median([load.requests for load in loads])),
    )


def table(results: dict[str, Load], floor: Load, loads: int) -> str:
    lines = [
        "| page | first map render | data ready | x floor (ready) | transferred | requests |",
        "|---|---|---|---|---|---|",
    ]
    for page_id, r in results.items():
        drawn = f"{r.map_ms:,.0f} ms" if r.map_ms is not None else "-"
        lines.append(
            f"| #/{page_id} | {drawn} | {r.ready_ms:,.0f} ms | {r.ready_ms / floor.ready_ms:,.0f}x "
            f"| {r.bytes / 1024:,.0f} KB | {r.requests} |"
        )
    lines.append(
        f"| floor: `{FLOOR}` | - | {floor.ready_ms:,.1f} ms | 1x | {floor.bytes / 1024:,.1f} KB "
        f"| {floor.requests} |"
    )
    lines.append(f"\nmedian of {loads} cold loads each")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="cold loads per page (median)")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma list of page ids")
    args = parser.parse_args()
    pages = [page for page in args.pages.split(",") if page]
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = launch(playwright)
        print(
            f"{cpu}, {os.cpu_count()} cores; Chromium {browser.version}; Python "
            f"{platform.python_version()}"
        )
        with demo_city(Path(tmp) / "city") as base:
            key = demo_key(Path(tmp) / "city")
            load_page(browser, base, "overview", key)  # warm the server (first reads of files)
            floor = summarise([load_floor(browser, base) for _ in range(args.loads)])
            results: dict[str, Load] = {}
            for page_id in pages:
                try:
                    results[page_id] = summarise(
                        [load_page(browser, base, page_id, key) for _ in range(args.loads)]
                    )
                except PlaywrightError as error:
                    print(f"  #/{page_id}: failed: {str(error).splitlines()[0]}", flush=True)
                    continue
                print(f"  #/{page_id}: {results[page_id]}", flush=True)
        browser.close()
    print()
    print(table(results, floor, args.loads))


if __name__ == "__main__":
    main()
