"""A real `cityos serve --auth required` on a loopback port, with a key of every role."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.serve import free_port, wait_until_up

TENANT_A = "redteam-a"
TENANT_B = "redteam-b"
DEVICE_ENTITY = "urn:ngsi-ld:AirQualityObserved:redteam-device"

# name -> (roles, tenants, entity): a key of every role, and operators bound to one tenant.
KEYS: dict[str, tuple[list[str], list[str], str | None]] = {
    "admin": (["admin"], [], None),
    "operator": (["operator"], [], None),
    "operator_a": (["operator"], [TENANT_A], None),
    "operator_b": (["operator"], [TENANT_B], None),
    "supervisor": (["supervisor"], [], None),
    "dept_roads": (["department:central-roads"], [], None),
    "dept_water": (["department:water"], [], None),
    "inspector": (["inspector"], [], None),
    "device": (["device"], [], DEVICE_ENTITY),
    "citizen": (["citizen"], [], None),
    "public_read": (["public-read"], [], None),
}


def _cityos(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cityos.cli", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


@dataclass
class Target:
    """The server under attack: its address, a key per role, and one way to send."""

    port: int
    data: Path
    keys: dict[str, str]
    process: subprocess.Popen[bytes]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, timeout=15)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        as_: str | None = None,
        tenant: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request as the key named `as_` (None: anonymous), in `tenant` (a header)."""
        sent = dict(headers or {})
        if as_ is not None:
            sent.setdefault("Authorization", f"Bearer {self.keys[as_]}")
        if tenant is not None:
            sent.setdefault("NGSILD-Tenant", tenant)
        return self.client.request(method, path, headers=sent, **kwargs)

    def alive(self) -> bool:
        """Whether the server still answers (a probe may try to take it down)."""
        try:
            return self.client.get("/version", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def serve(*extra: str) -> Iterator[Target]:
    """A fresh city on a temporary data directory, keys made with `cityos keys create`."""
    with tempfile.TemporaryDirectory(prefix="cityos-redteam-") as tmp:
        data = Path(tmp)
        keys: dict[str, str] = {}
        for name, (roles, tenants, entity) in KEYS.items():
            args = ["keys", "create", "--name", f"redteam {name}", "--data", str(data)]
            args += [a for role in roles for a in ("--role", role)]
            args += [a for tenant in tenants for a in ("--tenant", tenant)]
            if entity:
                args += ["--entity", entity]
            keys[name] = _cityos(*args).strip().splitlines()[-1]
        port = free_port()
        command = [sys.executable, "-m", "cityos.cli", "serve", "--data", str(data)]
        command += ["--port", str(port), "--auth", "required", *extra]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_until_up(process, port, "/version", seconds=30)
            target = Target(port, data, keys, process)
            try:
                yield target
            finally:
                target.client.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class Verdict:
    """What one probe found: `leaked` is True when the server did what it must not."""

    leaked: bool
    detail: str


def refused(ok: bool, detail: str) -> Verdict:
    """A verdict from the condition that the server behaved (`ok`)."""
    return Verdict(leaked=not ok, detail=detail)


@dataclass(frozen=True)
class Probe:
    """One attack: a name for the table's detail lines and the function that sends it."""

    name: str
    send: Callable[[Target], Verdict]
