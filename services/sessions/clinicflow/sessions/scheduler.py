"""The durable integration scheduler: a loop in every instance over the integrations table in sessions' schema.

Each tick claims rows with ``FOR UPDATE SKIP LOCKED`` and marks them published in the same transaction as the
outbox rows it writes, so each `integration.due` and `integration.overdue` fires exactly once however many
instances run; rows are selected by time, so after downtime the first tick catches up.
"""

from __future__ import annotations

from clinicflow.sessions.integrations import publish_due_integrations
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.sessions.unit_of_work import SOURCE, UnitOfWork
from clinicflow.shared.database import transaction
from clinicflow.shared.loops import repeat
from clinicflow.shared.outbox import EventWriter, Outbox
from clinicflow.shared.runtime import ServiceRuntime


async def tick(runtime: ServiceRuntime, rules: SessionRules) -> int:
    """One pass: publish what has fallen due; returns how many events were written."""
    async with transaction(runtime.pool) as conn:
        events = EventWriter(Outbox(conn), source=SOURCE, now=runtime.clock())
        return await publish_due_integrations(UnitOfWork(SessionsRepository(conn), events, rules))


def integration_scheduler(rules: SessionRules, *, poll_seconds: float):  # noqa: ANN201 - a background starter
    """A background task for the runtime: tick until cancelled, at once while there is more, never dying."""

    async def run(runtime: ServiceRuntime) -> None:
        await repeat("integration-scheduler", lambda: tick(runtime, rules), idle_seconds=poll_seconds)

    return run
