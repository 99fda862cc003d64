"""The citizens' front door end to end, as issue 18 asks: a real `cityos serve` (keys
required, mail through an in-process SMTP server, aiosmtpd), a phone at 390x844 with no key.

A citizen reports a pothole on /report/ with a JPEG carrying GPS EXIF and gets a reference;
an operator accepts the case in the operations centre (and sees the photo, the support and
the follower there, the trail's actor by name); the citizen's e-mail arrives with the
reference and the new state; the tracking page shows the change and the photo; the stored
photo has no EXIF. A second citizen at the same place is offered the first report ("is it
one of these?") and says "me too". axe-core finds no serious violation on the three pages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

from tests.serve import free_port, start_server
from tests.web.browser import DESKTOP, ConsoleErrors
from tests.web.helpers import csp_violations, screenshot, show, watch_csp
from tests.web.test_xss import axe_violations

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PHONE_390 = {"width": 390, "height": 844}
OPERATOR = "Wang Fang"
CITIZEN = "li.wei@example.org"
MAIL_FROM = "reports@city.example"
GPS = 0x8825
"""The EXIF tag of the GPS block."""


@dataclass
class Inbox:
    """What the in-process SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def wait_for(self, *words: str, seconds: float = 30) -> EmailMessage:
        """The first message whose text has every one of `words`, waiting for it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self.messages:
                if all(word.lower() in _text(message).lower() for word in words):
                    return message
            time.sleep(0.2)
        seen = [_text(m)[:300] for m in self.messages]
        raise AssertionError(f"no e-mail with {words} within {seconds} s; received {seen}")


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return f"{message['Subject']}\n{body.get_content() if body else ''}"


@dataclass
class City:
    base: str
    key: str
    inbox: Inbox


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    data = tmp_path_factory.mktemp("citizens") / "city"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "cityos.cli",
            "keys",
            "create",
            "--name",
            OPERATOR,
            "--role",
            "admin",
            "--data",
            str(data),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.strip().splitlines()[-1]
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    server = start_server(
        data,
        port,
        "--auth",
        "required",
        "--smtp",
        f"smtp://127.0.0.1:{smtp.port}?starttls=no",
        "--mail-from",
        MAIL_FROM,
    )
    try:
        yield City(f"http://127.0.0.1:{port}", key, inbox)
    finally:
        server.terminate()
        server.wait(timeout=15)
        smtp.stop()


def gps_jpeg() -> bytes:
    """A photo as a phone takes it: a JPEG whose EXIF says where (and with what) it was taken."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1600, 1200), (118, 112, 104))
    ImageDraw.Draw(image).ellipse((500, 400, 1100, 800), fill=(45, 40, 36))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(GPS)
    gps.update({1: "N", 2: (29.0, 33.0, 47.0), 3: "E", 4: (106.0, 33.0, 6.0)})
    out = BytesIO()
    image.save(out, "JPEG", exif=exif, quality=85)
    data = out.getvalue()
    assert Image.open(BytesIO(data)).getexif().get_ifd(GPS), "the test photo carries GPS"
    return data


def phone_page(browser: Browser, city: City, errors: ConsoleErrors) -> Page:
    context = browser.new_context(viewport=PHONE_390, base_url=city.base, locale="en-GB")
    page = errors.watch(context.new_page())
    page.set_default_timeout(20_000)
    watch_csp(page)
    return page


def report_pothole(page: Page, description: str, email: str, photo: bytes | None) -> None:
    """Fill /report/ as a citizen: a tap on the map, the category and its questions."""
    page.goto("/report/")
    page.wait_for_selector('main[data-ready="true"]')
    page.locator('[data-testid="place-map"]').click(position={"x": 195, "y": 180})
    page.select_option("#c-category", "pothole")
    page.select_option("#c-q-0", "large")
    page.select_option("#c-q-1", "yes")
    page.fill("#c-description", description)
    if photo:
        page.set_input_files(
            "#c-photos", files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
        page.wait_for_selector(".c-previews img")
    page.fill("#c-email", email)


def test_report_accept_mail_and_track(
    browser: Browser, city: City, console_errors: ConsoleErrors
) -> None:
    page = phone_page(browser, city, console_errors)
    report_pothole(page, "A deep hole in the right lane by the bus stop.", CITIZEN, gps_jpeg())
    sent = lambda r: urlsplit(r.url).path == "/citizen/v1/reports" and r.request.method == "POST"  # noqa: E731
    with page.expect_response(sent) as answer:
        page.locator('[data-testid="continue"]').click()
    created = answer.value.json()
    assert answer.value.status == 201, created
    reference = page.locator('[data-testid="reference"]').inner_text()
    assert reference == created["reference"] and reference.startswith("CQ-")
    assert page.locator('[data-testid="promise"]').inner_text() == created["promise"]
    assert axe_violations(page) == []

    # The stored photo: re-encoded, no EXIF at all (no GPS, no maker).
    [photo_url] = created["photos"]
    assert photo_url.startswith("/media/")
    from PIL import Image

    with urlopen(city.base + photo_url, timeout=10) as response:
        stored = Image.open(BytesIO(response.read()))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {} and "exif" not in stored.info

    # The operator accepts it in the operations centre.
    desk_context = browser.new_context(viewport=DESKTOP, base_url=f"{city.base}/dashboard/")
    desk = console_errors.watch(desk_context.new_page())
    # A plain `cityos serve` has neither a built base map nor a live city's indicators: the
    # operations centre asks, is answered 404, and draws outlines and no live figures.
    console_errors.expect("status of 404")  # the browser's line names no URL
    desk.set_default_timeout(20_000)
    desk.goto(f"#key={city.key}")
    desk.wait_for_selector('body[data-auth="on"]')
    cases = show(desk, "cases")
    cases.locator(f'tr[data-case-id="{created["id"]}"]').click()
    panel = cases.locator("aside:visible")
    panel.locator(".panel-head").get_by_text("Reported", exact=True).wait_for()
    panel.locator('[data-action="accept"]').click()
    panel.locator('[data-trail-action="accept"]').wait_for()
    assert OPERATOR in panel.locator('[data-trail-action="accept"]').inner_text()
    assert panel.locator(f'[data-reference="{reference}"]').count() == 1
    thumbnail = panel.locator("figure[data-photo] img")
    assert (thumbnail.get_attribute("src") or "").startswith("/media/")
    assert CITIZEN in panel.locator("[data-followers]").inner_text()
    desk.wait_for_function(
        "() => document.querySelector('figure[data-photo] img')?.naturalWidth > 0"
    )
    panel.locator("figure[data-photo]").evaluate("(f) => f.scrollIntoView({ block: 'center' })")
    screenshot(desk, "citizen-case-panel")
    desk_context.close()

    # The citizen hears of it.
    mail = city.inbox.wait_for(reference, "accepted")
    assert CITIZEN in mail["To"] and MAIL_FROM in mail["From"]

    # The tracking page tells the story, with the photo, and nothing of the contact.
    page.goto(f"/report/{reference}")
    page.wait_for_selector('main[data-ready="true"]')
    assert page.locator(".c-facts .c-state").inner_text() == "Accepted"
    assert page.locator('[data-testid="timeline"] li[data-state="accepted"]').count() == 1
    image = page.locator('[data-testid="photos"] img')
    image.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=photos] img')?.naturalWidth > 0"
    )
    assert CITIZEN not in page.content()
    assert axe_violations(page) == []
    assert csp_violations(page) == []


