"""Background work of the notifications service: send due deliveries and escalate unacknowledged urgent alerts.

Both loops run in every instance; rows are claimed with ``FOR UPDATE SKIP LOCKED`` so no two instances work on
the same delivery or alert, and timers live in the database, so they survive restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from clinicflow.notifications import service
from clinicflow.notifications.repository import NotificationsRepository
from clinicflow.shared.database import transaction
from clinicflow.shared.outbox import EventWriter, Outbox
from clinicflow.shared.retry import Backoff
from clinicflow.shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)


async def run_once(
    runtime: ServiceRuntime, config: service.Config, step: Callable[[service.UnitOfWork], Awaitable[int]]
) -> int:
    """One pass of ``step`` in its own transaction."""
    async with transaction(runtime.pool) as conn:
        events = EventWriter(Outbox(conn), source=service.SOURCE, now=runtime.clock())
        return await step(service.UnitOfWork(NotificationsRepository(conn), events, config))


def background_worker(config: service.Config, *, poll_seconds: float):  # noqa: ANN201 - a background starter
    """Dispatch and escalate every ``poll_seconds`` until cancelled (sooner while there is more to do)."""

    async def run(runtime: ServiceRuntime) -> None:
        backoff = Backoff()
        while True:
            try:
                busy = await run_once(runtime, config, service.dispatch_due)
                busy += await run_once(runtime, config, service.escalate_due)
                backoff.reset()
                if not busy:
                    await asyncio.sleep(poll_seconds)
            except Exception as exc:  # the database may be restarting: the rows wait, try again
                log.warning("notification worker pass failed", error=type(exc).__name__)
                await asyncio.sleep(backoff.next())

    return run
