"""/indicators: the indicator catalogue, and cities side by side.

    GET /indicators                       the catalogue: themes, indicators, cities with values
    GET /indicators/compare?cities=a,b,c[&themes=t1,t2]
                                          the comparison table (JSON): one row per indicator,
                                          each cell with its area, year, rank or the reason it
                                          is not ranked, and citations; the live values apart
                                          (`live`); per theme each city's mean share of the best
    GET /indicators/live[?at=]            the live city's indicators computed now from its
                                          own data (404 when none is configured)

With a live city configured (`cityos serve --indicators FILE`, or a scenario's
`indicators:`), a background pass computes its indicators every `indicators_every_s` and
stores them as KeyPerformanceIndicator entities, so the comparison, the history and
subscriptions see them like any other value.

The values compared are the packaged reference set and the KeyPerformanceIndicator entities
the broker holds (`cityos indicators load`); a loaded value replaces a packaged one of the
same city, indicator, basis and year. Every cell with a value carries its citations; a
missing value is null, never filled in.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.errors import InvalidRequest, ResourceNotFound
from cityos.domains.base import CityView
from cityos.indicators.catalogue import THEMES, Indicator, catalogue
from cityos.indicators.compare import Comparison, Row, compare, theme_scores
from cityos.indicators.entities import load_values, stored_values
from cityos.indicators.live import live_values
from cityos.indicators.reference import ReferenceValue, merge, packaged_reference

from . import background
from .http import moment_param, plain_json, services, tenant_of

log = logging.getLogger(__name__)


def _indicator(indicator: Indicator) -> dict[str, Any]:
    return asdict(indicator)


def _rows(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {
            "indicator": _indicator(row.indicator),
            "missing": row.missing,
            "cells": [asdict(cell) for cell in row.cells.values()],
        }
        for row in rows
    ]


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The table as JSON: rows of cells, each with its value, year, area, rank or reason,
    citations (publisher, title, published, url); the live rows apart, never ranked."""
    return {
        "cities": comparison.cities,
        "rows": _rows(comparison.rows),
        "live": _rows(comparison.live),
        "sources": [asdict(s) for s in comparison.sources],
        "themes": theme_scores(comparison),
    }


def _check_parameters(request: Request, allowed: set[str]) -> None:
    unknown = set(request.query_params) - allowed
    if unknown:
        raise InvalidRequest(f"Unknown query parameter(s): {', '.join(sorted(unknown))}.")


def _known_values(request: Request) -> Callable[[], list[ReferenceValue]]:
    """Reads the packaged reference set with the tenant's stored values over it (on a
    worker thread: the store is read)."""
    city = CityView(services(request).broker, tenant_of(request))
    return lambda: merge(packaged_reference(), stored_values(city))


async def list_indicators(request: Request) -> Response:
    _check_parameters(request, set())
    known_values = _known_values(request)

    def build() -> dict[str, Any]:
        values = known_values()
        return {
            "themes": list(THEMES),
            "indicators": [_indicator(i) for i in catalogue().indicators.values()],
            "cities": sorted({v.city for v in values}),
        }

    return plain_json(await anyio.to_thread.run_sync(build))


async def compare_cities(request: Request) -> Response:
    _check_parameters(request, {"cities", "themes"})
    cities = [c.strip() for c in request.query_params.get("cities", "").split(",") if c.strip()]
    themes = [t.strip() for t in request.query_params.get("themes", "").split(",") if t.strip()]
    unknown = [t for t in themes if t not in THEMES]
    if unknown:
        raise InvalidRequest(f"Unknown theme(s): {', '.join(unknown)}.")
    if not cities:
        raise InvalidRequest("Name the cities to compare: ?cities=chongqing,london,warsaw.")
    known_values = _known_values(request)

    def build() -> dict[str, Any]:
        return comparison_json(compare(cities, known_values(), themes=themes or None))

    body = await anyio.to_thread.run_sync(build)
    return plain_json(body)


async def live_indicators(request: Request) -> Response:
    _check_parameters(request, {"at"})
    live = services(request).settings.live_city
    if live is None:
        raise ResourceNotFound("No live city is configured (cityos serve --indicators FILE).")
    if live.tenant != tenant_of(request):
        raise ResourceNotFound(
            f"The live city is not in tenant {tenant_of(request)!r}: its indicators are "
            "computed for its own tenant only."
        )
    now = moment_param(request, "at") or datetime.now(UTC)
    city = CityView(services(request).broker, live.tenant)
    packs = request.app.state.packs

    def compute() -> list[dict[str, Any]]:
        return [asdict(v) for v in live_values(city, live, packs, now)]

    values = await anyio.to_thread.run_sync(compute)
    return plain_json({"city": live.name, "basis": live.basis, "values": values})


def live_indicators_service(app: Starlette) -> Any:
    """Computes the live city's indicators and stores them as entities, every
    `indicators_every_s` seconds (the first pass one period after start: the city needs
    data first). A failed pass is logged and the next one tried."""
    settings = app.state.services.settings
    live = settings.live_city
    if live is None:
        return contextlib.nullcontext()

    async def loop() -> None:
        broker = app.state.services.broker
        city = CityView(broker, live.tenant)
        while True:
            await anyio.sleep(settings.indicators_every_s)

            def store() -> list[str]:
                values = live_values(city, live, app.state.packs, datetime.now(UTC))
                return load_values(broker, values, live.tenant)

            try:
                problems = await anyio.to_thread.run_sync(store)
            except Exception:
                log.exception("computing the live indicators of %s failed", live.name)
                continue
            for problem in problems:
                log.warning("live indicator not stored: %s", problem)

    return background.running(loop(), "live-indicators")


routes = [
    Route("/indicators", list_indicators, methods=["GET"]),
    Route("/indicators/compare", compare_cities, methods=["GET"]),
    Route("/indicators/live", live_indicators, methods=["GET"]),
]
