"""/iot: device provisioning and the HTTP measure transport, as the FIWARE IoT Agent (JSON).

    POST   /iot/devices            {"devices": [{...}, ...]}   201; 409 if a device exists
    GET    /iot/devices            ?limit&offset               {"count": n, "devices": [...]}
    GET    /iot/devices/{id}                                   the device
    PUT    /iot/devices/{id}       fields to change            204
    DELETE /iot/devices/{id}                                   204 (its entity stays)
    POST   /iot/json?k=<apikey>&i=<device_id>   measures       204
    GET    /iot/stats                                          ingestion counters

Devices belong to the request's tenant (api/tenancy.py: the NGSILD-Tenant header, or the
IoT Agent's fiware-service header); measures find a device in that tenant only. Errors are
NGSI-LD ProblemDetails. The MQTT gateway, when enabled with `enable_mqtt`, runs beside the
API for the app's lifetime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.auth.policy import may_write_entity
from cityos.context.broker import utc_now
from cityos.context.errors import BadRequestData, Forbidden, InvalidRequest, ResourceNotFound
from cityos.context.jsonld import JSON, Terms
from cityos.ingest.devices import Measure, ingest, parse_device, render_device
from cityos.ingest.gateway import (
    BAD_APIKEY,
    INVALID,
    MALFORMED,
    UNKNOWN_DEVICE,
    GatewayStats,
    MqttGateway,
)
from cityos.store.devices import DeviceRegistry

from . import background
from .http import Services, plain_json, principal_of, read_body, services, tenant_of

DEVICES = "/iot/devices"


def _parameters(request: Request, *allowed: str) -> None:
    """/iot routes check their own query parameters (the NGSI-LD check skips them)."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise InvalidRequest(f"Unknown query parameter(s): {', '.join(unknown)}.")


def _registry(request: Request) -> DeviceRegistry:
    return services(request).broker.store.devices


def _terms_for(svc: Services) -> Callable[[str | None], Terms]:
    return svc.contexts.resolve


def ingest_stats(app: Starlette) -> GatewayStats:
    """The app's ingestion counters, shared by the HTTP transport and the MQTT gateway."""
    stats: GatewayStats | None = getattr(app.state, "iot_stats", None)
    if stats is None:
        stats = app.state.iot_stats = GatewayStats()
    return stats


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequestData(f"{name} must be an integer from {low} to {high}, not {raw!r}.")
    return int(raw)


# -- provisioning --------------------------------------------------------------------------


async def provision(request: Request) -> Response:
    _parameters(request)
    body, _ = await read_body(request, allowed=(JSON,))
    if not isinstance(body, dict) or not isinstance(body.get("devices"), list):
        raise BadRequestData('Provision devices as {"devices": [{"device_id": ...}, ...]}.')
    svc, tenant, now = services(request), tenant_of(request), utc_now()
    devices = [parse_device(item, tenant, _terms_for(svc), now) for item in body["devices"]]
    ids = [device.device_id for device in devices]
    if len(set(ids)) < len(ids):
        raise BadRequestData("The same device_id appears twice in the request.")
    registry = _registry(request)
    added: list[str] = []
    try:
        for device in devices:
            registry.add_device(device)
            added.append(device.device_id)
    except Exception:
        for device_id in added:  # all or nothing, as the IoT Agent answers for the request
            registry.delete_device(tenant, device_id)
        raise
    headers = {"Location": f"{DEVICES}/{ids[0]}"} if len(ids) == 1 else None
    return Response(status_code=201, headers=headers)


def list_devices(request: Request) -> Response:
    _parameters(request, "limit", "offset")
    settings = services(request).settings
    limit = _int(request, "limit", settings.default_limit, 1, settings.max_limit)
    offset = _int(request, "offset", 0, 0, 2**31)
    found, count = _registry(request).list_devices(tenant_of(request), limit, offset)
    return plain_json({"count": count, "devices": [render_device(device) for device in found]})


def get_device(request: Request) -> Response:
    _parameters(request)
    tenant, device_id = tenant_of(request), request.path_params["device_id"]
    device = _registry(request).get_device(tenant, device_id)
    if device is None:
        raise ResourceNotFound(f"Device {device_id} is not provisioned.")
    return plain_json(render_device(device))


