"""Browser tests of the operations-centre dashboard against a living demo city.

One `cityos demo` subprocess and one Chromium for the whole session; every test gets fresh
pages (a new browser context: empty localStorage, so English and the operator role) at
1366x768. Whatever a page logs as a console error, or throws uncaught, fails the test that
opened it, after the test's own assertions.

Without Chromium or Playwright the tests skip with the reason (they fail under CI=true,
where .ci/run installs Chromium).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.services import require_binary, unavailable
from tests.web.browser import CHROMIUM, DESKTOP, ConsoleErrors, demo_city, launch

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

OpenPage = Callable[..., "Page"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require_binary("Chromium", CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def city(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running demo city (its API; the dashboard is at /dashboard/)."""
    with demo_city(tmp_path_factory.mktemp("web") / "city") as base:
        yield base


@pytest.fixture
def open_page(browser: Browser, city: str, request: pytest.FixtureRequest) -> Iterator[OpenPage]:
    """open_page(viewport=…, **context options) → a new page on the dashboard (not yet
    navigated: `page.goto("#/map")`), its console watched."""
    errors = ConsoleErrors()
    request.node.console_errors = errors
    contexts = []

    def opener(viewport: ViewportSize | None = None, **options: Any) -> Page:
        context = browser.new_context(
            viewport=viewport or DESKTOP, base_url=f"{city}/dashboard/", **options
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return errors.watch(page)

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    return open_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After a test passed, fail it if its pages logged errors (reported in the test's own
    outcome rather than as an error of fixture teardown)."""
    yield
    errors: list[str] = getattr(item, "console_errors", [])
    if errors:
        listed = "\n  ".join(errors)
        raise AssertionError(f"the page logged {len(errors)} error(s):\n  {listed}")
