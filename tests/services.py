"""External services the tests need (Mosquitto now; NATS, PostgreSQL later).

A test that needs a service skips with one line giving the reason when the service is not
reachable, except under CI=true, where a missing service fails the test: CI starts every
service (.ci/run), so a skip there would hide a broken set-up. Use the fixture factory::

    from tests.services import service_fixture
    mosquitto = service_fixture("Mosquitto", "127.0.0.1", 1883)

    def test_something(mosquitto: tuple[str, int]) -> None: ...

or call `require_service` / `require_binary` at the top of a test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

MOSQUITTO = ("127.0.0.1", 1883)
MOSQUITTO_BINARY = "/usr/sbin/mosquitto"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: services must be up)", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> tuple[str, int]:
    """(host, port) of a service that answers TCP there; else skip (fail under CI)."""
    if not port_open(host, port):
        unavailable(f"{name} is not reachable at {host}:{port}")
    return host, port


def require_binary(name: str, path: str) -> str:
    found = shutil.which(path) if not Path(path).is_file() else path
    if found is None:
        unavailable(f"{name} is not installed ({path} is missing)")
    assert found is not None
    return found


def service_fixture(name: str, host: str, port: int) -> Callable[..., Any]:
    """A module-scoped fixture giving (host, port) of a running service, else skipping."""

    @pytest.fixture(scope="module")
    def fixture() -> tuple[str, int]:
        return require_service(name, host, port)

    return fixture


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port, timeout=0.2):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing answers on {host}:{port} after {timeout} s")
        time.sleep(0.05)


class PrivateMosquitto:
    """A Mosquitto of the test's own on a free loopback port, which it may stop and restart."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.binary = require_binary("Mosquitto", MOSQUITTO_BINARY)
        self.port = port or free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.log = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port("127.0.0.1", self.port)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@contextmanager
def private_mosquitto(directory: Path) -> Iterator[PrivateMosquitto]:
    broker = PrivateMosquitto(directory)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
