"""A bare ASGI webhook receiver for the notification benchmark.

Every POSTed notification's entities carry `waterLevel` with its `modifiedAt` (sysAttrs): the
moment the broker committed the update. The receiver notes `receipt - modifiedAt` for each;
GET /stats returns them, GET /count only how many arrived and when the last one did.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
import uvicorn

latencies: list[float] = []
notifications = 0
last_at = 0.0


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    global notifications, last_at
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    now = time.time()
    if scope["method"] == "POST":
        notifications += 1
        last_at = now
        for item in orjson.loads(body)["data"]:
            accepted = datetime.fromisoformat(item["waterLevel"]["modifiedAt"]).timestamp()
            latencies.append(now - accepted)
        out = b""
    elif scope["path"] == "/count":
        out = orjson.dumps({"notifications": notifications, "last_at": last_at})
    else:
        out = orjson.dumps({"notifications": notifications, "latencies": latencies})
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": out})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
