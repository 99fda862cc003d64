"""A bare ASGI app answering every GET with one fixed entity-sized JSON document.

It is the ceiling for retrieve-by-id: same server (uvicorn), same settings as `cityos serve`,
no routing, no store, no rendering.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import uvicorn

BODY = orjson.dumps(
    {
        "id": "urn:ngsi-ld:AirQualityObserved:bench-1",
        "type": "AirQualityObserved",
        "name": {"type": "Property", "value": "station 1"},
        "temperature": {"type": "Property", "value": 21.5},
        "status": {"type": "Property", "value": "ok"},
        "refDistrict": {"type": "Relationship", "object": "urn:ngsi-ld:District:1"},
        "pm25": {
            "type": "Property",
            "value": 35.5,
            "unitCode": "GQ",
            "observedAt": "2026-11-28T08:00:00Z",
        },
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [106.5, 29.5]},
        },
    }
)
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, server_header=False
    )
