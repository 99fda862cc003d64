"""The dashboard in a real browser: a `cityos demo` subprocess and Debian's Chromium.

Shared by the browser tests (tests/web) and the page-load benchmark (bench/web_bench.py).
The demo requires keys, as `make demo` does: it keeps its admin key in DATA/demo-key
(`demo_key`), and a browser signs in by opening `/dashboard/#key=<key>`.
Playwright drives the system's Chromium at /usr/bin/chromium and never downloads a browser
of its own; Playwright itself is imported only where a browser is launched, so that a
machine without it skips the browser tests instead of failing to collect them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.request import Request, urlopen

from cityos.auth.demo import KEY_FILE
from tests.serve import free_port, wait_until_up

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, ViewportSize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = (
    "map",
    "overview",
    "cases",
    "freight",
    "manufacturing",
    "environment",
    "rural",
    "compare",
    "report",
)
"""The dashboard's routes (#/<page>), each a page module with data-page="<page>"."""
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 360, "height": 740}
CITY_LOADED = "/ngsi-ld/v1/entities?type=ManufacturingMachine&limit=1&q=simulatedHistory"
"""Non-empty once the demo has loaded its scenario (the packs load after the districts) and
back-filled its recent history (the machines' comes last)."""


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with no traffic of its own (updates, safe browsing…)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def demo_key(data: Path) -> str:
    """The admin key a demo on DATA made and printed (kept in DATA/demo-key)."""
    return (data / KEY_FILE).read_text("utf-8").strip()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _city_loaded(port: int, data: Path, auth: bool) -> bool:
    headers = bearer(demo_key(data)) if auth else {}
    try:
        request = Request(f"http://127.0.0.1:{port}{CITY_LOADED}", headers=headers)
        with urlopen(request, timeout=5) as response:
            return bool(json.loads(response.read()))
    except (OSError, ValueError):  # URLError, refused, timed out (busy loading), not JSON
        return False


@contextmanager
def demo_city(data: Path, seconds: float = 120, auth: bool = True) -> Iterator[str]:
    """`cityos demo` on DATA and a free loopback port; yields its base URL once the city is
    loaded, and stops it afterwards. Its output goes to DATA.log (shown if it fails).
    `auth=False`: the demo runs with `--auth off`.

    `--mqtt none`: devices publish over HTTP, so two demos on one machine (tests, a
    developer's own `make demo`) never exchange readings through a shared Mosquitto.
    """
    port = free_port()
    log_path = data.with_name(data.name + ".log")
    command = [
        *(sys.executable, "-m", "cityos.cli", "demo", "--data", str(data)),
        *("--port", str(port), "--no-browser", "--mqtt", "none"),
        *(() if auth else ("--auth", "off")),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_up(process, port, "/version", seconds=30)
            deadline = time.monotonic() + seconds
            while not _city_loaded(port, data, auth):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the demo city did not load within {seconds} s")
                time.sleep(0.2)
        except RuntimeError as error:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{error}; {' '.join(command)} said:\n{tail}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class ConsoleErrors(list[str]):
    """What a page reported as broken: console errors and uncaught exceptions, one line each
    with where it came from. `expect(text)`: errors containing it are the test's intent (the
    browser logs every 401 answer as an error) and are not recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.expected: list[str] = []

    def expect(self, text: str) -> None:
        self.expected.append(text)

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.append(f"uncaught {error.name}: {error.message}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error" or any(text in message.text for text in self.expected):
            return
        where = message.location
        at = where.get("url", "")
        if at and where.get("lineNumber"):
            at += f":{where['lineNumber']}"
        self.append(f"console.error: {message.text}" + (f" ({at})" if at else ""))
