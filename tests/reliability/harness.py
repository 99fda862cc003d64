"""The crash harness: a real `cityos serve` on a store, load from threads, `kill -9` at a
seeded moment, a new process on the same store, then checks.

Used by the crash tests (tests/reliability/test_crash.py, small sizes) and by
`python -m bench.crash_bench` (larger sizes, a table): one implementation of each scenario,
which returns its figures and the problems it found (empty when nothing was lost).
No pytest here, so that the benchmark can import it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.serve import free_port, start_server

ENTITIES = "/ngsi-ld/v1/entities"
UPSERT = "/ngsi-ld/v1/entityOperations/upsert"
TEMPORAL = "/ngsi-ld/v1/temporal/entities"
SUBS = "/ngsi-ld/v1/subscriptions"
CASES = "/governance/cases"
OPERATOR = {"CityOS-Actor": "desk", "CityOS-Roles": "operator"}
WAIT_S = 30.0
"""Longest wait for anything owed after a restart (notifications, rule firings)."""


@dataclass(frozen=True)
class Place:
    """Where a city's data lives: a data directory, and for PostgreSQL a store URL (each
    process then keeps only local files in the directory)."""

    backend: str
    data: Path
    store_url: str | None = None

    def args(self) -> tuple[str, ...]:
        return ("--store", self.store_url) if self.store_url else ()


class City:
    """`cityos serve` on a place: started, killed with SIGKILL, started again (a new
    process, the same store). Always stopped on leaving the `with` block."""

    def __init__(self, place: Place, *extra: str) -> None:
        self.place = place
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0

    def start(self) -> City:
        self.port = free_port()
        self.process = start_server(self.place.data, self.port, *self.place.args(), *self.extra)
        self.starts += 1
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=20)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def __enter__(self) -> City:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kill_point(seed: int, low: int, high: int) -> int:
    """The seeded moment of the kill: after this many acknowledged operations."""
    return random.Random(seed).randint(low, high)


Step = Callable[[httpx.Client, int], bool]
"""One operation of a writer: the i-th; True when the server acknowledged it."""


@dataclass
class Load:
    """Writer threads on one server, each running its step up to `count` times; a writer
    stops at the first transport error (the server is gone): what it did not get an
    answer to is not owed. Counts every acknowledgement."""

    url: str
    acked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def add(self, step: Step, count: int, pause: float = 0.0) -> None:
        def run() -> None:
            with httpx.Client(base_url=self.url, timeout=20) as http:
                for number in range(count):
                    if self.stop.is_set():
                        return
                    try:
                        done = step(http, number)
                    except httpx.TransportError:
                        return
                    if done:
                        with self.lock:
                            self.acked += 1
                    if pause:
                        time.sleep(pause)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def wait_for(self, acked: int, seconds: float = 60.0) -> None:
        """Until `acked` operations are acknowledged (or every writer has finished)."""
        deadline = time.monotonic() + seconds
        while self.acked < acked and any(t.is_alive() for t in self.threads):
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.acked} of {acked} operations acknowledged")
            time.sleep(0.005)

    def join(self, seconds: float = 60.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(seconds)
            if thread.is_alive():
                raise AssertionError("a writer did not stop")


def wait_until(check: Callable[[], bool], seconds: float = WAIT_S) -> bool:
    """Poll `check` until it holds or `seconds` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@dataclass
class Outcome:
    """What a scenario measured, and what it found missing or wrong (empty: nothing)."""

    scenario: str
    backend: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def check(self, holds: bool, problem: str) -> None:
        if not holds:
            self.problems.append(problem)

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "backend": self.backend,
            **self.figures,
            "problems": self.problems,
        }


def record(outcomes: list[Outcome], path: Path) -> None:
    """Write the outcomes as bench-style JSON (one object per scenario and backend)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([o.as_json() for o in outcomes], indent=2) + "\n")


# -- reading back --------------------------------------------------------------------------


def values_of(http: httpx.Client, entity_type: str, attr: str) -> dict[str, Any]:
    """id -> value of `attr` of every entity of a type (paged, keyValues)."""
    found: dict[str, Any] = {}
    offset = 0
    while True:
        page = http.get(
            ENTITIES,
            params={"type": entity_type, "options": "keyValues", "limit": 1000, "offset": offset},
        )
        page.raise_for_status()
        items = page.json()
        found.update({item["id"]: item.get(attr) for item in items})
        if len(items) < 1000:
            return found
        offset += 1000


def history_of(http: httpx.Client, entity_id: str, attr: str) -> list[Any]:
    """Every value `attr` of the entity ever had, from the temporal API."""
    got = http.get(
        f"{TEMPORAL}/{entity_id}",
        params={"attrs": attr, "options": "temporalValues", "lastN": 100_000},
    )
    got.raise_for_status()
    values = got.json().get(attr, {}).get("values", [])
    return [pair[0] for pair in values]
