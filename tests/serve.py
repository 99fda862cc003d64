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


def wait_until_up(
    process: subprocess.Popen[bytes], port: int, path: str, seconds: float = 20
) -> None:
    """Poll `path` until the server answers; fail if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except (URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{process.args} did not start") from None
            time.sleep(0.1)


def start_server(data_dir: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    """Start `cityos serve` on DATA_DIR and PORT and wait until it answers; `--auth off`
    unless ARGS say `--auth` themselves."""
    if "--auth" not in args:
        args = ("--auth", "off", *args)
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
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_until_up(process, port, "/version")
    except BaseException:
        process.kill()
        raise
    return process


@contextmanager
def served(data_dir: Path, *args: str) -> Iterator[int]:
    """A `cityos serve` subprocess on DATA_DIR; yields its port, stops it afterwards."""
    port = free_port()
    process = start_server(data_dir, port, *args)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
