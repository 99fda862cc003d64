"""A citizen's report reaches the operators' case queue, and their action moves it on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from tests.web.browser import bearer
from tests.web.helpers import show

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_citizen_report_is_accepted_from_the_case_queue(
    page: Page, city: str, city_key: str
) -> None:
    # The citizen: category, a question answered, description, photo URL, a point on the map.
    report = show(page, "report")
    page.select_option("#report-category", "pothole")
    page.select_option("#report-q-size", "large")
    page.fill("#report-description", "Deep pothole in the bus lane, browser test")
    page.fill("#report-media", "https://example.org/pothole.jpg")
    report.locator(".leaflet-container").click()  # the map's centre: Jiefangbei
    page.click('[data-test="report-submit"]')
    receipt = page.locator('[data-test="report-result"][data-request-id]')
    receipt.wait_for()
    reference = receipt.get_attribute("data-request-id")
    assert reference and reference.startswith("CQ-"), reference  # Open311 speaks references
    found = httpx.get(f"{city}/governance/cases/{reference}", headers=bearer(city_key), timeout=10)
    case_id = found.json()["id"]

    # The signed-in administrator: the queue lists it; its detail offers "accept", which
    # moves it on.
    cases = show(page, "cases")
    row = cases.locator(f'tr[data-case-id="{case_id}"]')
    row.click()
    detail = cases.locator("aside:visible")
    detail.locator(".panel-head").get_by_text("Reported", exact=True).wait_for()
    detail.locator('[data-action="accept"]').click()
    detail.locator(".panel-head").get_by_text("Accepted", exact=True).wait_for()
    assert detail.locator('[data-action="accept"]').count() == 0

    record = httpx.get(f"{city}/governance/cases/{case_id}", headers=bearer(city_key), timeout=10)
    assert record.status_code == 200, record.text
    assert record.json()["state"] == "accepted"
    assert record.json()["category"] == "pothole"
