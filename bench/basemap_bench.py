"""Base maps: what the packaged archives cost to build, how fast cityos serves their tiles,
and what the vector base map adds to the map page's first render.

    .venv/bin/python -m bench.basemap_bench [--loads 5] [--seconds 5] [--connections 16]

1. build: `build_packaged` of the Chongqing and world archives (their tiles, bytes, seconds;
   the median of 3 builds each).
2. tiles per second: `cityos serve --basemap chongqing.pmtiles` (auth off) on a free loopback
   port, asked for the archive's real tiles by range (`GET /basemap/city.pmtiles`, `Range:
   bytes=<a tile>`, every tile in turn) over --connections keep-alive connections for
   --seconds, after a second's warm-up; against a bare ASGI app (`--bare PORT`, below) that
   answers every request with 206 and a fixed body of the archive's median tile size, on
   the same uvicorn: the machine's own limit for a small response; and cityos's `GET
   /version`, the cost of its middleware stack alone. All measured by the same asyncio
   HTTP/1.1 client (bench/raw_http.py) in this process.
3. first render: `cityos demo` and Chromium (headless, 1366x768), cold loads of #/map (new
   context, cache off), timed from navigation start to the first frame after the page's
   data are drawn (data-ready) and after the base map's tiles are drawn
   (data-basemap="drawn"); the same page with /basemap/ answered 404 (the district
   outlines only, as before the base map) for comparison. Medians of --loads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from tests.serve import free_port, served, wait_until_up
from tests.web.browser import CHROMIUM, DESKTOP, demo_city, demo_key, launch

from bench.raw_http import exchange
from cityos.basemap import packaged

if TYPE_CHECKING:
    from playwright.sync_api import Page

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
BARE_BODY = b""


async def bare(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """206 and a fixed body to every request: no routing, no file, no range parsing."""
    if scope["type"] != "http":
        return
    headers = [
        (b"content-type", b"application/vnd.pmtiles"),
        (b"content-length", str(len(BARE_BODY)).encode()),
        (b"content-range", f"bytes 0-{len(BARE_BODY) - 1}/{len(BARE_BODY)}".encode()),
    ]
    await send({"type": "http.response.start", "status": 206, "headers": headers})
    await send({"type": "http.response.body", "body": BARE_BODY})


def tile_ranges(path: Path) -> list[tuple[int, int]]:
    """(offset, length) in the file of every tile of the archive, in archive order."""
    from pmtiles.reader import all_tiles
    from pmtiles.tile import deserialize_header

    data = path.read_bytes()
    tiles_from = deserialize_header(data[:127])["tile_data_offset"]
    ranges: list[tuple[int, int]] = []

    def get_bytes(offset: int, length: int) -> bytes:
        if offset >= tiles_from:  # a tile, not the header or a directory
            ranges.append((offset, length))
        return data[offset : offset + length]

    for _ in all_tiles(get_bytes):
        pass
    return ranges


def build_figures(directory: Path) -> dict[str, tuple[int, int, float]]:
    figures = {}
    for name in packaged.PACKAGED:
        times, report = [], None
        for _ in range(3):
            started = time.perf_counter()
            report = packaged.build_packaged(name, directory / f"{name}.pmtiles")
            times.append(time.perf_counter() - started)
        assert report is not None
        figures[name] = (report.tiles, report.bytes, statistics.median(times))
    return figures


async def hammer(
    port: int,
    path: str,
    ranges: list[tuple[int, int]],
    connections: int,
    seconds: float,
    expect: int = 206,
) -> float:
    """Requests per second over `connections` keep-alive connections for `seconds`."""
    done = 0
    stop = 0.0

    async def worker(start: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = start
        while time.perf_counter() < stop:
            offset, length = ranges[i % len(ranges)]
            headers = f"Range: bytes={offset}-{offset + length - 1}\r\n" if expect == 206 else ""
            status = await exchange(reader, writer, "GET", path, "text/plain", b"", headers)
            assert status == expect, status
            done += 1
            i += connections
        writer.close()

    stop = time.perf_counter() + 1.0  # warm-up
    await asyncio.gather(*(worker(i) for i in range(connections)))
    done = 0
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return done / (time.perf_counter() - started)


def serving_figures(
    archive: Path, connections: int, seconds: float
) -> tuple[float, float, float, int]:
    ranges = tile_ranges(archive)
    size = int(statistics.median(length for _, length in ranges))
    with tempfile.TemporaryDirectory() as tmp, served(Path(tmp), "--basemap", str(archive)) as port:
        cityos = asyncio.run(hammer(port, "/basemap/city.pmtiles", ranges, connections, seconds))
        version = asyncio.run(hammer(port, "/version", ranges, connections, seconds, 200))
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bench.basemap_bench",
        "--bare",
        str(port),
        "--size",
        str(size),
    ]
    process = subprocess.Popen(command)
    try:
        wait_until_up(process, port, "/")
        floor = asyncio.run(hammer(port, "/", ranges, connections, seconds))
    finally:
        process.terminate()
        process.wait(timeout=10)
    return cityos, version, floor, size


MARKS = """(() => {
  const marks = (window.__marks = {});
  const stamp = (name) => {
    if (name in marks) return;
    marks[name] = null;
    requestAnimationFrame(() => { marks[name] = performance.now(); });
  };
  const look = () => {
    if (document.querySelector('[data-page="map"][data-ready="true"]')) stamp("ready");
    if (document.querySelector('.basemap[data-basemap="drawn"]')) stamp("base");
    if (document.querySelector('.basemap[data-basemap="outlines"]')) stamp("base");
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true,
    attributes: true, attributeFilter: ["data-ready", "data-basemap"] });
})();"""


def wait_for_marks(page: Page) -> dict[str, float]:
    """Both marks, polled from here (the page's CSP refuses wait_for_function's eval)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        marks = page.evaluate("window.__marks || {}")
        if all(isinstance(marks.get(name), int | float) for name in ("ready", "base")):
            return dict(marks)
        page.wait_for_timeout(20)
    raise RuntimeError(f"#/map did not draw within 60 s: {marks}")