def test_the_operator_hides_the_text_from_the_public(
    browser: Browser, city: City, console_errors: ConsoleErrors
) -> None:
    """Moderation from the case panel: the reason is asked for, the text leaves the public
    story (the tracking page says it is hidden) and the trail keeps the action."""
    with urlopen(
        f"{city.base}/citizen/v1/reports?status=open&bbox=104.9,27.9,110.5,32.4", timeout=10
    ) as response:
        reference = json.loads(response.read())[0]["reference"]
    desk_context = browser.new_context(viewport=DESKTOP, base_url=f"{city.base}/dashboard/")
    desk = console_errors.watch(desk_context.new_page())
    # A plain `cityos serve` has neither a built base map nor a live city's indicators: the
    # operations centre asks, is answered 404, and draws outlines and no live figures.
    console_errors.expect("status of 404")  # the browser's line names no URL
    desk.set_default_timeout(20_000)
    desk.goto(f"#key={city.key}")
    desk.wait_for_selector('body[data-auth="on"]')
    cases = show(desk, "cases")
    cases.locator("tr[data-case-id]").first.click()
    panel = cases.locator("aside:visible")
    panel.locator(f'[data-reference="{reference}"]').wait_for()
    panel.locator('[data-moderate="text"]').click()
    form = panel.locator('[data-moderation-form="text"]')
    form.locator('button[type="submit"]').click()
    assert "reason" in form.locator('[role="alert"]').inner_text()  # none given: not sent
    form.locator("textarea").fill("Names a private person.")
    form.locator('button[type="submit"]').click()
    panel.locator('[data-trail-action="moderate"]').wait_for()
    desk_context.close()
    page = phone_page(browser, city, console_errors)
    page.goto(f"/report/{reference}")
    page.wait_for_selector('main[data-ready="true"]')
    assert page.locator(".c-description").count() == 0
    assert "hidden" in page.locator("main").inner_text()
    assert "private person" not in page.content()


def test_a_neighbour_says_me_too(
    browser: Browser, city: City, console_errors: ConsoleErrors
) -> None:
    """Run after the first report (same module, same city): it is offered as a duplicate."""
    page = phone_page(browser, city, console_errors)
    report_pothole(page, "Same hole, still there.", "neighbour@example.org", None)
    page.locator('[data-testid="continue"]').click()
    dupes = page.locator('[data-testid="duplicates"]')
    dupes.wait_for()
    card = dupes.locator(".c-card").first
    reference = card.get_attribute("data-reference")
    assert reference and card.locator("img.c-photo").count() == 1
    assert axe_violations(page) == []
    card.locator("[data-metoo]").click()
    page.wait_for_selector('[data-testid="reference"]')
    assert page.locator('[data-testid="reference"]').inner_text() == reference
    with urlopen(f"{city.base}/citizen/v1/reports/{reference}", timeout=10) as response:
        story = json.loads(response.read())
    assert story["supporters"] == 1
    page.goto("/report/map")
    page.wait_for_selector('main[data-ready="true"]')
    assert page.locator(f'[data-testid="reports-list"] [data-reference="{reference}"]').count() == 1
    assert "example.org" not in page.content()
    assert axe_violations(page) == []
    assert csp_violations(page) == []


def test_the_pages_need_no_key(city: City) -> None:
    for path in ("/report/", "/report/map", "/report/CQ-2026-000001", "/dashboard/citizen/main.js"):
        with urlopen(city.base + path, timeout=10) as response:
            assert response.status == 200, path
            assert "script-src 'self'" in response.headers["content-security-policy"]
