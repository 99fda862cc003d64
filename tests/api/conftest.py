"""Fixtures the API tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.events.receiver import Receiver, receiving


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP notification receiver on loopback, for the test's duration."""
    with receiving() as found:
        yield found
