"""Steps the browser tests share: open a page and wait for its data, save a screenshot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

SCREENSHOTS = Path(
    os.environ.get("CITYOS_SCREENSHOTS") or Path(__file__).parents[2] / "docs" / "screenshots"
)
"""Where the page tests leave their screenshots (the README shows two of them);
CITYOS_SCREENSHOTS=<dir> puts them elsewhere."""
READY_MS = 30_000
CSP_WATCH = """(() => {
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:`
    + `${e.lineNumber})`));
})()"""


def watch_csp(page: Page) -> None:
    """Record every Content-Security-Policy violation the page's documents report (installed
    before any of their scripts runs); read them with csp_violations."""
    page.add_init_script(CSP_WATCH)


def csp_violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__violations || []"))


def show(page: Page, page_id: str, timeout: float = READY_MS) -> Locator:
    """Go to #/<page_id> (which may end in a ?query) and wait until the page says its first
    data are drawn (data-ready="true" on its data-page root, as the contract asks); its root."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"#/{page_id}")
    page_id = page_id.split("?")[0]
    ready = f'[data-page="{page_id}"][data-ready="true"]'
    try:
        page.wait_for_selector(ready, timeout=timeout)
    except PlaywrightTimeout:
        pytest.fail(f"#/{page_id} did not reach data-ready within {timeout / 1000:.0f} s")
    if page.locator(f'.page-missing[data-page="{page_id}"]').count():
        pytest.fail(f"#/{page_id}: no page module yet (the shell shows its placeholder)")
    return page.locator(ready).first


def screenshot(page: Page, name: str) -> Path:
    """Save the viewport as <SCREENSHOTS>/<name>.png once fonts are in and charts have
    finished their entry animation."""
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(1200)  # ECharts animates for about a second
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
