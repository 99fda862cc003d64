"""The /citizen/v1 contract (docs/citizens.md) answered from memory, next to the real page
routes and dashboard files: the citizens' pages tested on their own, fast, with any data a
test needs (a hostile description, a photo URL from elsewhere), apart from the server's
implementation, which tests/web/test_citizen.py drives end to end.

`python -m tests.web.citizen_stub PORT` serves it for a look in a browser.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cityos.api import citizen_pages, web
from cityos.api.middleware import StripTrailingSlash
from tests.serve import free_port

CATEGORIES: list[dict[str, Any]] = [
    {
        "code": "pothole",
        "name": {"en": "Pothole", "zh": "路面坑洼", "pl": "Dziura w jezdni"},
        "description": {
            "en": "A hole in the road.",
            "zh": "路面上的坑。",
            "pl": "Dziura w drodze.",
        },
        "group": {"en": "Streets", "zh": "道路", "pl": "Ulice"},
        "deadline_text": {
            "en": "We answer within 2 days.",
            "zh": "我们将在 2 天内答复。",
            "pl": "Odpowiemy w ciągu 2 dni.",
        },
        "attributes": [
            {
                "code": "size",
                "datatype": "singlevaluelist",
                "required": True,
                "description": {"en": "How big is it?", "zh": "有多大", "pl": "Jak duża?"},
                "values": [
                    {
                        "key": "small",
                        "name": {
                            "en": "Smaller than a plate",
                            "zh": "比盘子小",
                            "pl": "Mniejsza niż talerz",
                        },
                    },
                    {
                        "key": "large",
                        "name": {
                            "en": "Larger than a plate",
                            "zh": "比盘子大",
                            "pl": "Większa niż talerz",
                        },
                    },
                ],
            },
            {
                "code": "lanes",
                "datatype": "multivaluelist",
                "required": False,
                "description": {
                    "en": "Where on the road?",
                    "zh": "在道路哪个位置",
                    "pl": "W którym miejscu drogi?",
                },
                "values": [
                    {
                        "key": "lane",
                        "name": {"en": "Traffic lane", "zh": "车道", "pl": "Pas ruchu"},
                    },
                    {
                        "key": "kerb",
                        "name": {"en": "By the kerb", "zh": "路边", "pl": "Przy krawężniku"},
                    },
                ],
            },
        ],
    },
    {
        "code": "streetlight",
        "name": {"en": "Street light out", "zh": "路灯不亮", "pl": "Niedziałająca latarnia"},
        "description": {
            "en": "A light that is off.",
            "zh": "不亮的路灯。",
            "pl": "Latarnia nie świeci.",
        },
        "group": {"en": "Lighting", "zh": "照明", "pl": "Oświetlenie"},
        "deadline_text": {
            "en": "We answer within 5 days.",
            "zh": "我们将在 5 天内答复。",
            "pl": "Odpowiemy w ciągu 5 dni.",
        },
        "attributes": [
            {
                "code": "pole",
                "datatype": "string",
                "required": False,
                "values": [],
                "description": {
                    "en": "Number on the pole",
                    "zh": "灯杆编号",
                    "pl": "Numer na słupie",
                },
            },
        ],
    },
]


def jpeg(
    color: tuple[int, int, int] = (120, 110, 100), size: tuple[int, int] = (320, 240)
) -> bytes:
    """A small JPEG of one colour with a darker patch (a "pothole")."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).ellipse((90, 70, 230, 170), fill=(50, 45, 40))
    out = BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _local(value: Any, lang: str) -> Any:
    if isinstance(value, dict) and "en" in value:
        return value.get(lang, value["en"])
    if isinstance(value, dict):
        return {key: _local(item, lang) for key, item in value.items()}
    if isinstance(value, list):
        return [_local(item, lang) for item in value]
    return value


