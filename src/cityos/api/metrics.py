"""/metrics: the app's metrics in the Prometheus text format (OpenMetrics when the scraper
asks for it). What they are is `cityos.metrics`; this module only serves them."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.metrics import Metrics

from .background import running

SWITCH_INTERVAL_S = 0.0005
"""How long a worker thread may hold the interpreter lock while the event loop waits for it
(Python's default is 5 ms, and a request takes several turns of the loop): worker threads
running parsing and commits otherwise delay every answer by tens of milliseconds."""

LAG_EVERY_S = 0.1
"""How often the event loop's lag is sampled."""

GC_THRESHOLDS = (50_000, 50, 100)
"""When the cyclic garbage collector runs (Python's default is 700, 10, 10). A collection
holds the interpreter lock, loop included: with the defaults, parsing one large request body
(a batch of 2,000 entities) set off full collections over every object of the server, and
/version waited 150 to 230 ms behind them. Collected less often, and with what exists at start
frozen out of every collection (`gc.freeze`), a pass costs a few milliseconds; the server's
garbage is almost all freed by reference counting anyway."""


async def metrics(request: Request) -> Response:
    found: Metrics = request.app.state.metrics
    # In a thread: scrape-time gauges read the store (the outbox depth).
    body, media_type = await asyncio.to_thread(found.exposition, request.headers.get("accept"))
    return Response(body, headers={"Content-Type": media_type, "Cache-Control": "no-store"})


routes = [Route("/metrics", metrics, methods=["GET"])]


async def watch_loop(found: Metrics, every_s: float = LAG_EVERY_S) -> None:
    """Sleep `every_s` again and again and record how late each wake-up comes: blocking
    work on the event loop (which delays every request) shows as lag."""
    while True:
        due = time.perf_counter() + every_s
        await asyncio.sleep(every_s)
        found.loop_lag.observe(max(0.0, time.perf_counter() - due))


def loop_lag_service(app: Starlette) -> AbstractAsyncContextManager[None]:
    """The lag sampler, for the app's lifetime (and the loop's share of the lock: the
    interpreter's switch interval and garbage collector are tuned for it here)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return running(watch_loop(app.state.metrics), "event-loop-lag")
