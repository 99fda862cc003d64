"""Run a real `cityos serve` process on a free loopback port for a test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(data_dir: Path, *args: str) -> Iterator[int]:
    """A `cityos serve` subprocess on DATA_DIR; yields its port, stops it afterwards."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "cityos.cli",
        "serve",
        "--data",
        str(data_dir),
        "--port",
        str(port),
        *args,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/version", timeout=1):
                    break
            except (URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("cityos serve did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
