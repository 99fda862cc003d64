"""What a component says about its own health, for the API's /health to compose.

Each component (the store, the events bus, the MQTT gateway, the notifier, the rule engine)
answers for itself in its own module with a `Check`; `api/health.py` gathers them, bounds
the time each may take and renders the IETF health-check draft's JSON. Nothing here knows
HTTP or any component: a neutral type both sides import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Status = Literal["pass", "warn", "fail"]
"""pass: healthy; warn: working, degraded (ready all the same); fail: not ready."""

ORDER: dict[Status, int] = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True, slots=True)
class Check:
    """One component's state, in the words of the IETF health-check draft."""

    status: Status
    output: str = ""
    """Why it is not `pass` (empty when it is): for the operator, never a secret."""
    component_id: str | None = None
    """Which instance of the component: a backend name, a broker's host:port."""
    observed_value: float | None = None
    observed_unit: str | None = None


def worst(statuses: list[Status]) -> Status:
    """The status of a whole made of parts: that of its worst part (`pass` when none)."""
    return max(statuses, key=ORDER.__getitem__, default="pass")


def where(url: str) -> str:
    """`scheme://host:port` of a service URL, without credentials, path or options."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
