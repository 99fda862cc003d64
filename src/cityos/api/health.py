"""/health: liveness and readiness, for load balancers and Kubernetes probes.

    GET /health/live    200 {"status": "pass"} while the process answers at all
    GET /health/ready   200 when ready (pass or warn), 503 when a check fails
    GET /health         the readiness view with every check's detail

Bodies are application/health+json in the style of the IETF health-check draft
(draft-inadarei-api-health-check): `{"status": "pass|warn|fail", "checks":
{"store:responseTime": [{...}], ...}}`. Each component answers for itself in its own module
(`store.health.ping`, the bus's, the notifier's, the rule engine's and the MQTT gateway's
`health()`); this module runs them side by side, each bounded to CHECK_TIMEOUT_S, so a
hung database or broker makes its check fail, not the probe hang.

An MQTT gateway that lost its broker is `warn`, not `fail`: every instance shares that
broker, and taking them all out of rotation would not bring it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos import __version__
from cityos.context.broker import utc_now
from cityos.health import Check, Status, worst
from cityos.logs import redact
from cityos.store.health import ping

HEALTH_JSON = "application/health+json"
CHECK_TIMEOUT_S = 2.0
HEADERS = {"Cache-Control": "no-store"}


class SingleFlight:
    """A blocking probe in a daemon thread of its own. While one call hangs no other is
    started (later probes wait on the same one), so a stuck database holds one thread,
    not one per probe, and never blocks the process from exiting."""

    def __init__(self, probe: Callable[[], Check]) -> None:
        self._probe = probe
        self._pending: asyncio.Future[Check] | None = None

    async def __call__(self) -> Check:
        if self._pending is None or self._pending.done():
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Check] = loop.create_future()

            def settle(result: Check) -> None:
                if not future.done():
                    future.set_result(result)

            def run() -> None:
                result = _guarded(self._probe)
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(settle, result)

            threading.Thread(target=run, name="health-probe", daemon=True).start()
            self._pending = future
        return await asyncio.shield(self._pending)


def _guarded(probe: Callable[[], Check]) -> Check:
    try:
        return probe()
    except Exception as error:
        return Check("fail", _why(error))


def _why(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return redact(f"{type(error).__name__}: {text[0]}" if text else type(error).__name__)


@dataclass(frozen=True, slots=True)
class _Probe:
    name: str
    """`component:measurement`, the draft's key."""
    component_type: str
    run: Callable[[], Awaitable[Check]]


async def _bounded(probe: _Probe) -> Check:
    try:
        return await asyncio.wait_for(probe.run(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return Check("fail", f"no answer within {CHECK_TIMEOUT_S:g} s")
    except Exception as error:
        return Check("fail", _why(error))


def _now(check: Callable[[], Check]) -> Callable[[], Awaitable[Check]]:
    async def run() -> Check:
        return check()

    return run


def _probes(app: Starlette) -> list[_Probe]:
    state = app.state
    store_probe: SingleFlight | None = getattr(state, "health_store_probe", None)
    if store_probe is None:
        store = state.services.broker.store
        store_probe = state.health_store_probe = SingleFlight(lambda: ping(store))
    probes = [
        _Probe("store:responseTime", "datastore", store_probe),
        _Probe("events:connected", "component", state.bus.health),
        _Probe("notifier:running", "component", _now(state.notifier.health)),
        _Probe("rules:running", "component", _now(state.rules.health)),
    ]
    gateway = getattr(state, "mqtt_gateway", None)
    if gateway is not None:
        probes.append(_Probe("mqtt:connected", "component", _now(gateway.health)))
    return probes


async def assess(app: Starlette) -> tuple[Status, dict[str, list[dict[str, Any]]]]:
    """Every check, run side by side, each bounded; the overall status is the worst."""
    probes = _probes(app)
    results = await asyncio.gather(*(_bounded(probe) for probe in probes))
    stamp = utc_now()
    checks = {
        probe.name: [_entry(probe, check, stamp)]
        for probe, check in zip(probes, results, strict=True)
    }
    return worst([check.status for check in results]), checks


def _entry(probe: _Probe, check: Check, stamp: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"componentType": probe.component_type, "status": check.status}
    if check.component_id is not None:
        entry["componentId"] = check.component_id
    if check.observed_value is not None:
        entry["observedValue"] = check.observed_value
        if check.observed_unit is not None:
            entry["observedUnit"] = check.observed_unit
    if check.output:
        entry["output"] = check.output
    entry["time"] = stamp
    return entry


def _answer(body: dict[str, Any], status: Status) -> Response:
    code = 503 if status == "fail" else 200
    return Response(orjson.dumps(body), code, HEADERS, media_type=HEALTH_JSON)


async def live(request: Request) -> Response:
    """The process answers: its event loop runs. Nothing else is asked."""
    return _answer({"status": "pass"}, "pass")


async def ready(request: Request) -> Response:
    status, checks = await assess(request.app)
    body: dict[str, Any] = {"status": status}
    failing = [
        f"{name}: {entries[0].get('output', entries[0]['status'])}"
        for name, entries in checks.items()
        if entries[0]["status"] != "pass"
    ]
    if failing:
        body["output"] = "; ".join(failing)
    return _answer(body, status)


async def health(request: Request) -> Response:
    status, checks = await assess(request.app)
    body = {
        "status": status,
        "version": __version__,
        "description": "cityos: NGSI-LD context broker and city platform",
        "checks": checks,
    }
    return _answer(body, status)


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/health/live", live, methods=["GET"]),
    Route("/health/ready", ready, methods=["GET"]),
]
