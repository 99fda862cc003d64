"""/kpis: the domain packs' key figures, computed from what the broker holds.

    GET /kpis              every pack's KPIs       [{pack, id, name, value, unit, …}]
    GET /kpis/{pack}       one pack's
    `bound: "lower"`: the value counts only what the data hold (a mapped network's lines)
    ?at=<date-time>        as of that moment (windows such as "the last hour" end there)

The packs are every domain pack (`app.state.packs`; the demo puts its scenario's there).
KPIs are computed from what the broker holds, so they are true of real data as of
simulated; a KPI whose data are missing has the value null, never a made-up figure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.context.errors import ResourceNotFound
from cityos.domains.base import CityView, Kpi, Pack

from .http import moment_param, plain_json, services, tenant_of


def _render(pack: str, kpi: Kpi) -> dict[str, Any]:
    return {
        "pack": pack,
        "id": kpi.id,
        "name": kpi.name,
        "value": kpi.value,
        "unit": kpi.unit,
        "description": kpi.description,
        "breakdown": kpi.breakdown,
        **({"bound": "lower"} if kpi.lower_bound else {}),
    }


def _packs(request: Request) -> dict[str, Pack]:
    packs: dict[str, Pack] = getattr(request.app.state, "packs", {})
    return packs


async def _compute(request: Request, packs: dict[str, Pack]) -> Response:
    city = CityView(services(request).broker, tenant_of(request))
    now = moment_param(request, "at") or datetime.now(UTC)

    def compute() -> list[dict[str, Any]]:
        return [_render(name, k) for name, pack in packs.items() for k in pack.kpis(city, now)]

    body = await anyio.to_thread.run_sync(compute)
    return plain_json(body)


async def all_kpis(request: Request) -> Response:
    return await _compute(request, _packs(request))


async def pack_kpis(request: Request) -> Response:
    name = request.path_params["pack"]
    packs = _packs(request)
    if name not in packs:
        raise ResourceNotFound(f"No domain pack {name!r} runs here; running: {', '.join(packs)}.")
    return await _compute(request, {name: packs[name]})


routes = [
    Route("/kpis", all_kpis, methods=["GET"]),
    Route("/kpis/{pack}", pack_kpis, methods=["GET"]),
]
