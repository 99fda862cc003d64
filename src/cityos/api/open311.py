"""/open311/v2: Open311 GeoReport v2, the API citizens' apps speak, in JSON and XML.

    GET  /open311/v2/discovery.{fmt}                 the endpoint's discovery document
    GET  /open311/v2/services.{fmt}                  every service (case category)
    GET  /open311/v2/services/{service_code}.{fmt}   its attributes (questions)
    POST /open311/v2/requests.{fmt}                  form-encoded or multipart (a `media`
                                                      photo); a case, at once
    GET  /open311/v2/requests.{fmt}                  ?service_request_id&service_code&
                                                      start_date&end_date&status
    GET  /open311/v2/requests/{id}.{fmt}             one request, in a list
    GET  /open311/v2/tokens/{token}.{fmt}            the request a token stands for
    GET  /open311/v2/servicerequestupdates.{fmt}     ?start_date&end_date: public state
                                                      changes (mySociety's extension)

`fmt` is `json` or `xml`. Errors are the spec's (`[{"code", "description"}]`, or
`<errors><error>…`) in the requested format: 400 for bad input, 403 for a bad api_key,
404 for an unknown service, request, token, resource or format. The tenant is the
request's (api/tenancy.py), as everywhere in cityos; a POST into a tenant that does not
exist is refused (404).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from cityos.auth.principal import Method
from cityos.citizens.messages import CitizenError
from cityos.context.errors import BadRequestData, MethodNotAllowed, NgsiError, ResourceNotFound
from cityos.governance import open311
from cityos.governance.config import DEFAULT_CONFIG
from cityos.governance.errors import NotAllowed
from cityos.governance.model import CaseRecord

from . import citizens
from .http import offload, principal_of, read_bytes, services, tenant_of, visibility_of

PREFIX = "/open311/v2"
FORM = "application/x-www-form-urlencoded"
MEDIA = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_FIELDS = 500
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "service_request_updates": "request_update",
}
"""The element each list item becomes in XML, by the list's element."""
KEPT_STATUSES = frozenset({403, 404, 405, 413})
"""Error statuses Open311 clients see as they are; other client errors become 400."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
log = logging.getLogger("cityos.open311")

Body = list[dict[str, Any]] | dict[str, Any]
Handler = Callable[[Request], Awaitable[Body]]


# -- the wire ------------------------------------------------------------------------------


def to_xml(root: str, body: Body) -> bytes:
    """The spec's XML: lists repeat an element named by ITEMS, booleans are true/false."""
    element = ET.Element(root)
    _fill(element, body)
    xml: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return xml


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEMS[element.tag]), item)
    elif isinstance(value, dict):
        for name, item in value.items():
            _fill(ET.SubElement(element, name), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))


def render(body: Body, root: str, fmt: str, status: int = 200) -> Response:
    content = to_xml(root, body) if fmt == "xml" else orjson.dumps(body)
    return Response(content, status, media_type=MEDIA[fmt])


class _Refused(NgsiError):
    """A citizen refusal on the Open311 wire, with its status kept."""

    def __init__(self, status: int, detail: str, retry_after: int | None) -> None:
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after


