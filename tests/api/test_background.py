"""Background services stop however their work treats a cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from cityos.api import background


async def _swallows_one_cancellation(started: asyncio.Event) -> None:
    """What `asyncio.wait_for` on Python 3.11 can do to a task: lose one cancellation."""
    started.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(60)
    while True:
        await asyncio.sleep(0.01)


def test_a_lost_cancellation_does_not_hold_the_stop() -> None:
    async def scenario() -> bool:
        started = asyncio.Event()
        work = _swallows_one_cancellation(started)
        async with background.running(work, "swallower"):
            await started.wait()
        return True

    # Before the fix, the block's exit waited for ever for the one cancellation it sent.
    assert asyncio.run(asyncio.wait_for(scenario(), 5))


def test_a_task_that_will_not_stop_is_left_behind_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> bool:
        released = asyncio.Event()

        async def stubborn() -> None:  # ignores every cancellation until released
            while not released.is_set():
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    continue

        task = asyncio.create_task(stubborn(), name="stubborn")
        await asyncio.sleep(0)
        await background.stop(task, grace_s=0.3)
        left_behind = not task.done()
        released.set()
        await task
        return left_behind

    with caplog.at_level(logging.ERROR, "cityos.background"):
        assert asyncio.run(asyncio.wait_for(scenario(), 5))
    assert "stubborn did not stop within" in caplog.text


def test_a_service_failing_while_stopping_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("disconnect timed out") from None

    async def scenario() -> None:
        async with background.running(fails_on_cancel(), "gateway"):
            await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, "cityos.background"):
        asyncio.run(scenario())
    assert "gateway failed while stopping" in caplog.text
