"""/citizen/v1, /media and /unsubscribe: the citizens' front door on the wire (docs/citizens.md).

Keyless (the public endpoint class), in the request's tenant. Every refusal is
`{"error": code, "message": text}` with the message in the request's language (`?lang=`,
else Accept-Language). Citizen POSTs are rate-limited per client address, their bodies
bounded before they are parsed, and all the work (Pillow, the store) runs on a worker thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.api.ratelimit import TokenBuckets
from cityos.citizens.desk import MAX_PHOTOS, CitizenReport
from cityos.citizens.messages import CitizenError, language_of, say
from cityos.citizens.photos import MEDIA_TYPES
from cityos.context.errors import NgsiError

from .http import offload, services, tenant_of

PREFIX = "/citizen/v1"
MULTIPART = "multipart/form-data"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FIELDS = 60
MAX_TEXT_FIELD = 64 * 1024
_ANSWER = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_MEDIA_NAME = re.compile(r"^([A-Za-z0-9_-]{16,64})\.(jpg|png|webp)$")
log = logging.getLogger("cityos.citizens")

Handler = Callable[[Request, str], Awaitable[Response]]
CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "bad_request",
    409: "conflict",
    411: "bad_request",
    413: "too_large",
    415: "unsupported_media",
    422: "bad_request",
    429: "too_many_requests",
}


def lang_of(request: Request) -> str:
    return language_of(request.query_params.get("lang"), request.headers.get("accept-language"))


def answer(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body),
        status,
        {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        media_type="application/json",
    )


def refusal(error: CitizenError, lang: str) -> Response:
    response = answer({"error": error.code, "message": error.message(lang)}, error.status)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def citizen(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route answering refusals the front door's way, in the citizen's language."""

    async def run(request: Request) -> Response:
        lang = lang_of(request)
        try:
            return await handler(request, lang)
        except CitizenError as error:
            return refusal(error, lang)
        except NgsiError as error:
            status = error.status if error.status in CODES else 400
            if error.status >= 500:
                raise
            return answer({"error": CODES[status], "message": error.detail}, status)

    return run


def throttle(request: Request) -> None:
    """One citizen POST from this address, or 429 past `--citizen-rate-limit`."""
    buckets: TokenBuckets | None = request.app.state.citizen_buckets
    if buckets is None:
        return
    client = request.scope.get("client")
    wait = buckets.take(client[0] if client else "unknown")
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        error = CitizenError(429, "too_many_requests", "too_many_requests", seconds=seconds)
        error.retry_after = seconds
        raise error


