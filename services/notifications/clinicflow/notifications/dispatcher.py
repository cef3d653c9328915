"""Background work of the notifications service: three independent loops, one sending due urgent deliveries, one
routine ones and one escalating unacknowledged urgent alerts, so neither a queue of routine email nor a channel that
hangs or fails can hold an alert or an escalation back.

Both run in every instance; rows are claimed with ``FOR UPDATE SKIP LOCKED`` (deliveries under a lease) so no two
instances work on the same delivery or alert, and timers live in the database, so they survive restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from clinicflow.notifications import service
from clinicflow.notifications.repository import NotificationsRepository, deliveries_due_channel
from clinicflow.shared.database import transaction
from clinicflow.shared.loops import repeat, wake_on_notify
from clinicflow.shared.outbox import EventWriter, Outbox
from clinicflow.shared.runtime import ServiceRuntime

Background = Callable[[ServiceRuntime], Awaitable[None]]


def units_of_work(runtime: ServiceRuntime, config: service.Config) -> service.OpenUnitOfWork:
    """Opens one short unit of work (transaction, repository, outbox) at a time."""

    @asynccontextmanager
    async def open_unit_of_work() -> AsyncIterator[service.UnitOfWork]:
        async with transaction(runtime.pool) as conn:
            events = EventWriter(Outbox(conn), source=service.SOURCE, now=runtime.clock())
            yield service.UnitOfWork(NotificationsRepository(conn), events, config)

    return open_unit_of_work


def background_workers(config: service.Config, *, poll_seconds: float) -> list[Background]:
    """The two dispatchers and the escalator, each looking for work every ``poll_seconds`` when idle."""

    def dispatcher(priority: str) -> Background:
        async def dispatch(runtime: ServiceRuntime) -> None:
            open_uow = units_of_work(runtime, config)
            wake = asyncio.Event()  # set when a transaction that added a delivery of this priority commits
            channel = deliveries_due_channel(runtime.settings.db_schema, priority)
            async with asyncio.TaskGroup() as loops:
                loops.create_task(wake_on_notify(runtime.pool, channel, wake))
                loops.create_task(repeat(f"{priority} dispatcher",
                                         lambda: service.dispatch_due(open_uow, urgent=priority == "urgent"),
                                         idle_seconds=poll_seconds, wake=wake))

        return dispatch

    async def escalator(runtime: ServiceRuntime) -> None:
        open_uow = units_of_work(runtime, config)
        await repeat("escalator", lambda: service.escalate_due(open_uow), idle_seconds=poll_seconds)

    return [dispatcher("urgent"), dispatcher("routine"), escalator]
