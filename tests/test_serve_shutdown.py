"""A stopping `cityos serve` does not wait for its live streams' clients to leave."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from cityos.cli import SHUTDOWN_GRACE_S
from tests.serve import free_port, start_server

STREAM = "urn:cityos:stream"


def test_sigterm_ends_open_live_streams(tmp_path: Path) -> None:
    port = free_port()
    process = start_server(tmp_path / "data", port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            subscription = {
                "type": "Subscription",
                "entities": [{"type": "FloodSensor"}],
                "notification": {"endpoint": {"uri": STREAM}},
            }
            created = http.post("/ngsi-ld/v1/subscriptions", json=subscription)
            assert created.status_code == 201, created.text
            opened = threading.Event()

            def listen() -> None:
                """A client that would stay for a minute."""
                try:
                    with http.stream("GET", created.headers["Location"] + "/stream") as live:
                        opened.set()
                        for _ in live.iter_lines():
                            pass
                except httpx.HTTPError:
                    pass

            threading.Thread(target=listen, daemon=True).start()
            assert opened.wait(10)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=SHUTDOWN_GRACE_S + 15)  # the client would stay 60 s
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
