"""Shared fixtures: a broker behind its real HTTP API, on a fresh store per test.

Every API test goes through HTTP (Starlette's TestClient drives the ASGI app in process).
The store is chosen by `store_factory`, so the same tests run against every backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.store.base import Store
from tests.events.receiver import LOOPBACK
from tests.stores import BACKENDS, StoreFactory

# No per-example deadline: property tests assert behaviour, not speed, and a busy machine
# (CI runs everything on two cores) must not turn a slow example into a failure.
settings.register_profile("cityos", deadline=None)
settings.load_profile("cityos")


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores on the backend under test (a fresh database each test; see tests/stores.py)."""
    factory = StoreFactory(request.param, tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    opened: Store = store_factory()
    return opened


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    settings = Settings(notify_policy=LOOPBACK)  # the tests' receivers listen on loopback
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as test_client:
        yield test_client


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line naming why tests were skipped (a missing service, usually)."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons: dict[str, int] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        listed = "; ".join(f"{reason} ({count})" for reason, count in reasons.items())
        terminalreporter.write_line(f"skipped {len(skipped)} tests: {listed}")