async def update_device(request: Request) -> Response:
    """Change the fields the body gives; the others keep their value (IoT Agent PUT)."""
    _parameters(request)
    tenant, device_id = tenant_of(request), request.path_params["device_id"]
    registry = _registry(request)
    old = registry.get_device(tenant, device_id)
    if old is None:
        raise ResourceNotFound(f"Device {device_id} is not provisioned.")
    body, _ = await read_body(request, allowed=(JSON,))
    if not isinstance(body, dict):
        raise BadRequestData("Send the device fields to change as a JSON object.")
    merged = {**render_device(old), **body}
    device = parse_device(
        merged, tenant, _terms_for(services(request)), utc_now(), device_id=device_id
    )
    device.created_at = old.created_at
    if not registry.replace_device(device):
        raise ResourceNotFound(f"Device {device_id} is not provisioned.")
    return Response(status_code=204)


def delete_device(request: Request) -> Response:
    _parameters(request)
    tenant, device_id = tenant_of(request), request.path_params["device_id"]
    if not _registry(request).delete_device(tenant, device_id):
        raise ResourceNotFound(f"Device {device_id} is not provisioned.")
    return Response(status_code=204)


# -- measures over HTTP --------------------------------------------------------------------


async def measures(request: Request) -> Response:
    """POST /iot/json?k=<apikey>&i=<device_id>: one measure object or an array of them."""
    _parameters(request, "k", "i")
    stats = ingest_stats(request.app)
    stats.received += 1
    apikey, device_id = request.query_params.get("k"), request.query_params.get("i")
    if not apikey or not device_id:
        stats.rejected[MALFORMED] += 1
        raise BadRequestData("Measures need the API key (k) and the device id (i) parameters.")
    svc = services(request)
    tenant = tenant_of(request)
    candidates = [
        d
        for d in svc.broker.store.devices.find_devices([device_id]).get(device_id, [])
        if d.tenant == tenant
    ]
    device = next((d for d in candidates if d.apikey == apikey), None)
    if device is None:
        stats.rejected[BAD_APIKEY if candidates else UNKNOWN_DEVICE] += 1
        raise ResourceNotFound(f"No device {device_id} with API key {apikey}.")
    principal = principal_of(request)
    if principal is not None and not may_write_entity(principal, device.entity_id):
        raise Forbidden(f"A device key sends measures only for its own entity, not {device_id}.")
    try:
        body, _ = await read_body(request, allowed=(JSON,))
    except Exception:
        stats.rejected[MALFORMED] += 1
        raise
    items = body if isinstance(body, list) else [body]
    batch = [Measure(device, item) for item in items]
    applied = ingest(svc.broker, _terms_for(svc), batch, utc_now(), atomic=True)
    errors = [m.error for m in batch if m.error is not None]
    if errors:
        stats.rejected[INVALID] += len(items)
        raise BadRequestData(errors[0].detail)
    stats.applied += applied
    stats.batches += 1
    return Response(status_code=204)


def stats(request: Request) -> Response:
    _parameters(request)
    return plain_json(ingest_stats(request.app).snapshot())


# -- the MQTT gateway beside the API -------------------------------------------------------


def mqtt_service(url: str) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A background service (see `app.state.background`) running the MQTT gateway."""

    @asynccontextmanager
    async def running(app: Starlette) -> AsyncIterator[None]:
        svc: Services = app.state.services
        gateway = MqttGateway(
            svc.broker,
            svc.broker.store.devices,
            _terms_for(svc),
            url,
            stats=ingest_stats(app),
            metrics=app.state.metrics,
            leading=app.state.bus.leading if app.state.bus.distributed else None,
            session=svc.broker.store.identity,
        )
        app.state.mqtt_gateway = gateway
        async with background.running(gateway.run(), "mqtt-gateway"):
            yield

    return running


def enable_mqtt(app: Starlette, url: str) -> None:
    """Run the MQTT device gateway on `url` (mqtt://host:port) while `app` runs."""
    app.state.background.append(mqtt_service(url))


routes = [
    Route(DEVICES, provision, methods=["POST"]),
    Route(DEVICES, list_devices, methods=["GET"]),
    Route(DEVICES + "/{device_id}", get_device, methods=["GET"]),
    Route(DEVICES + "/{device_id}", update_device, methods=["PUT"]),
    Route(DEVICES + "/{device_id}", delete_device, methods=["DELETE"]),
    Route("/iot/json", measures, methods=["POST"]),
    Route("/iot/stats", stats, methods=["GET"]),
]
