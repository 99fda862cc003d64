"""Browser tests of the operations-centre dashboard against a living demo city.

One `cityos demo` subprocess and one Chromium for the whole session; every test gets fresh
pages (a new browser context: empty storage, so English and no key) at 1366x768. The demo
requires keys, as `make demo` does: a page signs in with the demo's admin key through the
address (`#key=…`) before the test gets it, unless the test asks for `sign_in=False`.
Whatever a page logs as a console error, or throws uncaught, fails the test that opened it,
after the test's own assertions.

Without Chromium or Playwright the tests skip with the reason (they fail under CI=true,
where .ci/run installs Chromium).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.services import require_binary, unavailable
from tests.web.browser import CHROMIUM, DESKTOP, ConsoleErrors, demo_city, demo_key, launch

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
def city_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo city's data directory (its store, its demo key)."""
    return tmp_path_factory.mktemp("web") / "city"


@pytest.fixture(scope="session")
def city(browser: Browser, city_data: Path) -> Iterator[str]:
    """The base URL of a running demo city (its API; the dashboard is at /dashboard/)."""
    with demo_city(city_data) as base:
        yield base


@pytest.fixture(scope="session")
def city_key(city: str, city_data: Path) -> str:
    """The demo city's admin key, as `cityos demo` printed it."""
    return demo_key(city_data)


@pytest.fixture
def console_errors(request: pytest.FixtureRequest) -> ConsoleErrors:
    """What the test's pages log as errors (checked after the test)."""
    errors = ConsoleErrors()
    request.node.console_errors = errors
    return errors


@pytest.fixture
def open_page(
    browser: Browser, city: str, city_key: str, console_errors: ConsoleErrors
) -> Iterator[OpenPage]:
    """open_page(viewport=…, sign_in=True, **context options) → a new page on the dashboard,
    its console watched. Signed in: opened at `#key=<demo key>` and signed in (the page
    goes on to the overview; `show(page, "map")` for another). sign_in=False: not yet
    navigated, no key."""
    errors = console_errors
    contexts = []

    def opener(viewport: ViewportSize | None = None, sign_in: bool = True, **options: Any) -> Page:
        context = browser.new_context(
            viewport=viewport or DESKTOP, base_url=f"{city}/dashboard/", **options
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors.watch(page)
        if sign_in:
            page.goto(f"#key={city_key}")
            page.wait_for_selector('body[data-auth="on"]')
        return page

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
