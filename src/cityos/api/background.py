"""Work that runs beside the API for the app's lifetime (the MQTT gateway, history pruning)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger("cityos.background")

STOP_GRACE_S = 10.0
"""How long a stopping service may take before it is left behind: a stop never hangs."""
RECANCEL_S = 0.5
"""How often a task that is still running is cancelled again."""


@asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run `work` as a task while the block runs; stop it on the way out (see `stop`)."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        await stop(task, STOP_GRACE_S)


async def stop(task: asyncio.Task[None], grace_s: float) -> None:
    """Cancel `task` and wait for it, for `grace_s` at most.

    One cancellation is not enough: on Python 3.11, `asyncio.wait_for` returns its inner
    result when that result and the cancellation arrive in the same turn of the loop, and the
    cancellation is lost (the simulator, waiting for an MQTT acknowledgement, then ran on and
    `cityos demo` ignored Ctrl-C and SIGTERM). So the task is cancelled again until it ends,
    and after `grace_s` it is left behind with an error in the log rather than holding the
    server's shutdown for ever. A service that fails while stopping is logged, not raised, so
    the services after it still stop.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.error("%s did not stop within %.0f s: left behind", task.get_name(), grace_s)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_S, remaining))
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed while stopping", task.get_name(), exc_info=task.exception())