def error_response(error: NgsiError, fmt: str) -> Response:
    """An NgsiError the Open311 way; a bad format extension is answered in JSON."""
    status = error.status
    if status < 500 and status not in KEPT_STATUSES and not isinstance(error, _Refused):
        status = 400
    body = [{"code": status, "description": error.detail}]
    response = render(body, "errors", fmt if fmt in MEDIA else "json", status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def endpoint(root: str, *parameters: str) -> Callable[[Handler], Callable[[Request], Any]]:
    """A route answering in the path's format with `root` as the XML root; it accepts the
    query parameters named (and those every Open311 call may carry)."""
    allowed = open311.COMMON_FIELDS | set(parameters)

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            fmt = request.path_params.get("format", "json")
            try:
                if fmt not in MEDIA:
                    raise ResourceNotFound(f"There is no format .{fmt}; use .json or .xml.")
                unknown = sorted(set(request.query_params) - allowed)
                if unknown:
                    raise BadRequestData(f"Unknown query parameter(s): {', '.join(unknown)}.")
                body = await handler(request)
            except NgsiError as error:
                return error_response(error, fmt)
            except Exception:
                log.exception("Unhandled error on %s %s", request.method, request.url.path)
                failure = NgsiError("The server failed on this request; the error was logged.")
                return error_response(failure, fmt)
            return render(body, root, fmt)

        return run

    return wrap


def _form(data: bytes | str, what: str) -> list[tuple[str, str]]:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequestData(f"The {what} is not form-encoded UTF-8 ({FORM}): {error}.") from None


def _joined(request: Request) -> dict[str, str]:
    """Query parameters, a repeated one joined by commas (the spec's lists)."""
    return {name: ",".join(request.query_params.getlist(name)) for name in request.query_params}


# -- routes --------------------------------------------------------------------------------


@endpoint("discovery")
async def discovery(request: Request) -> Body:
    svc = services(request)
    config_file = svc.settings.governance or DEFAULT_CONFIG
    changed = datetime.fromtimestamp(config_file.stat().st_mtime, UTC)
    url = str(request.base_url).rstrip("/") + PREFIX
    return open311.discovery(svc.cases.config, url, changed, svc.settings.open311_keys)


@endpoint("services")
async def service_list(request: Request) -> Body:
    return open311.service_list(services(request).cases.config)


@endpoint("service_definition")
async def service_definition(request: Request) -> Body:
    code = request.path_params["service_code"]
    return open311.service_definition(services(request).cases.config, code)


def media_of(request: Request) -> open311.MediaUrl:
    """Absolute URLs of cases' first public photos (under --public-url when set)."""
    svc = services(request)
    base = svc.settings.public_url or str(request.base_url).rstrip("/")
    tenant = tenant_of(request)

    def url(record: CaseRecord) -> str:
        first = svc.desk.first_photo(tenant, record)
        return base + first if first else ""

    return url


@endpoint("service_requests")
async def post_request(request: Request) -> Body:
    """A citizen's report, filed and answered with its reference (the services are
    realtime), in the request's tenant, which must exist: the default tenant always does,
    another once it holds entities. A citizen's app cannot call a tenant into being.

    Form-encoded, or multipart with a `media` photo (the GeoReport 2.1 draft), cleaned as
    the front door cleans photos. Without credentials (a citizen's app holding only the
    service's api_key) the post counts against the citizen rate limit, and where the city
    issues no api_keys it may file only the categories offered to citizens."""
    tenant = tenant_of(request)
    svc = services(request)
    principal = principal_of(request)
    anonymous = principal is not None and principal.method is Method.ANONYMOUS
    lang = citizens.lang_of(request)
    files: list[bytes] = []
    try:
        if anonymous:
            citizens.throttle(request)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == citizens.MULTIPART:
            form = await citizens.read_form(request, files=True)
            body = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
            files = await citizens.photos_of(form, "media")
            fields = _form(request.url.query, "query") + body
        else:
            raw, _ = await read_bytes(request, allowed=(FORM,))
            fields = _form(request.url.query, "query") + _form(raw, "body")
        svc.broker.require_tenant(tenant)
        new = open311.parse_request(fields, svc.cases.config, svc.settings.open311_keys)
        chosen = svc.cases.config.categories.get(new.report.category)
        if anonymous and not svc.settings.open311_keys and not (chosen and chosen.citizen):
            raise NotAllowed(
                f"{new.report.category} is not a category citizens report; without an "
                "issued api_key (cityos serve --open311-keys) only those of "
                "/citizen/v1/categories may be posted."
            )
        new.report.flagged = svc.desk.rude(new.report.description)
        new.report.photos = await offload(svc.desk.photos, tenant, files)
    except CitizenError as error:
        raise _Refused(error.status, error.message(lang), error.retry_after) from None
    record = await anyio.to_thread.run_sync(svc.cases.report, tenant, new.report, new.actor)
    return [open311.post_response(record, new.account_id)]


@endpoint("service_requests", *open311.QUERY_FIELDS)
async def list_requests(request: Request) -> Body:
    cases = services(request).cases
    query = open311.parse_query(_joined(request), cases.config, cases.clock())
    tenant, sees = tenant_of(request), visibility_of(request)
    return await offload(open311.find_requests, cases, tenant, query, sees, media_of(request))


@endpoint("service_request_updates", *open311.UPDATE_FIELDS)
async def list_updates(request: Request) -> Body:
    """mySociety's servicerequestupdates: the public state changes in a time window."""
    cases = services(request).cases
    tenant, sees = tenant_of(request), visibility_of(request)
    params = _joined(request)
    return await offload(open311.find_updates, cases, tenant, params, sees, media_of(request))


@endpoint("service_requests")
async def get_request(request: Request) -> Body:
    case_id = request.path_params["id"]
    cases, tenant, sees = services(request).cases, tenant_of(request), visibility_of(request)
    return await offload(open311.get_request, cases, tenant, case_id, sees, media_of(request))


@endpoint("service_requests")
async def token_request(request: Request) -> Body:
    token = request.path_params["token"]
    return open311.by_token(services(request).cases, tenant_of(request), token)


served = [
    Route(PREFIX + "/discovery.{format}", discovery, methods=["GET"]),
    Route(PREFIX + "/services.{format}", service_list, methods=["GET"]),
    Route(PREFIX + "/services/{service_code}.{format}", service_definition, methods=["GET"]),
    Route(PREFIX + "/requests.{format}", post_request, methods=["POST"]),
    Route(PREFIX + "/requests.{format}", list_requests, methods=["GET"]),
    Route(PREFIX + "/requests/{id}.{format}", get_request, methods=["GET"]),
    Route(PREFIX + "/tokens/{token}.{format}", token_request, methods=["GET"]),
    Route(PREFIX + "/servicerequestupdates.{format}", list_updates, methods=["GET"]),
]


async def elsewhere(request: Request) -> Response:
    """Anything else under the prefix, answered the Open311 way: 405 where the path is
    served by another method, 404 otherwise."""
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    allowed = sorted(
        method
        for route in served
        if route.matches(request.scope)[0] is Match.PARTIAL
        for method in route.methods or ()
    )
    if allowed:
        refused = MethodNotAllowed(f"{request.method} is not supported on {request.url.path}.")
        response = error_response(refused, fmt)
        response.headers["Allow"] = ", ".join(allowed)
        return response
    missing = ResourceNotFound(
        f"There is no Open311 resource at {request.url.path}; see {PREFIX}/discovery.json."
    )
    return error_response(missing, fmt)


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
routes = [*served, Route(PREFIX + "/{path:path}", elsewhere, methods=ANY_METHOD)]
