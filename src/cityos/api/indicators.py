"""/indicators: the indicator catalogue, and cities side by side.

    GET /indicators                       the catalogue: themes, indicators, cities with values
    GET /indicators/compare?cities=a,b,c  the comparison table (JSON), and per theme each
                                          city's mean share of the best (the radar chart)

The values compared are the packaged reference set and the KeyPerformanceIndicator entities
the broker holds (`cityos indicators load`); a loaded value replaces a packaged one of the
same city, indicator, basis and year. Every cell with a value carries its citations; a
missing value is null, never filled in.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.errors import InvalidRequest
from cityos.domains.base import CityView
from cityos.indicators.catalogue import THEMES, Indicator, catalogue
from cityos.indicators.compare import Comparison, compare, theme_scores
from cityos.indicators.entities import stored_values
from cityos.indicators.reference import merge, packaged_reference

from .http import plain_json, services, tenant_of


def _indicator(indicator: Indicator) -> dict[str, Any]:
    return asdict(indicator)


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The table as JSON: rows of cells, each with its value, year, basis, rank, citations."""
    return {
        "cities": comparison.cities,
        "rows": [
            {
                "indicator": _indicator(row.indicator),
                "basis": row.basis,
                "missing": row.missing,
                "cells": [asdict(cell) for cell in row.cells.values()],
            }
            for row in comparison.rows
        ],
        "sources": comparison.sources,
        "themes": theme_scores(comparison),
    }


def _check_parameters(request: Request, allowed: set[str]) -> None:
    unknown = set(request.query_params) - allowed
    if unknown:
        raise InvalidRequest(f"Unknown query parameter(s): {', '.join(sorted(unknown))}.")


async def list_indicators(request: Request) -> Response:
    _check_parameters(request, set())
    city = CityView(services(request).broker, tenant_of(request))

    def build() -> dict[str, Any]:
        values = merge(packaged_reference(), stored_values(city))
        return {
            "themes": list(THEMES),
            "indicators": [_indicator(i) for i in catalogue().indicators.values()],
            "cities": sorted({v.city for v in values}),
        }

    return plain_json(await anyio.to_thread.run_sync(build))


async def compare_cities(request: Request) -> Response:
    _check_parameters(request, {"cities"})
    cities = [c.strip() for c in request.query_params.get("cities", "").split(",") if c.strip()]
    if not cities:
        raise InvalidRequest("Name the cities to compare: ?cities=chongqing,london,warsaw.")
    city = CityView(services(request).broker, tenant_of(request))

    def build() -> dict[str, Any]:
        values = merge(packaged_reference(), stored_values(city))
        return comparison_json(compare(cities, values))

    body = await anyio.to_thread.run_sync(build)
    return plain_json(body)


routes = [
    Route("/indicators", list_indicators, methods=["GET"]),
    Route("/indicators/compare", compare_cities, methods=["GET"]),
]