async def read_form(request: Request, *, files: bool) -> FormData:
    """The form (multipart, or form-encoded without photos), its body bounded before
    parsing: at most MAX_PHOTOS photos of the photo limit and 1 MB of text (413 past it)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (MULTIPART, FORM):
        raise CitizenError(415, "unsupported_media", "bad_form")
    settings = services(request).settings
    limit = (settings.max_photo_bytes * MAX_PHOTOS if files else 0) + 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise CitizenError(413, "too_large", "body_size")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise CitizenError(413, "too_large", "body_size")
        chunks.append(chunk)
    request._body = b"".join(chunks)  # the form parser reads the bounded body
    try:
        return await request.form(
            max_files=MAX_PHOTOS + 1 if files else 0,
            max_fields=MAX_FIELDS,
            max_part_size=MAX_TEXT_FIELD,
        )
    except Exception:
        raise CitizenError(400, "bad_request", "bad_form") from None


async def photos_of(form: FormData, name: str) -> list[bytes]:
    found = []
    for item in form.getlist(name):
        if isinstance(item, UploadFile):
            data = await item.read()
            if data:
                found.append(data)
        elif item:
            raise CitizenError(415, "unsupported_media", "photo_type")
    if len(found) > MAX_PHOTOS:
        raise CitizenError(400, "bad_request", "too_many_photos", most=MAX_PHOTOS)
    return found


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def report_of(form: FormData, photos: list[bytes]) -> CitizenReport:
    answers: dict[str, str | list[str]] = {}
    for key, value in form.multi_items():
        match = _ANSWER.match(key)
        if match is None or not isinstance(value, str):
            continue
        if match.group(2):
            previous = answers.get(match.group(1))
            answers[match.group(1)] = [*(previous if isinstance(previous, list) else []), value]
        else:
            answers[match.group(1)] = value
    return CitizenReport(
        category=_text(form, "category"),
        lat=_text(form, "lat"),
        long=_text(form, "long"),
        address=_text(form, "address"),
        description=_text(form, "description"),
        answers=answers,
        name=_text(form, "name"),
        email=_text(form, "email"),
        website=_text(form, "website"),
        photos=photos,
    )


# -- routes --------------------------------------------------------------------------------


@citizen
async def categories(request: Request, lang: str) -> Response:
    return answer(services(request).desk.categories(lang))


@citizen
async def post_report(request: Request, lang: str) -> Response:
    tenant = tenant_of(request)
    throttle(request)
    form = await read_form(request, files=True)
    report = report_of(form, await photos_of(form, "photo"))
    svc = services(request)
    svc.broker.require_tenant(tenant)
    body = await offload(svc.desk.file, tenant, report, lang)
    return answer(body, 201)


@citizen
async def reports_map(request: Request, lang: str) -> Response:
    params = request.query_params
    desk = services(request).desk
    body = await offload(
        desk.reports_map, tenant_of(request), params.get("bbox", ""), params.get("status", ""), lang
    )
    return answer(body)


@citizen
async def nearby(request: Request, lang: str) -> Response:
    p = request.query_params
    desk = services(request).desk
    found = await offload(
        desk.nearby,
        tenant_of(request),
        p.get("category", ""),
        p.get("lat", ""),
        p.get("long", ""),
        p.get("radius", ""),
    )
    return answer(found)


@citizen
async def story(request: Request, lang: str) -> Response:
    desk = services(request).desk
    reference = request.path_params["reference"]
    return answer(await offload(desk.story, tenant_of(request), reference, lang))


@citizen
async def support(request: Request, lang: str) -> Response:
    tenant = tenant_of(request)
    throttle(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: dict[str, Any] = {}
    if media_type == JSON:
        raw = await request.body()
        if len(raw) > MAX_TEXT_FIELD:
            raise CitizenError(413, "too_large", "body_size")
        try:
            parsed = orjson.loads(raw or b"{}")
        except orjson.JSONDecodeError:
            raise CitizenError(400, "bad_request", "bad_form") from None
        fields = parsed if isinstance(parsed, dict) else {}
    elif request.headers.get("content-length", "0") not in ("", "0"):
        form = await read_form(request, files=False)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    email, name = fields.get("email") or "", fields.get("name") or ""
    if not isinstance(email, str) or not isinstance(name, str):
        raise CitizenError(400, "bad_request", "bad_form")
    desk = services(request).desk
    reference = request.path_params["reference"]
    return answer(await offload(desk.support, tenant, reference, email, name, lang))


@citizen
async def add_photos(request: Request, lang: str) -> Response:
    tenant = tenant_of(request)
    throttle(request)
    form = await read_form(request, files=True)
    photos = await photos_of(form, "photo")
    desk = services(request).desk
    token = request.headers.get("x-citizen-token", "")
    reference = request.path_params["reference"]
    return answer(await offload(desk.add_photos, tenant, reference, token, photos), 201)


@citizen
async def media(request: Request, lang: str) -> Response:
    """A stored photo, only ever as the image type its extension names."""
    match = _MEDIA_NAME.match(request.path_params["name"])
    if match is None:
        raise CitizenError(404, "not_found", "no_media")
    photo_id, ext = match.groups()
    data = await offload(services(request).desk.photo_bytes, tenant_of(request), photo_id, ext)
    if data is None:
        raise CitizenError(404, "not_found", "no_media")
    return Response(
        data,
        headers={
            "Content-Disposition": f'inline; filename="{photo_id}.{ext}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
        media_type=MEDIA_TYPES[ext],
    )


@citizen
async def unsubscribe(request: Request, lang: str) -> Response:
    desk = services(request).desk
    reference, chosen = await offload(desk.unsubscribe, request.path_params["token"])
    text = say(
        "unsubscribed", lang if "lang" in request.query_params else chosen, reference=reference
    )
    return Response(
        text + "\n",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
        media_type="text/plain; charset=utf-8",
    )


routes = [
    Route(PREFIX + "/categories", categories, methods=["GET"]),
    Route(PREFIX + "/reports", post_report, methods=["POST"]),
    Route(PREFIX + "/reports", reports_map, methods=["GET"]),
    Route(PREFIX + "/nearby", nearby, methods=["GET"]),
    Route(PREFIX + "/reports/{reference}", story, methods=["GET"]),
    Route(PREFIX + "/reports/{reference}/support", support, methods=["POST"]),
    Route(PREFIX + "/reports/{reference}/photos", add_photos, methods=["POST"]),
    Route("/media/{name}", media, methods=["GET"]),
    Route("/unsubscribe/{token}", unsubscribe, methods=["GET"]),
]
