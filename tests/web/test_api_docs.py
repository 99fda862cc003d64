"""/docs: the API browser shows the OpenAPI document of the running city, from files this
server serves (the page logs no error; tests/web/conftest.py fails the test if it does),
under the same strict Content-Security-Policy as the dashboard, which it never violates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cityos.api.http import Settings
from cityos.api.openapi import openapi_document
from tests.web.helpers import csp_violations, screenshot, watch_csp

if TYPE_CHECKING:
    from tests.web.conftest import OpenPage


def test_api_docs_show_every_surface(open_page: OpenPage) -> None:
    page = open_page()
    watch_csp(page)
    answer = page.goto("/docs")
    assert answer is not None
    assert "script-src 'self';" in answer.headers["content-security-policy"]
    page.wait_for_selector(".opblock-tag-section")
    assert "cityos" in page.locator(".info .title").inner_text()
    tags = [tag["name"] for tag in openapi_document(Settings())["tags"]]
    shown = page.locator(".opblock-tag").all_inner_texts()
    assert [text.split("\n")[0].strip() for text in shown] == tags
    page.locator(".opblock-tag", has_text="entities").first.click()
    page.wait_for_selector("#operations-entities-queryEntities")
    assert page.locator(".opblock-tag-section.is-open .opblock").count() == 11
    page.evaluate("document.querySelector('.opblock-tag-section.is-open').scrollIntoView()")
    screenshot(page, "api-docs")
    assert csp_violations(page) == []
