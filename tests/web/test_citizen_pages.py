"""The citizens' pages (/report, /report/map, /report/<reference>) on a phone, with no key,
against the /citizen/v1 contract answered from memory (tests/web/citizen_stub.py): what the
form sends, "is it one of these?" and "me too", the honeypot, text from the server never
run, photos only from the city's /media/, three languages with nothing left in English,
WCAG 2.2 AA (axe-core) and the dashboard's CSP. tests/web/test_citizen.py drives the same
pages end to end against the real server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.web.browser import ConsoleErrors
from tests.web.citizen_stub import Stub, jpeg, serve_stub
from tests.web.helpers import csp_violations, screenshot, watch_csp
from tests.web.test_xss import axe_violations

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PHONE_390 = {"width": 390, "height": 844}
HOSTILE = '<img src=x onerror="window.__ran=1">Deep hole'


@pytest.fixture
def stub() -> Stub:
    stub = Stub()
    stub.add(photos=[stub.photo()])
    stub.add(category="streetlight", category_name="Street light out", state="resolved")
    return stub


@pytest.fixture
def base(stub: Stub) -> Iterator[str]:
    with serve_stub(stub) as url:
        yield url


@pytest.fixture
def phone(browser: Browser, base: str, console_errors: ConsoleErrors) -> Iterator[Page]:
    """A fresh phone-sized page (no key, English), its console and CSP watched."""
    context = browser.new_context(viewport=PHONE_390, base_url=base, locale="en-GB")
    page = console_errors.watch(context.new_page())
    page.set_default_timeout(15_000)
    watch_csp(page)
    yield page
    context.close()


def ready(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_selector('main[data-ready="true"]')


def fill_report(page: Page, place: str = "Place chosen") -> None:
    """Place (a tap on the map), category, its questions, description, a photo, contact."""
    page.locator('[data-testid="place-map"]').click(position={"x": 180, "y": 150})
    assert place in page.locator(".c-place-status").inner_text()
    page.select_option("#c-category", "pothole")
    page.select_option("#c-q-0", "large")
    page.check("#c-q-1-0")
    page.fill("#c-description", "A hole in the lane, 30 cm wide.")
    page.set_input_files(
        "#c-photos", files=[{"name": "hole.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.wait_for_selector(".c-previews img")
    page.fill("#c-name", "Li Wei")
    page.fill("#c-email", "li.wei@example.org")


def shot(page: Page, name: str, top: str = "h1") -> None:
    """A screenshot with `top` at the top of the viewport."""
    page.locator(top).first.scroll_into_view_if_needed()
    page.evaluate("(s) => document.querySelector(s).scrollIntoView({block: 'start'})", top)
    screenshot(page, name)


def test_a_report_is_sent_with_its_answers_and_photo(phone: Page, stub: Stub) -> None:
    page = phone
    ready(page, "/report/")
    page.locator('[data-testid="continue"]').click()
    assert "Choose the place" in page.locator(".c-alert").inner_text()  # nothing sent yet
    fill_report(page)
    preview = page.locator(".c-previews img").get_attribute("src") or ""
    assert preview.startswith("blob:")
    shot(page, "citizen-report-form", ".c-section:nth-of-type(2)")
    page.locator('[data-testid="continue"]').click()
    dupes = page.locator('[data-testid="duplicates"]')
    dupes.wait_for()
    assert dupes.locator(".c-card").count() == 1  # the open pothole, not the fixed light
    shot(page, "citizen-duplicates")
    page.locator('[data-testid="send-anyway"]').click()
    page.wait_for_selector('[data-testid="reference"]')
    shot(page, "citizen-confirmation")
    reference = page.locator('[data-testid="reference"]').inner_text()
    assert reference.startswith("CQ-2026-")
    assert "10 December" in page.locator('[data-testid="promise"]').inner_text()
    [sent] = stub.sent
    assert sent["category"] == "pothole"
    assert sent["attribute[size]"] == "large"
    assert sent["attribute[lanes][]"] == "lane"
    assert sent["website"] == ""
    assert sent["email"] == "li.wei@example.org"
    assert float(sent["lat"]) and float(sent["long"])
    assert stub.reports[reference]["photos"]
    assert csp_violations(page) == []


def test_me_too_supports_an_open_report_instead_of_a_new_one(phone: Page, stub: Stub) -> None:
    page = phone
    ready(page, "/report/")
    fill_report(page)
    page.locator('[data-testid="continue"]').click()
    [open_one] = [s for s in stub.reports.values() if s["category"] == "pothole"]
    page.locator(f'[data-metoo="{open_one["reference"]}"]').click()
    page.wait_for_selector('[data-testid="reference"]')
    assert page.locator('[data-testid="reference"]').inner_text() == open_one["reference"]
    assert stub.sent == []
    assert stub.supported == [
        (open_one["reference"], {"email": "li.wei@example.org", "name": "Li Wei"})
    ]
    assert open_one["supporters"] == 2


def test_the_honeypot_is_out_of_sight_and_of_the_tab_order(phone: Page) -> None:
    ready(phone, "/report/")
    trap = phone.locator('input[name="website"]')
    assert trap.get_attribute("tabindex") == "-1"
    assert trap.get_attribute("autocomplete") == "off"
    assert phone.locator(".c-honeypot").get_attribute("aria-hidden") == "true"
    assert not trap.is_visible() or trap.bounding_box()["x"] < -1000  # type: ignore[index]


def test_text_from_the_server_never_runs_and_photos_come_only_from_media(
    phone: Page, stub: Stub
) -> None:
    page = phone
    hostile = stub.add(
        category="streetlight",
        description=HOSTILE,
        photos=["https://elsewhere.example/x.jpg", "javascript:alert(1)", stub.photo()],
    )
    for path in (f"/report/{hostile['reference']}", "/report/map"):
        ready(page, path)
        page.wait_for_timeout(300)
        sources = page.eval_on_selector_all(
            "img.c-photo", "(images) => images.map((i) => i.getAttribute('src'))"
        )
        assert sources and all(src.startswith("/media/") for src in sources), sources
    ready(page, f"/report/{hostile['reference']}")
    assert HOSTILE in page.locator(".c-description").inner_text()
    assert page.evaluate("window.__ran") is None
    assert page.locator(".c-description img").count() == 0
    assert csp_violations(page) == []


def test_every_string_is_in_chinese_and_polish(phone: Page) -> None:
    ready(phone, "/report/")
    catalogue = json.loads(
        phone.evaluate(
            "import('/dashboard/citizen/strings.js').then((m) => JSON.stringify(m.strings))"
        )
    )
    english = {key for key in catalogue["en"]}
    for language in ("zh", "pl"):
        assert english - set(catalogue[language]) == set(), language


@pytest.mark.parametrize("language,expected", [("zh", "上报问题"), ("pl", "Zgłoś problem")])
def test_the_language_switch_keeps_what_was_typed(
    phone: Page, language: str, expected: str
) -> None:
    page = phone
    ready(page, "/report/")
    page.select_option("#c-category", "pothole")
    page.fill("#c-description", "kept")
    page.locator(f'.c-lang button[data-lang="{language}"]').click()
    page.wait_for_function(
        "(expected) => document.querySelector('h1')?.textContent === expected", arg=expected
    )
    page.wait_for_function(
        "() => document.querySelector('#c-category option[value=pothole]')?.textContent"
        " !== 'Pothole'"
    )
    assert page.locator("#c-description").input_value() == "kept"
    assert page.locator("#c-category").input_value() == "pothole"
    assert page.evaluate("document.documentElement.lang").startswith(language)
    english = (
        "Report a problem",
        "Where is it",
        "Describe the problem",
        "Continue",
        "Photos",
        "optional",
    )
    text = page.locator("body").inner_text()
    assert not [word for word in english if word in text]


@pytest.mark.parametrize("path", ["/report/", "/report/map", "/report/CQ-2026-000124"])
def test_no_serious_accessibility_violation(phone: Page, path: str) -> None:
    ready(phone, path)
    assert axe_violations(phone) == []
    name = {"/report/": "form-empty", "/report/map": "map", "/report/CQ-2026-000124": "tracking"}
    screenshot(phone, f"citizen-{name[path]}")


def test_an_unknown_reference_is_explained(phone: Page, console_errors: ConsoleErrors) -> None:
    console_errors.expect("404")
    ready(phone, "/report/CQ-2026-999999")
    assert "no report with the reference CQ-2026-999999" in phone.locator(".c-alert").inner_text()
    phone.fill("#c-lookup", "CQ-2026-000124")
    phone.locator(".c-lookup button").click()
    phone.wait_for_url("**/report/CQ-2026-000124")


def test_a_refusal_is_shown_in_the_citizens_language(
    phone: Page, stub: Stub, console_errors: ConsoleErrors
) -> None:
    """The server's message (here a rate limit), as it words it in the page's language; what
    was typed stays in the form to send again later."""
    console_errors.expect("429")
    stub.refuse = {
        "en": "Too many reports.",
        "zh": "上报过于频繁。",
        "pl": "Za dużo zgłoszeń z tego adresu.",
    }
    page = phone
    ready(page, "/report/")
    page.locator('.c-lang button[data-lang="pl"]').click()
    fill_report(page, place="Wybrane miejsce")
    page.locator('[data-testid="continue"]').click()
    page.locator('[data-testid="send-anyway"]').click()
    alert = page.locator(".c-form .c-alert")
    alert.wait_for()
    assert alert.inner_text() == "Za dużo zgłoszeń z tego adresu."
    assert page.locator("#c-description").input_value() == "A hole in the lane, 30 cm wide."
    assert stub.sent == []


def test_use_my_location_and_at_most_three_photos(
    browser: Browser, base: str, console_errors: ConsoleErrors
) -> None:
    """The device's position is the place; a fourth photo is left out, with a word why, and a
    file that is no photo is refused before anything is sent."""
    context = browser.new_context(
        viewport=PHONE_390,
        base_url=base,
        locale="en-GB",
        geolocation={"latitude": 29.5611, "longitude": 106.5722},
        permissions=["geolocation"],
    )
    page = console_errors.watch(context.new_page())
    ready(page, "/report/")
    page.get_by_role("button", name="Use my location").click()
    page.wait_for_function(
        "() => document.querySelector('.c-place-status').textContent.includes('29.56110')"
    )
    assert "106.57220" in page.locator(".c-place-status").inner_text()
    photos = [{"name": f"p{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg()} for n in range(4)]
    page.set_input_files("#c-photos", files=photos)
    page.wait_for_selector(".c-previews li >> nth=2")
    assert page.locator(".c-previews li").count() == 3
    assert "At most 3 photos" in page.locator(".c-form .c-alert").inner_text()
    assert page.locator("#c-photos").is_disabled()
    page.get_by_role("button", name="Remove photo 1").click()
    svg = {"name": "x.svg", "mimeType": "image/svg+xml", "buffer": b"<svg/>"}
    page.set_input_files("#c-photos", files=[svg])
    assert "x.svg is not a JPEG" in page.locator(".c-form .c-alert").inner_text()
    assert page.locator(".c-previews li").count() == 2
    context.close()
