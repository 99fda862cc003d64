"""A real HTTP notification receiver on loopback: records what it is sent, can fail on cue."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cityos.events.endpoints import EndpointPolicy

LOOPBACK = EndpointPolicy.from_lists(allow=["127.0.0.0/8", "::1/128"])
"""The endpoint policy of a test whose receiver listens on loopback: allowed explicitly, as a
deployment would (loopback is refused by default)."""
NOTIFY_LOOPBACK = ("--notify-allow", "127.0.0.0/8", "--notify-allow", "::1/128")
"""The same for a `cityos serve` process."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class Receiver:
    port: int
    scheme: str = "http"
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    """Answer this many of the next requests with 500."""
    refused: int = 0
    hang_next: int = 0
    """Hold this many of the next requests without answering, until `release` is set."""
    hung: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/notify"

    def wait_for(self, count: int, seconds: float = 10.0) -> list[Received]:
        """The first `count` notifications, waiting for them; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            time.sleep(0.01)
        raise AssertionError(f"expected {count} notifications, got {len(self.received)}")

    def quiet_for(self, seconds: float) -> list[Received]:
        """Everything received, after `seconds` without waiting for more."""
        time.sleep(seconds)
        with self.lock:
            return list(self.received)

    def data(self, index: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.received[index].body["data"]
        return items


@contextmanager
def receiving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver listening on a free loopback port for the duration of the block; over
    HTTPS with the server context `tls`."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = holder["receiver"]
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            with receiver.lock:
                hanging = receiver.hang_next > 0
                if hanging:
                    receiver.hang_next -= 1
                    receiver.hung += 1
            if hanging:
                receiver.release.wait(30)
                return
            with receiver.lock:
                failing = receiver.fail_next > 0
                if failing:
                    receiver.fail_next -= 1
                    receiver.refused += 1
                else:
                    receiver.received.append(
                        Received(self.path, dict(self.headers), json.loads(raw), time.time())
                    )
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    holder["receiver"] = Receiver(server.server_address[1], "https" if tls else "http")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["receiver"]
    finally:
        server.shutdown()
        server.server_close()
