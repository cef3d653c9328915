"""The one way a service runs background work: a step repeated until cancelled, that never dies.

A step returns how much it did; while it finds work it runs again at once, when idle it waits ``idle_seconds`` (or
until woken: ``wake_on_notify`` sets an event when PostgreSQL delivers a NOTIFY, i.e. when the transaction that made
work commits), and when it fails (the database restarting, a broker outage) it backs off and tries again: the work
waits in tables, so a lost wake-up costs at most ``idle_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from clinicflow.shared.retry import Backoff

log = structlog.get_logger(__name__)


async def repeat(name: str, step: Callable[[], Awaitable[int]], *, idle_seconds: float,
                 wake: asyncio.Event | None = None) -> None:
    """Run ``step`` until cancelled: again at once while it did something, after ``idle_seconds`` (or ``wake``)
    when idle."""
    backoff = Backoff()
    wake = wake or asyncio.Event()
    while True:
        wake.clear()  # a wake-up during the step below runs it again at once
        try:
            done = await step()
        except Exception as exc:  # never die: log the kind of failure (never its message) and try again later
            log.warning("background pass failed; will retry", loop=name, error=type(exc).__name__)
            await asyncio.sleep(backoff.next())
            continue
        backoff.reset()
        if not done:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), idle_seconds)


async def wake_on_notify(pool: asyncpg.Pool, channel: str, wake: asyncio.Event) -> None:
    """Set ``wake`` whenever ``channel`` is notified, until cancelled; holds one pooled connection to LISTEN on and
    takes another after the database restarts."""
    backoff = Backoff()
    while True:
        try:
            async with pool.acquire() as conn:
                def listener(*_args: object) -> None:
                    wake.set()

                await conn.add_listener(channel, listener)
                backoff.reset()
                wake.set()  # anything made while nobody listened is looked for at once
                try:
                    while not conn.is_closed():
                        await asyncio.sleep(1)
                finally:  # the connection goes back to the pool as it came (bounded: stopping must not hang)
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.remove_listener(channel, listener), 2)
        except Exception as exc:  # never die: the loop it wakes still polls
            log.warning("wake-up listener lost its connection; will retry", channel=channel,
                        error=type(exc).__name__)
            await asyncio.sleep(backoff.next())

