"""/metrics: the app's metrics in the Prometheus text format (OpenMetrics when the scraper
asks for it). What they are is `cityos.metrics`; this module only serves them."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.metrics import Metrics


async def metrics(request: Request) -> Response:
    found: Metrics = request.app.state.metrics
    # In a thread: scrape-time gauges read the store (the outbox depth).
    body, media_type = await asyncio.to_thread(found.exposition, request.headers.get("accept"))
    return Response(body, headers={"Content-Type": media_type, "Cache-Control": "no-store"})


routes = [Route("/metrics", metrics, methods=["GET"])]
