"""The store's health: a cheap read that must reach the database, and how long it took."""

from __future__ import annotations

import time

from cityos.health import Check
from cityos.store.base import Store

PROBE_TENANT = "cityos-health-probe"
"""A tenant looked up, never created: the default tenant is answered without asking the
database, a named one is not."""


def ping(store: Store) -> Check:
    """Read through the Store protocol; raises what the database raises. Blocking: the
    caller bounds the time it may take (a hung database must not hang the probe)."""
    started = time.perf_counter()
    store.has_tenant(PROBE_TENANT)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return Check(
        "pass",
        component_id=type(store).__name__,
        observed_value=round(elapsed_ms, 3),
        observed_unit="ms",
    )
