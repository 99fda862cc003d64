"""Signing in to the dashboard of a city that requires keys: the demo's `#key=` link, the
prompt (no key, a bad key, a key that stops working), signing out; and a city with
`--auth off`, where the dashboard needs no key at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cityos.auth.keys import ApiKeys
from cityos.store.sqlite import SQLiteStore
from tests.serve import served
from tests.web.browser import DESKTOP, PHONE, ConsoleErrors
from tests.web.helpers import screenshot, show

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

    from tests.web.conftest import OpenPage

PROMPT = "dialog.signin[open]"
UNAUTHORIZED = "status of 401"
"""How Chromium logs a 401 answer on the console: expected where a test provokes one."""
STORED = "sessionStorage.getItem('cityos.key')"
MakeKey = Callable[..., str]


def prompt_error(page: Page) -> str:
    return page.locator(f"{PROMPT} #signin-error").inner_text()


def sign_in_with(page: Page, key: str) -> None:
    page.fill("#signin-key", key)
    page.locator(PROMPT).get_by_role("button", name="Sign in").click()


@pytest.fixture
def key_of(city_data: Path) -> Iterator[MakeKey]:
    """key_of(role, expires=None) → a new key of the demo city, made beside the server as
    `cityos keys create` does."""
    store = SQLiteStore(city_data)
    keys = ApiKeys(store.keys)

    def make(role: str, expires: timedelta | None = None) -> str:
        days = expires / timedelta(days=1) if expires else None
        return keys.create(f"web test {role}", [role], expires_days=days)[1]

    yield make
    store.close()


def test_the_key_leaves_the_address_bar_and_every_url(open_page: OpenPage, city_key: str) -> None:
    requested: list[Request] = []
    page = open_page(sign_in=False)
    page.on("request", lambda request: requested.append(request))
    page.goto(f"#key={city_key}")
    show(page, "map")
    page.wait_for_selector('.live-status[data-status="live"]')

    assert city_key not in page.url
    assert page.url.endswith("/dashboard/#/map")
    assert page.evaluate(STORED) == city_key
    assert page.evaluate("localStorage.getItem('cityos.key')") is None
    assert all(city_key not in r.url for r in requested)
    # Data calls and the live stream (fetch, not EventSource) carry it as a header.
    stream = next(r for r in requested if r.url.endswith("/stream"))
    assert stream.headers.get("authorization") == f"Bearer {city_key}"
    entities = next(r for r in requested if "/ngsi-ld/v1/entities?" in r.url)
    assert entities.headers.get("authorization") == f"Bearer {city_key}"
    # The shell's own files are public: fetched with no key.
    shell = next(r for r in requested if r.url.endswith("/js/main.js"))
    assert "authorization" not in shell.headers
    # Signed in as the demo's administrator: no role picker, a sign-out button.
    assert page.locator(".account-who").inner_text() == "Administrator"
    assert not page.locator("#role").is_visible()
    # The address was replaced, not pushed: Back cannot bring the key back either.
    page.go_back()
    assert "/dashboard/" in page.url and city_key not in page.url


def test_without_a_key_the_prompt_asks_for_one(
    open_page: OpenPage, city_key: str, console_errors: ConsoleErrors
) -> None:
    console_errors.expect(UNAUTHORIZED)
    page = open_page(sign_in=False)
    page.goto("#/overview")
    page.wait_for_selector(PROMPT)
    assert page.locator("[data-page]").count() == 0  # nothing behind it loads without a key
    assert not page.locator(f"{PROMPT} #signin-error").is_visible()
    page.keyboard.press("Escape")  # it cannot be dismissed: nothing works without a key
    assert page.locator(PROMPT).is_visible()
    screenshot(page, "sign-in")

    sign_in_with(page, f"  {city_key}\n")  # pasted with stray blanks
    page.wait_for_selector(PROMPT, state="detached")
    page.wait_for_selector('[data-page="overview"][data-ready="true"]')
    assert page.evaluate(STORED) == city_key


def test_the_prompt_fits_a_phone_in_chinese(
    open_page: OpenPage, console_errors: ConsoleErrors
) -> None:
    console_errors.expect(UNAUTHORIZED)
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True, sign_in=False)
    page.goto("#/overview")
    page.wait_for_selector(PROMPT)
    page.locator(PROMPT).get_by_role("button", name="中文").click()
    assert page.locator("#signin-title").inner_text() == "登录"
    box = page.locator(PROMPT).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "sign-in-phone")


def test_a_bad_key_shows_the_prompt_with_an_error(
    open_page: OpenPage, city_key: str, console_errors: ConsoleErrors
) -> None:
    console_errors.expect(UNAUTHORIZED)
    key_id = city_key.split("_")[1]
    page = open_page(sign_in=False)
    page.goto(f"#key=cityos_{key_id}_not-the-secret")  # a link with a wrong key
    page.wait_for_selector(PROMPT)
    assert "not accepted" in prompt_error(page)
    assert page.evaluate(STORED) is None  # a refused key is not kept
    assert "not-the-secret" not in page.url

    sign_in_with(page, "cityos_000000000000_made-up")  # pasted, and also wrong
    page.wait_for_function(
        "() => document.querySelector('#signin-key').getAttribute('aria-invalid') === 'true'"
    )
    assert "not accepted" in prompt_error(page)
    assert page.locator(PROMPT).is_visible()
    sign_in_with(page, "")
    assert prompt_error(page) == "Paste a key first."

    sign_in_with(page, city_key)
    page.wait_for_selector(PROMPT, state="detached")
    show(page, "cases")


def test_sign_out_forgets_the_key(page: Page, console_errors: ConsoleErrors) -> None:
    console_errors.expect(UNAUTHORIZED)
    show(page, "overview")
    page.click("#sign-out")
    page.wait_for_selector(PROMPT)
    assert page.evaluate(STORED) is None
    assert page.locator("[data-page]").count() == 0
    assert page.locator(".live-status").get_attribute("data-status") in ("idle", "offline")
    page.reload()  # still signed out after a reload
    page.wait_for_selector(PROMPT)


def test_a_key_that_stops_working_brings_the_prompt_back(
    open_page: OpenPage, key_of: MakeKey, console_errors: ConsoleErrors
) -> None:
    console_errors.expect(UNAUTHORIZED)
    page = open_page(sign_in=False)
    page.goto("#/overview")
    page.wait_for_selector(PROMPT)
    expires = datetime.now(UTC) + timedelta(seconds=6)
    operator = key_of("operator", timedelta(seconds=6))
    sign_in_with(page, operator)
    show(page, "cases")
    assert page.locator(".account-who").inner_text() == "Operator"

    page.wait_for_timeout(max(0.0, (expires - datetime.now(UTC)).total_seconds() + 0.5) * 1000)
    page.goto("#/map")  # its first call answers 401: the key expired
    page.wait_for_selector(PROMPT)
    assert "no longer accepts" in prompt_error(page)
    assert page.evaluate(STORED) is None


def test_with_auth_off_no_key_is_needed(
    browser: Browser, tmp_path: Path, console_errors: ConsoleErrors
) -> None:
    with served(tmp_path / "open", "--auth", "off") as port:
        context = browser.new_context(
            viewport=DESKTOP, base_url=f"http://127.0.0.1:{port}/dashboard/"
        )
        try:
            page = console_errors.watch(context.new_page())
            show(page, "cases")
            assert page.locator(PROMPT).count() == 0
            assert page.locator("#role").is_visible()  # the role picker, as before keys
            assert not page.locator(".account").is_visible()
        finally:
            context.close()


def test_the_event_stream_parser_takes_chunks_cut_anywhere(page: Page) -> None:
    events = page.evaluate(
        """async () => {
          const { parser } = await import("./js/sse.js");
          const seen = [];
          const stream = parser((type, data) => seen.push([type, data]));
          const chunks = [": stream of x\\n\\nevent: noti", "fication\\r", "\\ndata: {\\"a\\"",
            ":1}\\r\\n\\r\\ndata: one\\ndata:two\\n", "\\nretry: 2500\\n: heartbeat\\n\\n",
            "event: end\\ndata: {}\\n\\n", "data: unfinished"];
          for (const chunk of chunks) stream.feed(chunk);
          return { seen, retry: stream.retry() };
        }"""
    )
    assert events["seen"] == [
        ["notification", '{"a":1}'],
        ["message", "one\ntwo"],
        ["end", "{}"],
    ]
    assert events["retry"] == 2500
