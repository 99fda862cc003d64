"""Fixtures of the event tests: a NATS JetStream bus of the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from uuid import uuid4

import pytest

from cityos.events.nats_bus import NatsBus
from tests.services import require_service

NATS = ("127.0.0.1", 4222)


@pytest.fixture
def nats_url() -> Iterator[str]:
    """An events URL naming a stream and subject prefix no other test (or run) uses; the
    stream is deleted afterwards. Skips when NATS does not answer (fails under CI=true)."""
    host, port = require_service("NATS", *NATS)
    tag = uuid4().hex[:12]
    base = f"nats://{host}:{port}"
    yield f"{base}?stream=T_{tag}&prefix=t{tag}"
    asyncio.run(NatsBus(base, stream=f"T_{tag}").delete())
