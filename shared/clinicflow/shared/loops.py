"""The one way a service runs background work: a step repeated until cancelled, that never dies.

A step returns how much it did; while it finds work it runs again at once, when idle it waits ``idle_seconds``, and
when it fails (the database restarting, a broker outage) it backs off and tries again: the work waits in tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from clinicflow.shared.retry import Backoff

log = structlog.get_logger(__name__)


async def repeat(name: str, step: Callable[[], Awaitable[int]], *, idle_seconds: float) -> None:
    """Run ``step`` until cancelled: again at once while it did something, after ``idle_seconds`` when idle."""
    backoff = Backoff()
    while True:
        try:
            done = await step()
        except Exception as exc:  # never die: log the kind of failure (never its message) and try again later
            log.warning("background pass failed; will retry", loop=name, error=type(exc).__name__)
            await asyncio.sleep(backoff.next())
            continue
        backoff.reset()
        if not done:
            await asyncio.sleep(idle_seconds)