@dataclass
class Stub:
    """The reports the stub holds; tests add their own (`add`) and read what was sent."""

    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, bytes] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    supported: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(124))
    refuse: dict[str, str] | None = None
    """Refuse every new report with 429 and this message per language (a rate limit)."""

    def add(self, **report: Any) -> dict[str, Any]:
        story = {
            "reference": f"CQ-2026-{next(self.numbers):06d}",
            "category": "pothole",
            "category_name": "Pothole",
            "state": "accepted",
            "department": "Road maintenance",
            "created": "2026-12-07T09:00:00Z",
            "deadline": "2026-12-09T16:00:00Z",
            "description": "A deep hole by the bus stop.",
            "photos": [],
            "supporters": 1,
            "location": {"lat": 29.5631, "long": 106.5517},
            "timeline": [{"at": "2026-12-07T09:00:00Z", "state": "reported", "note": None}],
            **report,
        }
        self.reports[story["reference"]] = story
        return story

    def photo(self, data: bytes | None = None) -> str:
        data = data or jpeg()
        photo_id = f"p{len(self.media) + 1:04d}"
        self.media[photo_id] = data
        return f"/media/{photo_id}.jpg"


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "en")
    return lang if lang in ("en", "zh", "pl") else "en"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def create_stub_app(stub: Stub) -> Starlette:
    async def categories(request: Request) -> Response:
        return JSONResponse(_local(CATEGORIES, _lang(request)))

    async def nearby(request: Request) -> Response:
        category = request.query_params.get("category")
        found = [
            {
                "reference": story["reference"],
                "state": story["state"],
                "description": story["description"],
                "photo": story["photos"][0] if story["photos"] else None,
                "distance_m": 42.0,
                "supporters": story["supporters"],
            }
            for story in stub.reports.values()
            if story["category"] == category and story["state"] not in ("resolved", "closed")
        ]
        return JSONResponse(found)

    async def create(request: Request) -> Response:
        form = await request.form()
        if form.get("website"):
            return _error(400, "bad_request", "The report could not be accepted.")
        if stub.refuse:
            return _error(429, "too_many_requests", stub.refuse[_lang(request)])
        photos = [
            stub.photo(await item.read())
            for item in form.getlist("photo")
            if isinstance(item, UploadFile)
        ]
        sent = {
            key: value for key, value in form.multi_items() if not isinstance(value, UploadFile)
        }
        stub.sent.append(sent)
        story = stub.add(
            category=str(form["category"]),
            state="reported",
            description=str(form.get("description", "")),
            photos=photos,
            timeline=[{"at": "2026-12-08T02:40:00Z", "state": "reported", "note": None}],
        )
        promise = {
            "en": "We will answer by Thursday 10 December.",
            "zh": "我们将在 12 月 10 日前答复。",
            "pl": "Odpowiemy do czwartku 10 grudnia.",
        }[_lang(request)]
        return JSONResponse(
            {
                "reference": story["reference"],
                "id": "urn:ngsi-ld:Case:stub",
                "token": "t0ken",
                "state": "reported",
                "deadline": story["deadline"],
                "promise": promise,
                "photos": photos,
            },
            status_code=201,
        )

    async def support(request: Request) -> Response:
        story = stub.reports.get(request.path_params["reference"])
        if story is None:
            return _error(404, "not_found", "No such report.")
        stub.supported.append((story["reference"], dict(await request.form())))
        story["supporters"] += 1
        return JSONResponse({"reference": story["reference"], "supporters": story["supporters"]})

    async def one(request: Request) -> Response:
        story = stub.reports.get(request.path_params["reference"])
        if story is None:
            return _error(404, "not_found", "No such report.")
        return JSONResponse(story)

    async def listing(request: Request) -> Response:
        recent = request.query_params.get("status") == "recent"
        return JSONResponse(
            [
                {
                    "reference": s["reference"],
                    "category": s["category"],
                    "category_name": s["category_name"],
                    "state": s["state"],
                    "lat": s["location"]["lat"],
                    "long": s["location"]["long"],
                    "created": s["created"],
                    "supporters": s["supporters"],
                    "photo": (s["photos"] or [None])[0],
                }
                for s in stub.reports.values()
                if (s["state"] in ("resolved", "verified", "closed")) == recent
            ]
        )

    async def media(request: Request) -> Response:
        data = stub.media.get(request.path_params["photo_id"])
        return Response(data, media_type="image/jpeg") if data else Response(status_code=404)

    api = "/citizen/v1"
    routes = [
        Route(api + "/categories", categories),
        Route(api + "/nearby", nearby),
        Route(api + "/reports", create, methods=["POST"]),
        Route(api + "/reports", listing),
        Route(api + "/reports/{reference}/support", support, methods=["POST"]),
        Route(api + "/reports/{reference}", one),
        Route("/media/{photo_id}.jpg", media),
        *citizen_pages.routes,
        *web.routes,
    ]
    return Starlette(routes=routes, middleware=[Middleware(StripTrailingSlash)])


@contextmanager
def serve_stub(stub: Stub, port: int | None = None) -> Iterator[str]:
    """The stub on a loopback port (a thread of this process); its base URL."""
    port = port or free_port()
    config = uvicorn.Config(create_stub_app(stub), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the citizen stub did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    demo = Stub()
    demo.add(photos=[demo.photo()])
    demo.add(
        state="resolved",
        category="streetlight",
        category_name="Street light out",
        location={"lat": 29.57, "long": 106.56},
    )
    with serve_stub(demo, int(sys.argv[1])) as base:
        print(base, flush=True)
        threading.Event().wait()
