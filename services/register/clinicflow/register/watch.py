"""The wastage watch: a loop in every instance that raises, once each, the doses whose opened remainder was not
recorded as wasted within the shift. Discrepancies are inserted with ``ON CONFLICT DO NOTHING`` in the same
transaction as their event, so however many instances look, each is told once."""

from __future__ import annotations

from clinicflow.register.repository import RegisterRepository
from clinicflow.register.rules import RegisterRules
from clinicflow.register.service import SOURCE, UnitOfWork, report_unwasted
from clinicflow.shared.database import transaction
from clinicflow.shared.loops import repeat
from clinicflow.shared.outbox import EventWriter, Outbox
from clinicflow.shared.runtime import ServiceRuntime


async def tick(runtime: ServiceRuntime, rules: RegisterRules) -> int:
    """One pass; returns how many discrepancies it raised."""
    async with transaction(runtime.pool) as conn:
        events = EventWriter(Outbox(conn), source=SOURCE, now=runtime.clock())
        return await report_unwasted(UnitOfWork(RegisterRepository(conn), events, rules))


def wastage_watch(rules: RegisterRules, *, poll_seconds: float):  # noqa: ANN201 - a background starter
    """A background task for the runtime: look until cancelled, never dying."""

    async def run(runtime: ServiceRuntime) -> None:
        await repeat("wastage-watch", lambda: tick(runtime, rules), idle_seconds=poll_seconds)

    return run