def first_render(loads: int) -> dict[str, tuple[float, float]]:
    """'with' / 'without' the base map → (median ms to data ready, to base map drawn)."""
    from playwright.sync_api import sync_playwright

    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = launch(playwright)
        with demo_city(Path(tmp) / "city") as base:
            key = demo_key(Path(tmp) / "city")
            for label, without in (("warm-up", False), ("with", False), ("without", True)):
                ready, drawn = [], []
                for _ in range(loads):
                    context = browser.new_context(viewport=DESKTOP)
                    page = context.new_page()
                    page.add_init_script(MARKS)
                    page.add_init_script(f"sessionStorage.setItem('cityos.key', {json.dumps(key)})")
                    session = context.new_cdp_session(page)
                    session.send("Network.enable")
                    session.send("Network.setCacheDisabled", {"cacheDisabled": True})
                    if without:
                        page.route("**/basemap/*", lambda route: route.fulfill(status=404))
                    page.goto(f"{base}/dashboard/#/map", wait_until="commit")
                    marks = wait_for_marks(page)
                    ready.append(marks["ready"])
                    drawn.append(marks["base"])
                    context.close()
                if label != "warm-up":
                    results[label] = (statistics.median(ready), statistics.median(drawn))
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        global BARE_BODY
        BARE_BODY = b"x" * args.size
        uvicorn.run(bare, host="127.0.0.1", port=args.bare, log_level="warning", access_log=False)
        return
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    print(f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        built = build_figures(Path(tmp))
        for name, (tiles, size, seconds) in built.items():
            print(f"build {name}: {tiles:,} tiles, {size / 1e6:.2f} MB in {seconds:.1f} s")
        cityos, version, floor, tile = serving_figures(
            Path(tmp) / "chongqing.pmtiles", args.connections, args.seconds
        )
    print(
        f"tiles served: {cityos:,.0f}/s by range from cityos; bare ASGI {tile:,} B 206: "
        f"{floor:,.0f}/s; ratio {cityos / floor:.2f}; cityos GET /version (its middleware "
        f"alone): {version:,.0f}/s"
    )
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: no first-render figures")
    render = first_render(args.loads)
    for label, (ready, drawn) in render.items():
        print(f"#/map {label} the base map: data ready {ready:.0f} ms, base drawn {drawn:.0f} ms")


if __name__ == "__main__":
    main()
