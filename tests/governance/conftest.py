"""A case service on a real store (each backend), the packaged Chongqing configuration and
a clock the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cityos.context.broker import Broker
from cityos.governance.config import GovernanceConfig, load_config
from cityos.governance.model import Actor
from cityos.governance.service import CaseService
from tests.stores import StoreFactory

YUZHONG = (106.577, 29.557)
"""Jiefangbei, in Yuzhong district."""
MONDAY_9AM_CHONGQING = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

OPERATOR = Actor("li.operator", frozenset({"operator"}))
SUPERVISOR = Actor("zhang.supervisor", frozenset({"supervisor"}))
INSPECTOR = Actor("chen.inspector", frozenset({"inspector"}))
CITIZEN = Actor("wang@example.cn", frozenset({"citizen"}))
SYSTEM_ACTOR = Actor("cityos", frozenset({"system"}))


def crew(department: str) -> Actor:
    return Actor(f"crew-{department}", frozenset({f"department:{department}"}))


class ManualClock:
    """Time stands still until the test moves it."""

    def __init__(self, start: datetime = MONDAY_9AM_CHONGQING) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def config() -> GovernanceConfig:
    return load_config()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(store_factory: StoreFactory) -> Any:
    return store_factory()


@pytest.fixture
def service(store: Any, config: GovernanceConfig, clock: ManualClock) -> CaseService:
    return CaseService(Broker(store), config, clock)
